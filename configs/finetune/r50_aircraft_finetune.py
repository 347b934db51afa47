# Fine-tuning on FGVC-Aircraft (Appendix B): every weight of the SsCL ResNet-50 trains, the
# backbone with lr 1e-3 and the new classifier with lr 1, 120 epochs, x0.1 at 50/70/90.
# The backbone comes from --cfg-options model.backbone.init_cfg.checkpoint=<SsCL checkpoint>.
_base_ = [
    '../_base_/models/r50_pretrained.py',
    '../_base_/datasets/fgvc_aircraft_224.py',
    '../_base_/schedules/finetune_sgd_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))

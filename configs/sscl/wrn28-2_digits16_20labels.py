# CPU demo and benchmark: SsCL on scikit-learn digits at 16 px with 2 labels per class.
_base_ = [
    '../_base_/models/sscl_wrn28-2.py',
    '../_base_/datasets/digits16_semi.py',
    '../_base_/schedules/digits16_20e.py',
    '../_base_/default_runtime.py',
]

# Short run: faster key encoder and BN averages than the 1M-iteration CIFAR recipe,
# a queue sized to the 1,437-image set.
model = dict(
    backbone=dict(bn_momentum=0.1),
    queue_len=1024,
    momentum=0.99)

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
custom_hooks = [
    dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL'),
    dict(
        type='CoCalibrationHook',
        pipeline={{_base_.test_pipeline}},
        interval=5,
        batch_size=256,
        num_workers=0,
        mixture=True,
        mixture_alpha=1.0),
]
# tools/test.py also reports the representation diagnostics of the paper: Table 4's
# intra-class similarity of the contrastive embedding, and Table 5's classifier vs
# nearest-prototype accuracies with the overlap of their correct sets.
test_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='IntraClassSimilarity', feature_key='embed'),
    dict(type='PseudoLabelDiagnostics'),
]

# FGVC-Aircraft 2013b (100 variants), upsampled to 224x224 (Appendix B transfer).
# Layout: data/fgvc_aircraft/data/{images/, images_variant_*.txt, variants.txt}.
_base_ = './imagenet_224.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FGVCAircraft',
        data_root='data/fgvc_aircraft',
        split='trainval',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FGVCAircraft',
        data_root='data/fgvc_aircraft',
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader

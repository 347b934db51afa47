# 224x224 ImageNet classification: normalisation, test pipeline and evaluation on
# data/imagenet/val, which ./imagenet_224.py (supervised) and ./imagenet_semi.py
# (semi-supervised) inherit with their own train loaders.
dataset_type = 'ImageFolder'
data_root = 'data/imagenet'

# channels_last: NHWC inputs and convolution weights (docs/performance.md).
data_preprocessor = dict(
    type='SsclDataPreprocessor', mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
    channels_last=True)

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', size=256, antialias=True),
    dict(type='CenterCrop', size=224),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type, data_root=data_root, data_prefix='val', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

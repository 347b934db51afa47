# Supervised 224x224 classification: every training label of data/imagenet (the linear
# evaluation protocol of MoCo v2), 32 images per GPU x 8 GPUs = 256; normalisation and
# evaluation from ./imagenet_224_eval.py. The transfer datasets inherit these pipelines and
# replace the datasets.
_base_ = './imagenet_224_eval.py'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomResizedCrop', size=224, antialias=True),
    dict(type='RandomHorizontalFlip'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='KeyedSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type={{_base_.dataset_type}}, data_root={{_base_.data_root}}, data_prefix='train',
        pipeline=train_pipeline))

# Supervised digits: every training label; normalisation and evaluation from ./digits_eval.py.
_base_ = './digits_eval.py'

# Digits are not mirror-symmetric: pad-crop only, no flip.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomCrop', size=32, padding=4, padding_mode='reflect'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='KeyedSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type={{_base_.dataset_type}}, data_root={{_base_.data_root}}, data_prefix='train',
        pipeline=train_pipeline))

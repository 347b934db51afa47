# scikit-learn's digits exported to data/digits by
# tools/dataset_converters/digits_to_imagefolder.py (32x32 RGB PNGs, 1,437 train / 360 test):
# normalisation, test pipeline and evaluation, which ./digits.py (supervised) and
# ./digits_40labels.py (semi-supervised) inherit with their own train loaders.
dataset_type = 'ImageFolder'
data_root = 'data/digits'

data_preprocessor = dict(
    type='SsclDataPreprocessor', mean=(77.8, 77.8, 77.8), std=(95.9, 95.9, 95.9))

test_pipeline = [dict(type='LoadImage'), dict(type='PackInputs')]
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type, data_root=data_root, data_prefix='test', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

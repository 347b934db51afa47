# Semi-supervised digits: 4 labels per class (40 in all), the whole training set unlabeled.
# Every batch holds B labeled and mu*B unlabeled images; an epoch is one pass over the
# unlabeled set. Validation/test come from ./digits_eval.py, the loader layout and the SsCL
# hooks' common settings from ./semi_loader.py.
_base_ = ['./digits_eval.py', './semi_loader.py']

labeled_batch_size = 16
mu = 4
unlabeled_batch_size = labeled_batch_size * mu
num_per_class = 4
split_seed = 0  # the fold of the labeled draw

weak_view = [dict(type='RandomCrop', size=32, padding=4, padding_mode='reflect')]
# FixMatch's RandAugment (3 ops, magnitudes drawn per op, Cutout): on grey digits SimCLR's
# colour jitter does next to nothing, and the reference FixMatch step uses this view.
strong_view = weak_view + [dict(type='FixMatchRandAugment', num_ops=3, cutout=0.5)]
labeled_pipeline = [dict(type='LoadImage'), *weak_view, dict(type='PackInputs')]
unlabeled_pipeline = [
    dict(type='LoadImage'),
    dict(type='MultiView', views=dict(weak=weak_view, strong=strong_view)),
    dict(type='PackInputs'),
]
# For a model that reads only the labeled images (the supervised baseline): the unlabeled
# ones keep the sampler's batch layout, which sets the budget, but are not augmented (about
# 40 s less CPU per 440-iteration run at 16 px). The labeled augmentations are drawn per
# sample, so the labeled batches stay those of the semi-supervised configs.
unlabeled_unused_pipeline = [
    dict(type='LoadImage'),
    dict(type='MultiView', views=dict(weak=[], strong=[])),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=labeled_batch_size + unlabeled_batch_size,
    num_workers=2,
    sampler=dict(
        labeled_batch_size=labeled_batch_size, unlabeled_batch_size=unlabeled_batch_size),
    dataset=dict(
        labeled=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            data_prefix='train',
            num_per_class=num_per_class,
            split_seed=split_seed,
            pipeline=labeled_pipeline),
        unlabeled=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            data_prefix='train',
            pipeline=unlabeled_pipeline)))
co_calibration_hook = dict(pipeline={{_base_.test_pipeline}}, batch_size=256, num_workers=0)
# The collapse guard's window: 50 iterations, about 2 epochs of 22 (the 1,024-key queue turns
# over every 13).
collapse_guard_hook = dict(window=50)

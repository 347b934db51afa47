# Semi-supervised ImageNet: a SimCLR labeled subset (1percent / 10percent, shipped in
# sscl/data/imagenet_subsets) and the whole training set unlabeled. Per GPU: 8 labeled +
# 32 unlabeled (x 32 GPUs = the paper's 256 + 1024).
# Layout: data/imagenet/train/<wnid>/<wnid>_<n>.JPEG, data/imagenet/val/<wnid>/<image>.JPEG
# Normalisation, test pipeline and validation come from the supervised ImageNet base.
_base_ = './imagenet_224.py'
dataset_type = 'ImageFolder'
data_root = 'data/imagenet'

labeled_batch_size = 8
mu = 4
unlabeled_batch_size = labeled_batch_size * mu
labeled_list = '10percent'

weak_view = [
    dict(type='RandomResizedCrop', size=224, scale=(0.2, 1.0), antialias=True),
    dict(type='RandomHorizontalFlip'),
]
strong_view = weak_view + [
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', p=0.2),
    dict(type='GaussianBlur', kernel_size=23, sigma=(0.1, 2.0), prob=0.5),
    dict(type='RandAugment', num_ops=2, magnitude=10),
]
labeled_pipeline = [dict(type='LoadImage'), *weak_view, dict(type='PackInputs')]
unlabeled_pipeline = [
    dict(type='LoadImage'),
    dict(type='MultiView', views=dict(weak=weak_view, strong=strong_view)),
    dict(type='PackInputs'),
]

# The semi-supervised loader of cifar10_semi.py and digits_40labels.py, restated with this
# dataset's values: each of these bases has another parent (or none) that defines
# train_dataloader, and an mmengine base cannot be parametrised.
train_dataloader = dict(
    _delete_=True,
    batch_size=labeled_batch_size + unlabeled_batch_size,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    prefetch_factor=4,
    sampler=dict(
        type='SemiSupervisedSampler',
        labeled_batch_size=labeled_batch_size,
        unlabeled_batch_size=unlabeled_batch_size),
    # mmengine's Runner looks collate functions up in the root registry: name the scope.
    collate_fn=dict(type='sscl.semi_collate'),
    dataset=dict(
        type='SemiDataset',
        labeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix='train',
            labeled_list=labeled_list,
            pipeline=labeled_pipeline),
        unlabeled=dict(
            type=dataset_type, data_root=data_root, data_prefix='train',
            pipeline=unlabeled_pipeline)))
# SsCL's co-calibration refresh, for the SsCL recipes' custom_hooks: both sets read through
# the test pipeline (every 5 epochs, with the prototype mixture: the hook's defaults).
co_calibration_hook = dict(
    type='CoCalibrationHook', pipeline={{_base_.test_pipeline}}, batch_size=256, num_workers=8)
# The collapse guard of the SsCL recipes' custom_hooks (as in digits_40labels.py): the window
# is 500 iterations, about 0.4 of an epoch of 1,251 on 32 GPUs and 10 turnovers of the
# 65,536-key queue; the warm-up one epoch, past the first refresh from the untrained encoder.
collapse_guard_hook = dict(
    type='CollapseGuardHook', key_threshold=0.99, window=500, refresh_threshold=0.99,
    warmup=1, by_epoch=True)

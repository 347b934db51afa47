# Semi-supervised ImageNet: a SimCLR labeled subset (1percent / 10percent, shipped in
# sscl/data/imagenet_subsets) and the whole training set unlabeled. Per GPU: 8 labeled +
# 32 unlabeled (x 32 GPUs = the paper's 256 + 1024).
# Layout: data/imagenet/train/<wnid>/<wnid>_<n>.JPEG, data/imagenet/val/<wnid>/<image>.JPEG
# Normalisation, test pipeline and validation come from ./imagenet_224_eval.py, the loader
# layout and the SsCL hooks' common settings from ./semi_loader.py.
_base_ = ['./imagenet_224_eval.py', './semi_loader.py']
dataset_type = 'ImageFolder'
data_root = 'data/imagenet'

labeled_batch_size = 8
mu = 4
unlabeled_batch_size = labeled_batch_size * mu
labeled_list = '10percent'

# cifar10_semi.py's views at 224 px and a 23-pixel blur kernel, and the pipelines that hold
# them: mmengine's inheritance replaces a list whole (no per-element keys), so a shared base
# of these lists would still be restated here in full.
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

train_dataloader = dict(
    batch_size=labeled_batch_size + unlabeled_batch_size,
    num_workers=10,
    pin_memory=True,
    prefetch_factor=4,
    sampler=dict(
        labeled_batch_size=labeled_batch_size, unlabeled_batch_size=unlabeled_batch_size),
    dataset=dict(
        labeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix='train',
            labeled_list=labeled_list,
            pipeline=labeled_pipeline),
        unlabeled=dict(
            type=dataset_type, data_root=data_root, data_prefix='train',
            pipeline=unlabeled_pipeline)))
co_calibration_hook = dict(pipeline={{_base_.test_pipeline}}, batch_size=256, num_workers=8)
# The collapse guard's window: 500 iterations, about 0.4 of an epoch of 1,251 on 32 GPUs and
# 10 turnovers of the 65,536-key queue.
collapse_guard_hook = dict(window=500)

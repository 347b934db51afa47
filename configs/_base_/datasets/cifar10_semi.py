# Semi-supervised CIFAR-10 (FixMatch protocol): N/10 labels per class drawn with a seed
# (split_seed = fold 0-4), the 50,000 training images unlabeled, B = 64, mu = 4. The loader
# layout and the SsCL hooks' common settings come from ./semi_loader.py.
_base_ = './semi_loader.py'
dataset_type = 'CIFAR10'
data_root = 'data/cifar10'

# channels_last: NHWC inputs and convolution weights (docs/performance.md).
data_preprocessor = dict(
    type='SsclDataPreprocessor', mean=(125.307, 122.961, 113.8575),
    std=(51.5865, 50.847, 51.255), channels_last=True)

labeled_batch_size = 64
mu = 4
unlabeled_batch_size = labeled_batch_size * mu
num_per_class = 4
split_seed = 0

# imagenet_semi.py's views at CIFAR's crop and blur kernel, and the pipelines that hold them:
# mmengine's inheritance replaces a list whole (no per-element keys), so a shared base of
# these lists would still be restated here in full.
weak_view = [
    dict(type='RandomCrop', size=32, padding=4, padding_mode='reflect'),
    dict(type='RandomHorizontalFlip'),
]
strong_view = weak_view + [
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', p=0.2),
    dict(type='GaussianBlur', kernel_size=3, sigma=(0.1, 2.0), prob=0.5),
    dict(type='RandAugment', num_ops=2, magnitude=10),
]
labeled_pipeline = [dict(type='LoadImage'), *weak_view, dict(type='PackInputs')]
unlabeled_pipeline = [
    dict(type='LoadImage'),
    dict(type='MultiView', views=dict(weak=weak_view, strong=strong_view)),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImage'), dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=labeled_batch_size + unlabeled_batch_size,
    num_workers=8,
    pin_memory=True,
    sampler=dict(
        labeled_batch_size=labeled_batch_size, unlabeled_batch_size=unlabeled_batch_size),
    dataset=dict(
        labeled=dict(
            type=dataset_type,
            data_root=data_root,
            num_per_class=num_per_class,
            split_seed=split_seed,
            pipeline=labeled_pipeline),
        unlabeled=dict(type=dataset_type, data_root=data_root, pipeline=unlabeled_pipeline)))
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
co_calibration_hook = dict(pipeline=test_pipeline, batch_size=512, num_workers=4)
# The collapse guard's window: about one epoch of 195 iterations (the 4,096-key queue turns
# over every 13).
collapse_guard_hook = dict(window=200)

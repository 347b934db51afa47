# The ImageNet 10 % recipe with the strong view's colour jitter, greyscale, blur and
# RandAugment run batched on the GPU with per-sample parameters (BatchStrongAugment): the
# dataloader workers only decode and crop/flip both views, which is what keeps 32 GPUs fed.
_base_ = './r50_imagenet_10pct.py'

cpu_view = {{_base_.weak_view}}  # random-resized crop + flip
train_dataloader = dict(
    dataset=dict(
        unlabeled=dict(pipeline=[
            dict(type='LoadImage'),
            dict(type='MultiView', views=dict(weak=cpu_view, strong=cpu_view)),
            dict(type='PackInputs'),
        ])))
data_preprocessor = dict(
    batch_augments=dict(
        strong=dict(
            type='BatchStrongAugment',
            color_jitter=dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8),
            grayscale_p=0.2,
            blur=dict(kernel_size=23, sigma=(0.1, 2.0), p=0.5),
            rand_augment=dict(num_ops=2, magnitude=10, num_magnitude_bins=31))))

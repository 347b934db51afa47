# The ImageNet 10 % recipe with the strong augmentation on the GPU, for 4 GPUs x (64 + 256)
# images instead of 32 x (8 + 32):
#   tools/dist_train.sh configs/sscl/r50_imagenet_10pct_gpu-aug_4xb64-256.py 4
# The same total batch (256 + 1024) and learning rate; BatchNorm sees 320 images per rank
# instead of 40, and shuffle-BN mixes 4 ranks instead of 32 (docs/performance.md).
_base_ = './r50_imagenet_10pct_gpu-aug.py'

train_dataloader = dict(
    batch_size=64 + 256, sampler=dict(labeled_batch_size=64, unlabeled_batch_size=256))

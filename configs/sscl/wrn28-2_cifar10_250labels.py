# SsCL, CIFAR-10 with 250 labels (25 per class): the 40-label recipe with more labels.
_base_ = './wrn28-2_cifar10_40labels.py'

train_dataloader = dict(dataset=dict(labeled=dict(num_per_class=25)))

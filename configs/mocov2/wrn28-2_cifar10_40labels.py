# MoCo v2-style baseline, CIFAR-10 with 40 labels: supervised CE plus the contrastive loss
# with only the own key as positive (P = 0, the paper's Table 7 "0"), no pseudo labels.
_base_ = [
    '../_base_/models/sscl_wrn28-2.py',
    '../_base_/datasets/cifar10_semi.py',
    '../_base_/schedules/cifar10_sgd_cosine_200e.py',
    '../_base_/default_runtime.py',
]

split_seed = 0
model = dict(num_positives=0, loss_pl=None, calibration=dict(mode=None))
train_dataloader = dict(dataset=dict(labeled=dict(num_per_class=4, split_seed=split_seed)))
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))

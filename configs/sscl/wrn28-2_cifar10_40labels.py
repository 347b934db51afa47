# SsCL, CIFAR-10 with 40 labels (4 per class), WRN-28-2 (paper Table 8).
# The 250- and 4000-label recipes inherit this file.
# split_seed picks the fold (the paper reports the mean over 5 folds: 0-4).
_base_ = [
    '../_base_/models/sscl_wrn28-2.py',
    '../_base_/datasets/cifar10_semi.py',
    '../_base_/schedules/cifar10_sgd_cosine_200e.py',
    '../_base_/default_runtime.py',
]

split_seed = 0
train_dataloader = dict(
    dataset=dict(labeled=dict(num_per_class=4, split_seed=split_seed)))

default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
custom_hooks = [
    dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL'),
    dict(
        type='CoCalibrationHook',
        pipeline={{_base_.test_pipeline}},
        interval=5,
        batch_size=512,
        num_workers=4,
        mixture=True,
        mixture_alpha=1.0),
]

# SsCL, ImageNet with 10% labels, ResNet-50, 800 epochs on 32 GPUs (paper Table 8):
#   tools/dist_train.sh configs/sscl/r50_imagenet_10pct.py 32
# lambda_ctr = 5, lambda_pl = 10, tau = 0.6. Paper: 72.1 top-1 / 90.9 top-5.
_base_ = [
    '../_base_/models/sscl_r50.py',
    '../_base_/datasets/imagenet_semi.py',
    '../_base_/schedules/imagenet_sgd_cosine_800e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    loss_pl=dict(type='PseudoLabelCrossEntropyLoss', threshold=0.6, loss_weight=10.0),
    loss_ctr=dict(type='MultiPosMarginContrastiveLoss', gamma=10.0, margin=-0.25,
                  loss_weight=5.0))
train_dataloader = dict(dataset=dict(labeled=dict(labeled_list='10percent')))

default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
# EMA weights for evaluation; co-calibration refreshed every 5 epochs; the collapse guard.
custom_hooks = [
    {{_base_.ema_hook}}, {{_base_.co_calibration_hook}}, {{_base_.collapse_guard_hook}}
]
test_evaluator = {{_base_.sscl_test_evaluator}}

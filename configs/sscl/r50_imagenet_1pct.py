# SsCL, ImageNet with 1% labels, ResNet-50, 800 epochs on 32 GPUs (paper Table 8):
#   tools/dist_train.sh configs/sscl/r50_imagenet_1pct.py 32
# lambda_ctr = 10, lambda_pl = 5, tau = 0.6. Paper: 60.2 top-1 / 82.8 top-5.
_base_ = './r50_imagenet_10pct.py'

model = dict(
    loss_pl=dict(type='PseudoLabelCrossEntropyLoss', threshold=0.6, loss_weight=5.0),
    loss_ctr=dict(type='MultiPosMarginContrastiveLoss', gamma=10.0, margin=-0.25,
                  loss_weight=10.0))
train_dataloader = dict(dataset=dict(labeled=dict(labeled_list='1percent')))

# SsCL, ImageNet 10% labels, the 200-epoch schedule of Table 8.
_base_ = './r50_imagenet_10pct.py'

max_epochs = 200
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)

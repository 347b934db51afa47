# The 16 px digits benchmark budget shared by SsCL, FixMatch and the supervised baseline:
# 20 epochs of 22 steps (440 iterations of 16 labeled + 64 unlabeled images), so that the
# three methods over 5 seeds fit in 45 minutes on 2 CPU cores.
_base_ = './digits_40labels_30e.py'

max_epochs = 20
param_scheduler = [
    dict(type='FixMatchCosineLR', phase=7 / 16, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)

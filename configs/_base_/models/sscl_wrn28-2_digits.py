# SsCL on WRN-28-2 for the digits demos. Short runs (440 / 660 iterations): faster key
# encoder and BN averages than the 39,000-iteration CIFAR recipe, a queue sized to the
# 1,437-image set.
_base_ = './sscl_wrn28-2.py'

model = dict(backbone=dict(bn_momentum=0.1), queue_len=1024, momentum=0.99)

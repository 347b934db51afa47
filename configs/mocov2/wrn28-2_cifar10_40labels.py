# MoCo v2-style baseline, CIFAR-10 with 40 labels: supervised CE plus the contrastive loss
# with only the own key as positive and every queue key a negative (MoCo's loss, the
# paper's Table 7 "0"), no pseudo labels.
_base_ = '../sscl/wrn28-2_cifar10_40labels.py'

# negatives='all': every queue key a negative, the same-class labeled keys included (the
# MoCo loss; what num_positives=0 defaults to, named here).
model = dict(num_positives=0, negatives='all', loss_pl=None, calibration=dict(mode=None))
# mmengine replaces lists on inheritance: restated without the refresh.
custom_hooks = [{{_base_.ema_hook}}]

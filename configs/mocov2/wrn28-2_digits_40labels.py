# MoCo v2-style baseline on the digits demo: supervised CE on the labels plus the
# contrastive loss with only the own key as positive (P = 0), no pseudo labels.
_base_ = '../sscl/wrn28-2_digits_40labels.py'

model = dict(num_positives=0, loss_pl=None, calibration=dict(mode=None))
# mmengine replaces lists on inheritance: restated without the refresh and the embedding
# metrics of SsCL.
custom_hooks = [{{_base_.ema_hook}}]
test_evaluator = [{{_base_.val_evaluator}}]

# FixMatch baseline on the digits demo: the SsCL demo without the contrastive branch and
# without co-calibration (lambda_ctr = 0), same data, schedule and EMA.
_base_ = '../sscl/wrn28-2_digits_40labels.py'

model = dict(neck=None, loss_ctr=None, calibration=dict(mode=None))
# mmengine replaces lists on inheritance: restated without the refresh and the embedding
# metrics of SsCL.
custom_hooks = [{{_base_.ema_hook}}]
test_evaluator = [{{_base_.val_evaluator}}]

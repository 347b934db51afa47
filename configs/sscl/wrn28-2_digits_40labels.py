# CPU demo: SsCL on scikit-learn digits with 4 labels per class.
_base_ = [
    '../_base_/models/sscl_wrn28-2_digits.py',
    '../_base_/datasets/digits_40labels.py',
    '../_base_/schedules/digits_40labels_30e.py',
    '../_base_/digits_runtime.py',
]

custom_hooks = [
    {{_base_.ema_hook}}, {{_base_.co_calibration_hook}}, {{_base_.collapse_guard_hook}}
]
test_evaluator = {{_base_.sscl_test_evaluator}}

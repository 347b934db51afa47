# CPU demo and benchmark: SsCL on scikit-learn digits at 16 px with 2 labels per class.
_base_ = [
    '../_base_/models/sscl_wrn28-2_digits.py',
    '../_base_/datasets/digits16_semi.py',
    '../_base_/schedules/digits16_20e.py',
    '../_base_/digits_runtime.py',
]

custom_hooks = [
    {{_base_.ema_hook}}, {{_base_.co_calibration_hook}}, {{_base_.collapse_guard_hook}}
]
test_evaluator = {{_base_.sscl_test_evaluator}}

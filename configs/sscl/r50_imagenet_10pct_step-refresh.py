# The ImageNet 10 % recipe with a cheaper co-calibration refresh: instead of embedding the
# 1.28M unlabeled and 128k labeled images again every 5 epochs (about a fifth of an epoch's
# compute), the refresh reads what the training steps already computed per sample (the
# weak view's calibrated pseudo label, nearest prototype and similarity; the labeled
# embedding) and only embeds the prototype mixture's 128k images. The table then reflects
# weak views under the previous refresh's prototypes instead of test-pipeline views under
# the current weights (docs/design.md, "Co-calibration refresh"). Combine with
# r50_imagenet_10pct_gpu-aug.py by inheriting from that config instead.
_base_ = './r50_imagenet_10pct.py'

# mmengine replaces a list on inheritance, and a base's dict cannot be updated inside one:
# the base's custom_hooks are restated to change the refresh's source.
custom_hooks = [
    {{_base_.ema_hook}},
    dict(
        type='CoCalibrationHook',
        pipeline={{_base_.test_pipeline}},
        batch_size=256,
        num_workers=8,
        source='steps'),
    {{_base_.collapse_guard_hook}},
]

# Semi-supervised digits at 16x16, the CPU benchmark of SsCL against its baselines.
# The digits hold 8x8 pixels; at 32x32 (./digits_40labels.py) a WRN-28-2 step costs 4x the
# compute for no more information, so at 16x16 the same CPU time buys 4x the iterations.
# 2 labels per class (20 in all) by default: at 40 labels the reference FixMatch already
# sits near the ceiling of supervised training on every label (99.2-99.7).
_base_ = './digits_40labels.py'

img_size = 16
# NHWC convolutions (weights and inputs): a 1-thread SsCL step took 0.97 s instead of
# 1.2-1.3 s in the benchmark here (two runs at a time), the same function of the weights.
data_preprocessor = dict(channels_last=True)
num_per_class = 2
resize = dict(type='Resize', size=img_size, antialias=True)
weak_view = [dict(type='RandomCrop', size=img_size, padding=2, padding_mode='reflect')]
strong_view = weak_view + [dict(type='FixMatchRandAugment', num_ops=3, cutout=0.5)]
labeled_pipeline = [dict(type='LoadImage'), resize, *weak_view, dict(type='PackInputs')]
unlabeled_pipeline = [
    dict(type='LoadImage'),
    resize,
    dict(type='MultiView', views=dict(weak=weak_view, strong=strong_view)),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImage'), resize, dict(type='PackInputs')]

train_dataloader = dict(
    dataset=dict(
        labeled=dict(num_per_class=num_per_class, pipeline=labeled_pipeline),
        unlabeled=dict(pipeline=unlabeled_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
co_calibration_hook = dict(pipeline=test_pipeline)

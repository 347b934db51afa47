# Supervised baseline on the 20 digits labels only: the same sampler and labeled batches as
# SsCL (the model reads only its labeled part), same schedule and EMA.
_base_ = [
    '../_base_/models/wrn28-2.py',
    '../_base_/datasets/digits16_semi.py',
    '../_base_/schedules/digits16_20e.py',
    '../_base_/digits_runtime.py',
]

model = dict(backbone=dict(bn_momentum=0.1))
# The classifier never reads the unlabeled images: load them without augmenting them.
train_dataloader = dict(
    dataset=dict(unlabeled=dict(pipeline={{_base_.unlabeled_unused_pipeline}})))

# The FixMatch digits config with FixMatch's own learning-rate decay, lr_0 cos(7πk / 16K)
# (ends at 0.195 lr_0), instead of cosine annealing to 0: one of the differences from the
# reference step measured in docs/design.md.
_base_ = './wrn28-2_digits_40labels.py'

param_scheduler = [
    dict(type='FixMatchCosineLR', phase=7 / 16, by_epoch=True, begin=0, end={{_base_.max_epochs}},
         convert_to_iter_based=True),
]

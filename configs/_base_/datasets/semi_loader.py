# The semi-supervised train loader of cifar10_semi.py, digits_40labels.py and imagenet_semi.py:
# a SemiSupervisedSampler batch of labeled + unlabeled indices into a SemiDataset, split back
# by sscl.semi_collate. mmengine evaluates a base's variables inside the base, so each dataset
# base sets the nested keys that carry its values (batch sizes, labeled and unlabeled sets).
train_dataloader = dict(
    persistent_workers=True,
    sampler=dict(type='SemiSupervisedSampler'),
    # mmengine's Runner looks collate functions up in the root registry: name the scope.
    collate_fn=dict(type='sscl.semi_collate'),
    dataset=dict(type='SemiDataset'))
# SsCL's co-calibration refresh, for the SsCL recipes' custom_hooks: each dataset base gives
# it its test pipeline and loader sizes (every 5 epochs, with the prototype mixture: the
# hook's defaults).
co_calibration_hook = dict(type='CoCalibrationHook')
# The collapse guard of the SsCL recipes' custom_hooks (sscl.engine.CollapseGuardHook): a run
# stops once key_mean_cos stays >= 0.99 for `window` iterations (each dataset base sets it) or
# refresh_embed_mean_cos >= 0.99 at a refresh, after a warm-up of 1 epoch: the first refresh,
# from the untrained encoder, already gives 0.99 on the digits.
collapse_guard_hook = dict(
    type='CollapseGuardHook', key_threshold=0.99, refresh_threshold=0.99, warmup=1,
    by_epoch=True)

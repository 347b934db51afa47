# CIFAR-10, upsampled to 224x224 with the ImageNet pipelines (Appendix B transfer).
# Layout: data/cifar10/cifar-10-batches-py (the python pickles).
_base_ = './imagenet_224.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CIFAR10',
        data_root='data/cifar10',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CIFAR10',
        data_root='data/cifar10',
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader

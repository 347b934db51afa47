# Stanford Cars (196 classes), upsampled to 224x224 (Appendix B transfer).
# Layout: data/stanford_cars/{cars_train/, cars_test/, devkit/, cars_test_annos_withlabels.mat}.
_base_ = './imagenet_224.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='StanfordCars',
        data_root='data/stanford_cars',
        split='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='StanfordCars',
        data_root='data/stanford_cars',
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader

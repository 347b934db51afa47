import copy

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from sscl.engine.hooks import WeightsOnlyCheckpointHook
from sscl.engine.hooks.weights_only_checkpoint_hook import from_plain, to_plain


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((pred.squeeze(1) - data_samples)**2).mean())
        return pred


class ToyDataset(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(inputs=torch.tensor([idx / 8., 1.]), data_samples=torch.tensor(idx / 4.))


def make_runner(work_dir, max_epochs, resume=False):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            collate_fn=dict(type='default_collate'),
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook')),
        randomness=dict(seed=0),
        default_scope='sscl',
        resume=resume,
        experiment_name=f'toy_{max_epochs}_{resume}')


def test_plain_round_trip_of_history_buffers():
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer([1.5, 2.5], [1, 3], max_length=7)
    hub = {'log_scalars': {'train/loss': buf}, 'runtime_info': {'iter': 3}}
    plain = to_plain(copy.deepcopy(hub))
    assert isinstance(plain['log_scalars']['train/loss']['log_history'], torch.Tensor)
    back = from_plain(plain)['log_scalars']['train/loss']
    assert isinstance(back, HistoryBuffer)
    assert back.max_length == 7
    assert back.data[0].tolist() == [1.5, 2.5] and back.data[1].tolist() == [1, 3]


def test_checkpoints_load_with_weights_only_and_resume(tmp_path):
    runner = make_runner(tmp_path, max_epochs=2)
    runner.train()
    ckpt_path = tmp_path / 'epoch_2.pth'
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert any(isinstance(h, WeightsOnlyCheckpointHook) for h in runner.hooks)
    loss_before = runner.message_hub.get_scalar('train/loss').data[0].tolist()

    resumed = make_runner(tmp_path, max_epochs=3, resume=True)
    resumed.train()
    assert resumed.epoch == 3
    hist = resumed.message_hub.get_scalar('train/loss').data[0].tolist()
    # the resumed history continues the saved one instead of starting empty
    assert hist[:len(loss_before)] == loss_before and len(hist) == len(loss_before) + 2

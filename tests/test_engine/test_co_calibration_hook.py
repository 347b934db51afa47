import os
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner import BaseLoop
from torchvision.io import write_png

from sscl.datasets import SemiDataset
from sscl.engine.hooks import CoCalibrationHook
from sscl.registry import MODELS
from sscl.utils import register_all_modules
from sscl.utils.errors import ConfigError

PIPE = [dict(type='LoadImage'), dict(type='PackInputs')]


class _BuiltLoop(BaseLoop):

    def run(self):
        pass


def make_folder(root):
    g = torch.Generator().manual_seed(0)
    for c in range(3):
        os.makedirs(os.path.join(root, 'train', str(c)), exist_ok=True)
        for i in range(7):  # 21 images: not divisible by 2 ranks (padding is exercised)
            img = (torch.rand(3, 8, 8, generator=g) * 60 + 90 * c).to(torch.uint8)
            write_png(img, os.path.join(root, 'train', str(c), f'{i}.png'))


FIXED_PAIRS = torch.tensor(
    [[0, 3, 0, 0.25], [1, 8, 0, 0.5], [2, 9, 1, 1.0], [4, 20, 2, 0.75], [5, 1, 2, 0.1]],
    dtype=torch.float64).numpy()


def tiny_sscl(**kwargs):
    """SsCL on WRN-10-1 for 3 classes, embedding 8, for 8×8 images of mean 128, std 64."""
    register_all_modules()
    torch.manual_seed(0)
    cfg = dict(
        type='SsCL',
        backbone=dict(type='WideResNet', depth=10, widen_factor=1, bn_momentum=0.1),
        neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=16, out_channels=8),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=64),
        num_classes=3,
        feat_dim=8,
        queue_len=8,
        data_preprocessor=dict(type='SsclDataPreprocessor', mean=(128, ) * 3, std=(64, ) * 3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def training_runner(model, root):
    """A stand-in for a training Runner at iteration 10 on :func:`make_folder`'s 21 images
    (2 labeled per class)."""
    folder = dict(type='ImageFolder', data_root=root, data_prefix='train', pipeline=PIPE)
    semi = SemiDataset(labeled=dict(folder, num_per_class=2), unlabeled=folder)
    return SimpleNamespace(
        model=model,
        train_dataloader=SimpleNamespace(dataset=semi),
        iter=10,
        _train_loop=_BuiltLoop.__new__(_BuiltLoop),  # Runner.train() has built its loop
        logger=MMLogger.get_instance('test_hook'),
        message_hub=MessageHub.get_instance('hook'))


def refresh_state(root, out_file=None, mixture=True, source='offline'):
    model = tiny_sscl()
    runner = training_runner(model, root)
    semi = runner.train_dataloader.dataset
    hook = CoCalibrationHook(
        pipeline=PIPE, batch_size=4, num_workers=0, mixture=mixture, source=source)
    hook.before_run(runner)
    hook.before_train(runner)
    model.eval()
    mixed = hook._mixed_sums(model, semi.labeled, semi.unlabeled, FIXED_PAIRS,
                             torch.device('cpu'))
    state = dict(
        prototypes=model.co_calibration.prototypes.clone(),
        table=model.co_calibration.pseudo_labels.clone(),
        mixed=mixed,
        ready=bool(model.co_calibration.prototypes_ready),
        pl_acc=float(runner.message_hub.get_scalar('train/refresh_pl_acc').current()))
    if out_file is not None:
        torch.save(state, out_file)
    return state, model, runner, hook


def _worker(rank, world_size, root, init_file, out_dir):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world_size)
    # Without the mixture: with a random model, near-tied similarities may order the
    # nearest set differently; the mixture's sharded sums are checked on fixed pairs.
    refresh_state(root, os.path.join(out_dir, f'rank{rank}.pth'), mixture=False)
    dist.destroy_process_group()


def test_refresh_sets_prototypes_table_and_diagnostics(tmp_path):
    make_folder(str(tmp_path))
    state, model, runner, hook = refresh_state(str(tmp_path))
    assert state['ready'] and state['table'].shape == (21, )
    assert ((state['table'] >= 0) & (state['table'] < 3)).all()
    assert torch.allclose(state['prototypes'].norm(dim=1), torch.ones(3), atol=1e-5)
    assert 0 <= state['pl_acc'] <= 100
    # a resumed model that already holds prototypes is not refreshed again
    model.co_calibration.prototypes.zero_()
    hook.before_train(runner)
    assert (model.co_calibration.prototypes == 0).all()


def test_test_run_does_not_build_the_training_set():
    model = SimpleNamespace(co_calibration=None)  # reading it would fail
    runner = SimpleNamespace(model=model, _train_loop=dict(type='EpochBasedTrainLoop'))
    CoCalibrationHook(pipeline=PIPE).before_run(runner)


def test_mixture_changes_the_prototypes(tmp_path):
    make_folder(str(tmp_path))
    with_mixture, *_ = refresh_state(str(tmp_path))
    _, model, runner, hook = refresh_state(str(tmp_path))
    hook.mixture = False
    hook.refresh(runner)
    assert not torch.allclose(model.co_calibration.prototypes, with_mixture['prototypes'])
    assert torch.equal(model.co_calibration.pseudo_labels, with_mixture['table'])


def test_two_gloo_processes_match_one(tmp_path):
    root = str(tmp_path / 'data')
    make_folder(root)
    single, *_ = refresh_state(root, mixture=False)
    mp.spawn(_worker, args=(2, root, str(tmp_path / 'init'), str(tmp_path)), nprocs=2)
    for rank in range(2):
        state = torch.load(tmp_path / f'rank{rank}.pth', weights_only=True)
        assert torch.equal(state['table'], single['table'])
        assert torch.allclose(state['prototypes'], single['prototypes'], atol=1e-5)
        assert state['pl_acc'] == pytest.approx(single['pl_acc'])
        assert torch.allclose(state['mixed'], single['mixed'], atol=1e-5)


def test_steps_source_refreshes_from_the_records(tmp_path, monkeypatch):
    make_folder(str(tmp_path))
    _, model, runner, hook = refresh_state(str(tmp_path), mixture=False, source='steps')
    rec = model.co_calibration.step_records
    # the first refresh embedded both sets and filled the records with what it found
    assert rec.complete() and torch.equal(rec.assigned, model.co_calibration.pseudo_labels)

    rec.labeled_embed.copy_(F.normalize(torch.randn(6, 8), dim=1))  # as later steps would
    rec.assigned.copy_(torch.arange(21) % 3)
    rec.nearest.copy_(torch.zeros(21))

    def no_embedding(*args, **kwargs):
        raise AssertionError('the refresh embedded a dataset')

    monkeypatch.setattr(hook, '_embed', no_embedding)
    hook.refresh(runner)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])  # num_per_class=2 of the sorted folders
    sums = torch.zeros(3, 8).index_add_(0, labels, rec.labeled_embed.float())
    torch.testing.assert_close(model.co_calibration.prototypes, F.normalize(sums, dim=1))
    assert torch.equal(model.co_calibration.pseudo_labels, torch.arange(21) % 3)
    # the unlabeled folder lists class 0's seven images first, then 1's, then 2's
    gt = torch.arange(21) // 7
    expected_acc = 100 * float(((torch.arange(21) % 3) == gt).float().mean())
    acc = runner.message_hub.get_scalar('train/refresh_pl_acc').current()
    assert acc == pytest.approx(expected_acc)
    assert runner.message_hub.get_scalar('train/refresh_proto_acc').current() == \
        pytest.approx(100 / 3)
    mean_cos = runner.message_hub.get_scalar('train/refresh_embed_mean_cos').current()
    z = rec.labeled_embed.float()
    assert mean_cos == pytest.approx(float((z @ z.t()).mean()), abs=1e-5)


def test_steps_source_embeds_again_when_a_record_is_missing(tmp_path):
    make_folder(str(tmp_path))
    state, model, runner, hook = refresh_state(str(tmp_path), mixture=False, source='steps')
    # e.g. resumed from a checkpoint without records
    model.co_calibration.step_records.assigned[4] = -1
    hook.refresh(runner)
    assert model.co_calibration.step_records.complete()
    assert torch.equal(model.co_calibration.pseudo_labels, state['table'])


def test_unknown_source_is_a_config_error():
    with pytest.raises(ConfigError, match="'embeddings'"):
        CoCalibrationHook(pipeline=PIPE, source='embeddings')

"""tools/analysis/plot_curves.py and tools/analysis/tsne.py: pure helpers and the CLIs."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from torchvision.io import write_png

from sscl.registry import MODELS
from sscl.utils import CheckpointError, register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CURVES = osp.join(ROOT, 'tools', 'analysis', 'plot_curves.py')
TSNE = osp.join(ROOT, 'tools', 'analysis', 'tsne.py')
SUP_CONFIG = osp.join(ROOT, 'configs', 'supervised', 'wrn28-2_digits.py')
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def load_tool(path):
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


curves = load_tool(CURVES)
tsne = load_tool(TSNE)

# An epoch-based SsCL-like log: 22 iterations per epoch, validation after epochs 1 and 2
# (step = epoch).
TRAIN = [
    dict(
        lr=0.03,
        loss=8.0,
        loss_sup=2.0,
        loss_pl=0.0,
        loss_ctr=6.0,
        pl_mask_rate=0.0,
        pl_acc=0.0,
        epoch=1,
        iter=10,
        step=10),
    dict(
        lr=0.03,
        loss=7.0,
        loss_sup=1.5,
        loss_pl=0.5,
        loss_ctr=5.0,
        pl_mask_rate=0.25,
        pl_acc=0.5,
        epoch=1,
        iter=20,
        step=20),
    dict(
        lr=0.02,
        loss=6.0,
        loss_sup=1.0,
        loss_pl=0.5,
        loss_ctr=4.5,
        pl_mask_rate=0.5,
        pl_acc=0.75,
        epoch=2,
        iter=32,
        step=32),
    dict(
        lr=0.01,
        loss=5.0,
        loss_sup=0.5,
        loss_pl=0.5,
        loss_ctr=4.0,
        pl_mask_rate=0.75,
        pl_acc=1.0,
        epoch=3,
        iter=64,
        step=64),
]
VAL = [
    {
        'accuracy/top1': 40.0,
        'accuracy/top5': 80.0,
        'data_time': 0.1,
        'time': 0.5,
        'step': 1
    },
    {
        'accuracy/top1': 60.0,
        'accuracy/top5': 90.0,
        'data_time': 0.1,
        'time': 0.5,
        'step': 2
    },
]


def write_scalars(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return path


def check_png(path, min_bytes=10_000):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > min_bytes
    with Image.open(path) as img:
        img.verify()


# ---- plot_curves.py ---------------------------------------------------------------------


def test_read_scalars_splits_training_and_validation_lines(tmp_path):
    path = write_scalars(tmp_path / 'scalars.json', [TRAIN[0], VAL[0], TRAIN[1]])
    with open(path, 'a') as f:
        f.write('\n')  # a trailing blank line is skipped
    train, val = curves.read_scalars(str(path))
    assert train == TRAIN[:2] and val == VAL[:1]
    assert curves.series(train, 'loss_pl', 'iter') == ([10, 20], [0.0, 0.5])
    assert curves.series(val + train, 'accuracy/top1', 'step') == ([1], [40.0])


def test_read_scalars_names_the_bad_line(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text(json.dumps(TRAIN[0]) + '\n{"loss": 1.0,\n')
    with pytest.raises(curves.LogError, match=r'scalars.json:2: not a JSON line'):
        curves.read_scalars(str(path))
    path.write_text('[1, 2]\n')
    with pytest.raises(curves.LogError, match=r'scalars.json:1: a list, not a JSON object'):
        curves.read_scalars(str(path))


def test_iters_per_epoch_and_validation_axis():
    assert curves.iters_per_epoch(TRAIN) == 22  # 64 <= 3 L, 32 > L, 64 > 2 L: L in [22, 31]
    assert curves.iters_per_epoch(TRAIN[:3]) == 20  # the smallest of [20, 31]
    assert curves.iters_per_epoch(
        [dict(iter=10, epoch=1),
         dict(iter=15, epoch=2),
         dict(iter=100, epoch=2)]) is None  # 50 <= L <= 14
    assert curves.iters_per_epoch([dict(iter=10, step=10)]) is None
    assert curves.val_axis(TRAIN) == (22, 'iteration')
    assert curves.val_axis(
        [dict(iter=10, epoch=1),
         dict(iter=15, epoch=2),
         dict(iter=100, epoch=2)]) == (1, 'epoch')
    assert curves.val_axis([dict(iter=10, step=10)]) == (1, 'iteration')
    assert curves.val_axis([]) == (1, 'step')


def test_panels_hold_losses_pseudo_labels_and_validation():
    losses, pl, val = curves.panels(TRAIN, VAL, None)
    assert [line[0] for line in losses['lines']] == ['loss', 'loss_sup', 'loss_pl', 'loss_ctr']
    assert losses['lines'][1] == ('loss_sup', [10, 20, 32, 64], [2.0, 1.5, 1.0, 0.5])
    assert (losses['xlabel'], losses['ylabel']) == ('iteration', 'value')
    assert pl['lines'] == [('pl_acc', [10, 20, 32, 64], [0.0, 0.5, 0.75, 1.0]),
                           ('pl_mask_rate', [10, 20, 32, 64], [0.0, 0.25, 0.5, 0.75])]
    assert val['lines'] == [('accuracy/top1', [22, 44], [40.0, 60.0]),
                            ('accuracy/top5', [22, 44], [80.0, 90.0])]
    assert (val['xlabel'], val['ylabel']) == ('iteration', 'accuracy (%)')
    (only, ) = curves.panels([{k: r[k] for k in ('lr', 'iter')} for r in TRAIN], [], ['lr'])
    assert only['title'] == 'training scalars' and only['lines'] == [
        ('lr', [10, 20, 32, 64], [0.03, 0.03, 0.02, 0.01])
    ]
    with pytest.raises(curves.LogError, match=r"--keys \['loss_x'\] not in the training"):
        curves.panels(TRAIN, VAL, ['loss', 'loss_x'])


def test_find_scalars_joins_the_runs_of_a_work_dir(tmp_path):
    old = write_scalars(tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json', TRAIN)
    new = write_scalars(tmp_path / '20240102_000000' / 'vis_data' / 'scalars.json', TRAIN)
    (tmp_path / '20240103_000000').mkdir()  # a run that has not logged yet
    assert curves.find_scalars(str(tmp_path)) == [str(old), str(new)]
    assert curves.find_scalars(str(old)) == [str(old)]
    assert curves.find_scalars(str(old.parent.parent)) == [str(old)]
    with pytest.raises(
            curves.LogError,
            match=f'no <timestamp>/vis_data/scalars.json in '
            f'{tmp_path / "20240103_000000"}'):
        curves.find_scalars(str(tmp_path / '20240103_000000'))
    with pytest.raises(curves.LogError, match='no such file or directory'):
        curves.find_scalars(str(tmp_path / 'missing'))


def test_a_resumed_run_continues_the_curves(tmp_path):
    first, second = TRAIN[:3], TRAIN[2:]  # the resumed run logs iteration 32 again
    write_scalars(tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json', first + VAL[:1])
    write_scalars(tmp_path / '20240102_000000' / 'vis_data' / 'scalars.json', second + VAL[1:])
    train, val = curves.read_runs(curves.find_scalars(str(tmp_path)))
    assert [r['iter'] for r in train] == [r['iter'] for r in TRAIN]
    assert val == VAL


def test_plot_curves_cli_writes_a_png(tmp_path):
    write_scalars(tmp_path / 'work' / '20240101_000000' / 'vis_data' / 'scalars.json',
                  [TRAIN[0], TRAIN[1], VAL[0], TRAIN[2], TRAIN[3], VAL[1]])
    out = tmp_path / 'plots' / 'curves.png'
    result = subprocess.run(
        [sys.executable, CURVES, str(tmp_path / 'work'), '--out',
         str(out)],
        capture_output=True,
        text=True)
    assert result.returncode == 0, result.stderr
    assert 'training losses, pseudo labels (unlabeled batch), validation' in result.stdout
    assert '(4 training, 2 validation lines)' in result.stdout
    check_png(out)
    with Image.open(out) as img:
        assert img.size[1] > img.size[0]  # three stacked panels

    result = subprocess.run(
        [sys.executable, CURVES, str(tmp_path / 'plots'), '--out',
         str(out)],
        capture_output=True,
        text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == ('plot_curves.py: error: no <timestamp>/vis_data/'
                                     f'scalars.json in {tmp_path / "plots"}')


# ---- tsne.py ------------------------------------------------------------------------------


def test_select_indices_keeps_first_classes_and_draws_with_seed():
    labels = np.array([0, 1, 2, 0, 1, 2, 3, 0, -1])
    assert tsne.select_indices(labels, 2, 10, seed=0).tolist() == [0, 1, 3, 4, 7]
    drawn = tsne.select_indices(labels, 2, 3, seed=0)
    assert len(drawn) == 3 and set(drawn) <= {0, 1, 3, 4, 7}
    assert drawn.tolist() == sorted(drawn.tolist())
    assert drawn.tolist() == tsne.select_indices(labels, 2, 3, seed=0).tolist()


def test_checkpoint_state_follows_the_ema_swap():
    trained, averaged = {'w': torch.ones(1)}, {'w': torch.zeros(1)}
    # EMAHook saves the average in state_dict, the trained weights under module. + steps
    ckpt = dict(
        state_dict=averaged, ema_state_dict={
            'module.w': trained['w'],
            'steps': torch.tensor(5)
        })
    assert tsne.checkpoint_state(ckpt, ema=False) == trained
    assert tsne.checkpoint_state(ckpt, ema=True) == averaged
    plain = dict(state_dict=trained, meta={})
    assert tsne.checkpoint_state(plain, ema=False) == trained
    with pytest.raises(CheckpointError, match='--ema: the checkpoint has no ema_state_dict'):
        tsne.checkpoint_state(plain, ema=True)
    with pytest.raises(CheckpointError, match='not a checkpoint: it holds a list'):
        tsne.checkpoint_state([], ema=False)


def test_class_colors_are_distinct():
    for n in (3, 10, 15, 25):
        colors = tsne.class_colors(n)
        assert len(colors) == n and len(set(map(tuple, colors))) == n


@pytest.fixture(scope='module')
def digits_like(tmp_path_factory):
    """``test/<digit>/<i>.png``: 3 classes x 5 random 32x32 images, and a checkpoint of the
    supervised digits model (trained = ``state_dict``; ``ema_state_dict`` holds other
    weights, as EMAHook saves them)."""
    root = tmp_path_factory.mktemp('digits')
    g = torch.Generator().manual_seed(0)
    for c in range(3):
        (root / 'test' / str(c)).mkdir(parents=True)
        for i in range(5):
            img = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=g)
            write_png(img, str(root / 'test' / str(c) / f'{i}.png'))
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SUP_CONFIG).model)
    state = model.state_dict()
    torch.save({'state_dict': state, 'meta': {}}, root / 'plain.pth')
    ema_state = {'module.' + k: v.clone() for k, v in state.items()}
    ema_state['module.backbone.conv1.weight'] += 1.0
    ema_state['steps'] = torch.tensor(10)
    torch.save({'state_dict': state, 'ema_state_dict': ema_state, 'meta': {}}, root / 'ema.pth')
    return root, state


def tsne_args(root, *extra):
    return [
        SUP_CONFIG,
        str(root / 'plain.pth'), '--out',
        str(root / 'tsne.png'), '--cfg-options', f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'test_dataloader.batch_size=4', *extra
    ]


def test_tsne_cli_end_to_end(digits_like, tmp_path):
    root, _ = digits_like
    args = tsne_args(root)
    args[2:4] = ['--out', str(tmp_path / 'fig' / 'tsne.png')]
    result = subprocess.run(
        [sys.executable, TSNE, *args, '--classes', '2', '--max-samples', '8', '--seed', '1'],
        capture_output=True,
        text=True,
        cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith('t-SNE of 8 backbone features (128-d) of 2 classes, '
                                          'perplexity 7')
    check_png(tmp_path / 'fig' / 'tsne.png')


def test_load_model_takes_trained_or_ema_weights(digits_like):
    root, state = digits_like
    cfg = Config.fromfile(SUP_CONFIG)
    trained = tsne.load_model(cfg, str(root / 'ema.pth'), ema=False, device='cpu')
    assert torch.equal(trained.backbone.conv1.weight, state['backbone.conv1.weight'] + 1)
    assert not trained.training
    assert trained.data_preprocessor.mean.flatten().tolist() == pytest.approx([77.8] * 3)
    averaged = tsne.load_model(cfg, str(root / 'ema.pth'), ema=True, device='cpu')
    assert torch.equal(averaged.backbone.conv1.weight, state['backbone.conv1.weight'])


def run_tsne_main(monkeypatch, capsys, argv):
    monkeypatch.setattr(sys, 'argv', ['tsne.py', *argv])
    with pytest.raises(SystemExit) as exc:
        tsne.main()
    return exc.value.code, capsys.readouterr().err.strip().splitlines()[-1]


def test_tsne_errors_are_one_line(digits_like, monkeypatch, capsys):
    root, _ = digits_like
    args = tsne_args(root)
    code, err = run_tsne_main(monkeypatch, capsys, [args[0], str(root / 'nope.pth'), *args[2:]])
    assert code == 2 and err == f'tsne.py: error: checkpoint file not found: {root}/nope.pth'
    code, err = run_tsne_main(monkeypatch, capsys, ['nope.py', *args[1:]])
    assert code == 2 and err == 'tsne.py: error: config file not found: nope.py'
    code, err = run_tsne_main(monkeypatch, capsys, [*args, '--feature', 'neck'])
    assert code == 1 and err == ('tsne.py: error: --feature neck: ImageClassifier has no neck '
                                 'embedding; use --feature backbone')
    code, err = run_tsne_main(monkeypatch, capsys, [*args, '--ema'])
    assert code == 1 and err == (f'tsne.py: error: {root}/plain.pth: --ema: the checkpoint '
                                 'has no ema_state_dict (it was not trained with EMAHook)')
    code, err = run_tsne_main(monkeypatch, capsys, [*args, '--classes', '0'])
    assert code == 2 and err == 'tsne.py: error: --classes must be >= 1, got 0'

"""tools/analysis/compare.py: paired statistics, read-back of finished runs, failures, files."""
import importlib.util
import json
import os.path as osp
import threading
import time

import pytest
from scipy import stats

from synthetic_data import digits_like

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('compare',
                                              osp.join(ROOT, 'tools', 'analysis', 'compare.py'))
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)

SSCL = 'configs/sscl/wrn28-2_digits16_20labels.py'
FIXMATCH = 'configs/fixmatch/wrn28-2_digits16_20labels.py'


def test_entries_parse_with_their_overrides():
    assert compare.parse_entry(SSCL) == (SSCL, [])
    assert compare.parse_entry(f'{SSCL}:model.num_positives=0,model.self_paced=False') == (
        SSCL, ['model.num_positives=0', 'model.self_paced=False'])
    assert compare.entry_slug(f'{SSCL}:model.num_positives=0') == \
        'sscl_wrn28-2_digits16_20labels_model.num_positives=0'
    with pytest.raises(SystemExit, match='not key=value'):
        compare.parse_entry(f'{SSCL}:model.num_positives')
    with pytest.raises(SystemExit, match='not found'):
        compare.parse_entry('configs/sscl/nope.py')


def test_paired_differences_and_t_test_by_hand():
    base = {0: dict(top1=90.0), 1: dict(top1=80.0), 2: dict(top1=85.0), 3: dict(error='x')}
    other = {0: dict(top1=92.0), 1: dict(top1=79.0), 2: dict(top1=89.0), 3: dict(top1=99.0)}
    pair = compare.paired(base, other)
    assert pair['seeds'] == [0, 1, 2]  # seed 3 failed for the base: not paired
    assert pair['diff'] == [2.0, -1.0, 4.0]
    assert pair['mean'] == pytest.approx(5 / 3)
    assert pair['std'] == pytest.approx(stats.tstd([2.0, -1.0, 4.0]))
    # paired t: mean / (std / sqrt(n)), two-sided, n - 1 degrees of freedom
    t = (5 / 3) / (pair['std'] / 3**0.5)
    assert pair['p'] == pytest.approx(2 * stats.t.sf(t, 2))
    assert pair['ahead'] == 2


def test_fold_check_reads_the_datasets_log_line(tmp_path):
    log = tmp_path / 'train.log'
    log.write_text('ImageFolder: labeled split (2 per class, seed 3) keeps 20 of 90 images\n')
    compare.check_fold(str(log), 3)
    with pytest.raises(RuntimeError, match='drew fold'):
        compare.check_fold(str(log), 4)
    log.write_text('a log without the labeled split line\n')
    with pytest.raises(RuntimeError, match='no labeled draw'):
        compare.check_fold(str(log), 3)


def fake_result(run_dir, top1, **extra):
    run_dir.mkdir(parents=True)
    (run_dir / 'result.json').write_text(json.dumps(dict(top1=top1, minutes=1.0, **extra)))


def test_finished_runs_are_read_back_and_a_failed_run_still_gives_the_table(
        tmp_path, capsys, monkeypatch):
    work = tmp_path / 'cmp'
    variant = f'{SSCL}:model.num_positives=0'
    for seed, (a, b) in enumerate([(90.0, 88.0), (85.0, 86.0)]):
        fake_result(work / compare.entry_slug(SSCL) / f'seed_{seed}', a, mean_cos=0.1,
                    intra_class=0.6)
        fake_result(work / compare.entry_slug(variant) / f'seed_{seed}', b)
    # the one run not finished yet fails (its config does not build): reported, not fatal
    trained = []
    real = compare.run_one

    def run_one(config, options, seed, run_dir, cfg_options, threads, repeat, device=None):
        if not osp.isfile(osp.join(run_dir, 'result.json')):
            trained.append((config, seed))
        return real(config, options + ['model.type=NoSuchModel'], seed, run_dir, cfg_options,
                    threads, repeat)

    monkeypatch.setattr(compare, 'run_one', run_one)
    compare.main([SSCL, variant, FIXMATCH, '--seeds', '0', '1', '--work-dir', str(work),
                  '--jobs', '1'])
    out = capsys.readouterr().out
    assert trained == [(FIXMATCH, 0), (FIXMATCH, 1)]
    assert 'FAILED configs/fixmatch' in out and 'training failed' in out
    assert f'| {SSCL} | 2/2 | 87.50 ± 3.54 [85.00, 90.00] | 0.10' in out
    assert f'| {variant} | 0: -2.00, 1: +1.00 | -0.50 ± 2.12 |' in out
    summary = json.loads((work / 'summary.json').read_text())
    assert summary['entries'][variant]['1']['top1'] == 86.0
    assert 'error' in summary['entries'][FIXMATCH]['0']
    assert summary['paired'][variant]['ahead'] == 1
    assert (work / 'summary.png').stat().st_size > 0


@pytest.mark.slow
def test_two_seeds_train_test_and_reach_the_dataset_fold(tmp_path, capsys):
    data = tmp_path / 'digits'
    digits_like(data, per_class=6, size=16, test_per_class=2)
    options = [
        f'train_dataloader.dataset.labeled.data_root={data}',
        f'train_dataloader.dataset.unlabeled.data_root={data}',
        f'val_dataloader.dataset.data_root={data}', f'test_dataloader.dataset.data_root={data}',
        'train_cfg.max_epochs=1', 'train_dataloader.sampler.labeled_batch_size=4',
        'train_dataloader.sampler.unlabeled_batch_size=16', 'train_dataloader.batch_size=20',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    work = tmp_path / 'cmp'
    compare.main([FIXMATCH, '--seeds', '1', '2', '--work-dir', str(work), '--cfg-options',
                  *options])
    out = capsys.readouterr().out
    assert 'FAILED' not in out
    for seed in (1, 2):
        run = work / compare.entry_slug(FIXMATCH) / f'seed_{seed}'
        assert f'labeled split (2 per class, seed {seed})' in (run / 'train.log').read_text()
        result = json.loads((run / 'result.json').read_text())
        assert 0 <= result['top1'] <= 100 and 'pl_mask_rate' in result
    assert json.loads((work / 'summary.json').read_text())['seeds'] == [1, 2]


def fake_tools(calls):
    """A stand-in for ``subprocess.run`` of train.py / test.py that records each command."""

    def run(cmd, stdout, **kwargs):
        calls.append(cmd)
        work_dir = cmd[cmd.index('--work-dir') + 1]
        if cmd[1].endswith('train.py'):
            stdout.write('ImageFolder: labeled split (2 per class, seed 0) keeps 20 of 90 '
                         'images\n')
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(osp.join(work_dir, 'epoch_2.pth'))
        else:
            with open(cmd[cmd.index('--out') + 1], 'w') as f:
                json.dump({'accuracy/top1': 75.0}, f)
        return compare.subprocess.CompletedProcess(cmd, 0)

    return run


def test_an_unfinished_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(compare.subprocess, 'run', fake_tools(calls))
    fresh, unfinished = tmp_path / 'fresh', tmp_path / 'unfinished'
    fresh.mkdir()
    unfinished.mkdir()
    (unfinished / 'train.log').write_text('the first attempt\n')
    (unfinished / 'last_checkpoint').write_text(str(unfinished / 'epoch_1.pth'))

    result = compare.run_one(FIXMATCH, [], 0, str(fresh), [], 1)
    assert '--resume' not in calls[0] and 'resumed_from' not in result
    result = compare.run_one(FIXMATCH, [], 0, str(unfinished), [], 1)
    assert calls[2][calls[2].index('--work-dir'):][:3] == ['--work-dir', str(unfinished),
                                                           '--resume']
    assert result['resumed_from'] == str(unfinished / 'epoch_1.pth')
    assert result['checkpoint'] == str(unfinished / 'epoch_2.pth')  # tested after training
    # the log keeps the first attempt's lines
    assert (unfinished / 'train.log').read_text().startswith('the first attempt\n')
    # min/run only counts the run trained in one go
    fresh_only = dict(result, minutes=5.0)
    text = compare.table([FIXMATCH], {FIXMATCH: {0: dict(top1=1.0, minutes=2.0),
                                                 1: fresh_only}})
    assert text.splitlines()[4].endswith('| 2.00 ± 0.00 [2.00, 2.00] |')
    assert len(text.splitlines()) == 5  # one entry: no paired table against itself


def test_repeats_rerun_each_fold_with_other_run_seeds_and_pair_the_fold_means(
        tmp_path, capsys, monkeypatch):
    # top-1 of (entry, fold, repeat), chosen so that fold means and paired signs differ
    top1 = {(SSCL, 0, 0): 90.0, (SSCL, 0, 1): 86.0, (SSCL, 1, 0): 80.0, (SSCL, 1, 1): 84.0,
            (FIXMATCH, 0, 0): 91.0, (FIXMATCH, 0, 1): 83.0, (FIXMATCH, 1, 0): 85.0,
            (FIXMATCH, 1, 1): 85.0}
    seen = []

    def run_one(config, options, seed, run_dir, cfg_options, threads, repeat, device=None):
        seen.append((config, seed, repeat, osp.basename(run_dir)))
        return dict(top1=top1[config, seed, repeat], minutes=1.0 + repeat)

    monkeypatch.setattr(compare, 'run_one', run_one)
    work = tmp_path / 'cmp'
    compare.main([SSCL, FIXMATCH, '--seeds', '0', '1', '--repeats', '2', '--work-dir',
                  str(work), '--jobs', '1'])
    out = capsys.readouterr().out
    # every fold's first run comes before any repeat; repeat 0 keeps the plain folder name
    assert [s[1:] for s in seen[:4]] == [(0, 0, 'seed_0'), (0, 0, 'seed_0'), (1, 0, 'seed_1'),
                                         (1, 0, 'seed_1')]
    assert {s[3] for s in seen[4:]} == {'seed_0_repeat_1', 'seed_1_repeat_1'}
    summary = json.loads((work / 'summary.json').read_text())
    assert summary['repeats'] == 2
    assert summary['entries'][SSCL]['0']['top1'] == 88.0  # (90 + 86) / 2
    assert summary['entries'][FIXMATCH]['1']['top1'] == 85.0
    assert summary['runs'][SSCL]['seed_1_repeat_1']['top1'] == 84.0
    # paired over fold means: fold 0 87 - 88 = -1, fold 1 85 - 82 = +3
    assert summary['paired'][FIXMATCH]['diff'] == [-1.0, 3.0]
    assert summary['paired'][FIXMATCH]['ahead'] == 1
    assert 'over seeds (a seed\'s figure is the mean of its 2 runs)' in out
    assert f'| {SSCL} | 2/2 | 85.00 ± 4.24 [82.00, 88.00] |' in out
    # within-seed std: SSCL std(90, 86) = std(80, 84) = 2.83; FixMatch 5.66 and 0 -> 2.83
    assert f'| {SSCL} | 0: 90.00, 86.00; 1: 80.00, 84.00 | 2.83 |' in out
    assert f'| {FIXMATCH} | 0: 91.00, 83.00; 1: 85.00, 85.00 | 2.83 |' in out
    assert f'| {SSCL} | 2/2 | 85.00 ± 4.24 [82.00, 88.00] | — | — | — | — | — | ' \
           '1.50 ± 0.00 [1.50, 1.50] |' in out
    with pytest.raises(SystemExit, match='--repeats 0 must be at least 1'):
        compare.main([SSCL, '--repeats', '0', '--work-dir', str(work)])


def test_a_repeat_trains_the_same_fold_with_another_run_seed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(compare.subprocess, 'run', fake_tools(calls))
    run_dir = tmp_path / 'seed_0_repeat_1'
    run_dir.mkdir()
    compare.run_one(FIXMATCH, [], 0, str(run_dir), [], 1, repeat=1)
    train, test = calls
    for cmd in (train, test):
        options = cmd[cmd.index('--cfg-options') + 1:]
        assert options[:2] == ['randomness.seed=1000', f'{compare.FOLD_KEY}=0']


def test_jobs_run_on_their_own_gpus_round_robin_with_the_sequential_results(
        tmp_path, monkeypatch):
    top1 = {(SSCL, 0): 90.0, (SSCL, 1): 80.0, (SSCL, 2): 70.0, (FIXMATCH, 0): 85.0,
            (FIXMATCH, 1): 82.0, (FIXMATCH, 2): 75.0}
    running, clashes, devices = [], [], []
    lock = threading.Lock()

    def run_one(config, options, seed, run_dir, cfg_options, threads, repeat, device=None):
        with lock:
            clashes.extend(d for d in running if d == device and device is not None)
            running.append(device)
            devices.append(device)
        time.sleep(0.05)  # the jobs overlap
        with lock:
            running.remove(device)
        return dict(top1=top1[config, seed], minutes=1.0)

    monkeypatch.setattr(compare, 'run_one', run_one)
    args = [SSCL, FIXMATCH, '--seeds', '0', '1', '2', '--work-dir']
    monkeypatch.setattr(compare, 'visible_gpus', lambda: [])
    compare.main(args + [str(tmp_path / 'sequential'), '--jobs', '1'])
    assert devices == [None] * 6
    devices.clear()
    monkeypatch.setattr(compare, 'visible_gpus', lambda: ['2', '5'])
    compare.main(args + [str(tmp_path / 'parallel'), '--jobs', '2'])
    assert sorted(devices) == ['2', '2', '2', '5', '5', '5'] and not clashes
    devices.clear()
    compare.main(args + [str(tmp_path / 'shared'), '--jobs', '3'])
    assert set(devices) == {'2', '5'} and len(devices) == 6  # three jobs share two GPUs
    summaries = [json.loads((tmp_path / d / 'summary.json').read_text())
                 for d in ('sequential', 'parallel', 'shared')]
    for key in ('entries', 'runs', 'paired'):
        assert summaries[0][key] == summaries[1][key] == summaries[2][key]


def test_a_run_trains_and_tests_on_its_gpu(tmp_path, monkeypatch):
    calls, envs = [], []
    run = fake_tools(calls)

    def run_recording_env(cmd, stdout, env, **kwargs):
        envs.append(env['CUDA_VISIBLE_DEVICES'])
        return run(cmd, stdout, **kwargs)

    monkeypatch.setattr(compare.subprocess, 'run', run_recording_env)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '3,7')
    assert compare.visible_gpus() == ['3', '7']
    compare.run_one(FIXMATCH, [], 0, str(tmp_path), [], 1, device='7')
    assert envs == ['7', '7'] and len(calls) == 2

"""Measure the training step, the input pipeline and the co-calibration refresh of a config.

    python tools/analysis/benchmark.py CONFIG [--device cuda|cpu] [--iters 20] [--amp]
    python tools/analysis/benchmark.py --suite [--small] [--device cuda|cpu] [--amp]
    (either with [--compile [BACKEND]]: torch.compile'd encoders, as CompileHook trains)

``--suite`` prints every figure of docs/performance.md's GPU table in one run (the ImageNet
10 % recipes, CPU and GPU augmentation, in both batch layouts); ``--small`` runs the same
code on small shapes. Printed, from one run on one device:

* the SsCL train step (mmengine ``train_step``: preprocessing, forward, backward, optimizer)
  in samples/s on synthetic uint8 batches of the config's shapes (B labeled + μB unlabeled);
* a plain supervised step of the same backbone and head on B + μB images (img/s);
* the plain PyTorch references of ``plain_step.py`` (an SsCL-shaped and a supervised step of
  the same shapes, without mmengine) and the sscl steps' rates as ratios of them, as
  measured and FLOP-adjusted;
* operators and host syncs per step of the sscl and the plain step (``OpCounter``), and
  per iteration of the config's Runner (its hooks, optim wrapper and logging around the
  step, on a few JPEGs), the syncs with their call sites;
* the FLOP-normalised ratio: SsCL samples/s × (FLOPs per SsCL sample / FLOPs per supervised
  image) / supervised img/s (1.0: the extra SsCL work costs only its FLOPs);
* the input pipeline per worker (one process, one thread) on JPEGs it writes: the plain
  torchvision composition, the config's unlabeled pipeline, and its CPU part when the config
  runs the strong augmentation on the device;
* the co-calibration refresh time as a fraction of one epoch, for both sources of
  CoCalibrationHook: ``'offline'`` embeds every labeled and unlabeled image once plus the
  mixture pass over the labeled set; ``'steps'`` only the mixture pass (when the config
  uses it, the step rate above includes recording the steps' outputs);
* the end-to-end step rate when the config's dataloader (its workers, pipelines and
  sampler) reads JPEG files this script writes, as a share of the synthetic step rate;
* the peak GPU memory.
"""
import argparse
import contextlib
import copy
import os
import os.path as osp
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torchvision.transforms.v2 as T
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode
from torchvision.io import decode_jpeg, encode_jpeg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
from sscl.engine.hooks import compile_encoders  # noqa: E402
from sscl.registry import DATASETS, MODELS  # noqa: E402
from sscl.utils import register_all_modules  # noqa: E402
from sscl.utils.cli import runner_model_config  # noqa: E402
from sscl.utils.op_count import OpCounter  # noqa: E402
from plain_step import PlainStep  # noqa: E402  (tools/analysis/plain_step.py)

IMAGENET_TRAIN = 1281167
SUITE = ('configs/sscl/r50_imagenet_10pct.py', 'configs/sscl/r50_imagenet_10pct_4xb64-256.py',
         'configs/sscl/r50_imagenet_10pct_gpu-aug.py',
         'configs/sscl/r50_imagenet_10pct_gpu-aug_4xb64-256.py')
CROP_TYPES = ('RandomResizedCrop', 'RandomCrop', 'CenterCrop')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark the SsCL step, input pipeline '
                                     'and refresh of a config')
    parser.add_argument('config', nargs='?', help='config (not with --suite)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        choices=['cuda', 'cpu'])
    parser.add_argument('--iters', type=int, default=20, help='timed steps')
    parser.add_argument('--warmup', type=int, default=5, help='untimed steps first')
    parser.add_argument('--amp', action='store_true', help='bf16 autocast (AmpOptimWrapper)')
    parser.add_argument('--jpegs', type=int, default=64, help='JPEGs for the pipeline test')
    parser.add_argument('--num-unlabeled', type=int, help='unlabeled set size (default: '
                        'the built dataset, else ImageNet train)')
    parser.add_argument('--num-labeled', type=int, help='labeled set size (default: the '
                        'built dataset, else 10 %% of the unlabeled set)')
    parser.add_argument('--e2e-images', type=int, default=512,
                        help='distinct JPEGs of the end-to-end run (read repeatedly)')
    parser.add_argument('--only', choices=['step', 'pipeline', 'e2e'],
                        help='measure only the model side, only the input pipeline, or only '
                        'the synthetic and the end-to-end step')
    parser.add_argument('--stall-timeout', type=float, default=300,
                        help='seconds the end-to-end run may wait for one batch or step')
    parser.add_argument('--suite', action='store_true',
                        help='every figure of docs/performance.md in one run, instead of '
                        'CONFIG: the ImageNet 10 %% recipes in both batch layouts')
    parser.add_argument('--small', action='store_true',
                        help='with --suite: the same code on small shapes (ResNet-18, 32 px, '
                        'a quarter of each batch, 1 worker), minutes on a 2-core CPU')
    parser.add_argument('--compile', nargs='?', const='inductor', metavar='BACKEND',
                        help='torch.compile the encoders (CompileHook, training with '
                        '--cfg-options compile=True) with BACKEND (default inductor): of the '
                        'measured sscl and supervised steps; with --suite, an extra row per '
                        'recipe')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def crop_size(pipeline: List[dict]) -> int:
    """The output side of the first crop of a (multi-view) pipeline."""
    for t in pipeline:
        if t['type'] in CROP_TYPES:
            size = t['size']
            return size if isinstance(size, int) else size[0]
        if t['type'] == 'MultiView':
            return crop_size(next(iter(t['views'].values())))
    raise ValueError('no crop in the pipeline: cannot tell the image size')


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_steps(step: Callable[[], None], device: str, warmup: int, iters: int,
               watchdog: Optional['Watchdog'] = None) -> float:
    """Seconds per call of ``step``, after ``warmup`` calls; ``watchdog`` bounds the waits
    for the device."""
    bounded = watchdog.waiting if watchdog else lambda _: contextlib.nullcontext()
    for _ in range(warmup):
        step()
    with bounded(f'the device to finish the {warmup} warm-up steps'):
        sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    with bounded(f'the device to finish the {iters} timed steps'):
        sync(device)
    return (time.perf_counter() - start) / iters


def count_ops(step: Callable[[], None], device_tensors: List[torch.Tensor]) -> OpCounter:
    """Operators and host syncs of one call of ``step``; ``device_tensors``: what the
    device holds when ``step`` starts (on the CPU, a sync is a read of what they compute)."""
    with OpCounter(device_tensors) as counter:
        step()
    return counter


def eager() -> contextlib.AbstractContextManager:
    """A block in which compiled modules run eagerly: what the counting modes measure."""
    return torch.compiler.set_stance('force_eager')


def step_flops(step: Callable[[], None]) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def build_optim(model: torch.nn.Module, cfg: Config, amp: bool):
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if amp:
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
    return build_optim_wrapper(model, optim_cfg)


def semi_batch(b: int, ub: int, size: int, num_classes: int, num_unlabeled: int) -> dict:
    """A collated SsCL batch of random uint8 images (pinned, as a dataloader returns it)."""
    def img(n):
        t = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
        return t.pin_memory() if torch.cuda.is_available() else t

    return dict(
        inputs=dict(labeled=img(b), weak=img(ub), strong=img(ub)),
        data_samples=dict(
            labeled=dict(gt_label=torch.randint(0, num_classes, (b, )),
                         sample_idx=torch.arange(b)),
            unlabeled=dict(gt_label=torch.randint(0, num_classes, (ub, )),
                           sample_idx=torch.randint(0, num_unlabeled, (ub, )))))


def build_sscl(cfg: Config, args: argparse.Namespace, sizes: Tuple[int, int]):
    """The config's SsCL model (prototypes set, as after a refresh) and its optim wrapper."""
    model = MODELS.build(runner_model_config(cfg)).to(args.device)
    model.init_weights()
    model.co_calibration.init_table(sizes[1])
    if refresh_source(cfg) == 'steps':
        model.init_step_records(*sizes)
    model.co_calibration.set_prototypes(
        torch.randn(cfg.model.num_classes, cfg.model.get('feat_dim', 128)))
    model.train()
    return model, build_optim(model, cfg, args.amp)


def train_rates(cfg: Config, args: argparse.Namespace, sizes: Tuple[int, int],
                references: bool = True, compile_backend: Optional[str] = None) -> Dict:
    """The SsCL step's rate and peak memory; with ``references``, also its FLOPs, operators
    and host syncs, the supervised step, the plain PyTorch steps and the embedding rate.
    ``compile_backend``: compile the sscl and supervised models' encoders (operators and
    FLOPs are then counted on their eager steps)."""
    loader = cfg.train_dataloader
    b, ub = loader.sampler.labeled_batch_size, loader.sampler.unlabeled_batch_size
    size = crop_size(loader.dataset.labeled.pipeline)
    num_classes = cfg.model.num_classes
    device = args.device

    model_cfg = runner_model_config(cfg)
    model, optim = build_sscl(cfg, args, sizes)
    if compile_backend:
        compile_encoders(model, backend=compile_backend, fullgraph=True)
    batch = semi_batch(b, ub, size, num_classes, sizes[1])

    def sscl_step():
        model.train_step(batch, optim)

    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    sscl_s = time_steps(sscl_step, device, args.warmup, args.iters)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == 'cuda' else None
    if not references:
        return dict(sscl=(b + ub) / sscl_s, peak_gib=peak)
    with eager():
        sscl_flops = step_flops(sscl_step)

    sup = MODELS.build(
        dict(type='ImageClassifier', backbone=cfg.model.backbone, head=cfg.model.head,
             data_preprocessor=model_cfg.get('data_preprocessor'))).to(device)
    sup_optim = build_optim(sup, cfg, args.amp)
    if compile_backend:
        compile_encoders(sup, backend=compile_backend, fullgraph=True)
    images = semi_batch(b + ub, 1, size, num_classes, 1)['inputs']['labeled']
    sup_batch = dict(inputs=images, data_samples=dict(
        gt_label=torch.randint(0, num_classes, (b + ub, )), sample_idx=torch.arange(b + ub)))
    sup.train()

    def sup_step():
        sup.train_step(sup_batch, sup_optim)

    sup_s = time_steps(sup_step, device, args.warmup, args.iters)
    with eager():
        sup_flops = step_flops(sup_step)

    plain = PlainStep(cfg, device, args.amp)
    plain_s = time_steps(lambda: plain(batch), device, args.warmup, args.iters)
    plain_flops = step_flops(lambda: plain(batch))
    plain_sup = PlainStep(cfg, device, args.amp, supervised=True)
    plain_sup_s = time_steps(lambda: plain_sup(sup_batch), device, args.warmup, args.iters)
    inputs = tree_flatten(batch)[0]  # the batch, once the step has copied it to the device
    with eager():
        counts = dict(
            sscl=count_ops(sscl_step, [*model.parameters(), *model.buffers(), *inputs]),
            plain=count_ops(lambda: plain(batch), plain.device_tensors() + inputs))

    embed_rate = None
    if model.neck is not None:  # without a contrastive neck (FixMatch) there is no refresh
        embed_batch = images.to(device)

        @torch.no_grad()
        def embed_step():
            with torch.autocast(device, dtype=torch.bfloat16, enabled=args.amp):
                model.embed(model.data_preprocessor.normalize(embed_batch))

        model.eval()
        embed_rate = (b + ub) / time_steps(embed_step, device, 2, max(args.iters // 2, 2))
    return dict(b=b, ub=ub, size=size, sscl=(b + ub) / sscl_s, sup=(b + ub) / sup_s,
                flop_ratio=sscl_flops / sup_flops, plain=(b + ub) / plain_s,
                plain_flop_ratio=sscl_flops / plain_flops, plain_sup=(b + ub) / plain_sup_s,
                counts=counts, embed=embed_rate, step_s=sscl_s, peak_gib=peak)


def write_jpegs(folder: str, n: int, size: Tuple[int, int] = (375, 500)) -> List[str]:
    """``n`` JPEGs (H, W) = ``size`` of smooth random content (they compress like photos)."""
    g = torch.Generator().manual_seed(0)
    paths = []
    for i in range(n):
        low = torch.rand(3, 12, 16, generator=g)
        img = torch.nn.functional.interpolate(low[None], size=size, mode='bicubic')[0]
        img = (img.clamp(0, 1) * 255).to(torch.uint8)
        path = osp.join(folder, f'{i}.jpg')
        with open(path, 'wb') as f:
            f.write(encode_jpeg(img, quality=90).numpy().tobytes())
        paths.append(path)
    return paths


def pipeline_rates(cfg: Config, args: argparse.Namespace) -> Dict[str, float]:
    """Pairs/s of one worker (one thread) for the plain and the configured pipelines."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    size = crop_size(cfg.train_dataloader.dataset.unlabeled.pipeline)
    weak = T.Compose([T.RandomResizedCrop(size, scale=(0.2, 1.0), antialias=True),
                      T.RandomHorizontalFlip()])
    strong = T.Compose([
        T.RandomResizedCrop(size, scale=(0.2, 1.0), antialias=True), T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(23, sigma=(0.1, 2.0))], p=0.5),
        T.RandAugment(num_ops=2, magnitude=10)])
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_jpegs(tmp, args.jpegs)
        raw = [open(p, 'rb').read() for p in paths]

        def plain():
            for data in raw:
                img = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8))
                weak(img), strong(img)

        rates['plain torchvision (decode + weak + strong)'] = args.jpegs / time_steps(
            plain, 'cpu', 1, 2)

        def decode_weak():
            for data in raw:
                weak(decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8)))

        # the floor of any pipeline on this machine: what the GPU path's workers cannot skip
        rates['reference: decode + weak view only'] = args.jpegs / time_steps(
            decode_weak, 'cpu', 1, 2)
        unlabeled = cfg.train_dataloader.dataset.unlabeled.pipeline
        configured = Compose(copy.deepcopy(unlabeled))

        def config_pipeline():
            for p in paths:
                configured(dict(img_path=p, sample_idx=0, gt_label=0))

        on_device = runner_model_config(cfg).get('data_preprocessor', {}).get('batch_augments')
        name = 'config pipeline, CPU part' if on_device else 'config pipeline'
        rates[name] = args.jpegs / time_steps(config_pipeline, 'cpu', 1, 2)
    torch.set_num_threads(threads)
    n = cfg.train_dataloader.sampler.unlabeled_batch_size
    for view, aug_cfg in (on_device or {}).items():
        aug = MODELS.build(aug_cfg).to(args.device)
        batch = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, device=args.device)
        seconds = time_steps(lambda: aug(batch), args.device, 1, 3)
        rates[f'{view} view on {args.device} ({aug_cfg["type"]}, batches of {n})'] = n / seconds
    return rates


def calibration_hook(cfg: Config) -> Optional[dict]:
    return next((h for h in cfg.get('custom_hooks', []) if h['type'] == 'CoCalibrationHook'),
                None)


def refresh_source(cfg: Config) -> str:
    return (calibration_hook(cfg) or {}).get('source', 'offline')


def dataset_sizes(cfg: Config, args: argparse.Namespace) -> Tuple[int, int]:
    """(labeled, unlabeled) sizes: flags, else the built datasets, else ImageNet's."""
    if args.num_unlabeled:
        return args.num_labeled or args.num_unlabeled // 10, args.num_unlabeled
    try:
        semi = DATASETS.build(cfg.train_dataloader.dataset)
        return len(semi.labeled), len(semi.unlabeled)
    except Exception as e:  # the data is not on this machine
        print(f'(dataset not built: {str(e).splitlines()[0]}; assuming ImageNet sizes)')
        return IMAGENET_TRAIN // 10, IMAGENET_TRAIN


def load(path: str, args: argparse.Namespace) -> Config:
    """The config at ``path`` with ``--cfg-options``, and the small shapes under ``--small``."""
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.small:
        small_shapes(cfg)
    return cfg


def small_shapes(cfg: Config) -> None:
    """The suite's small shapes: ResNet-18 (512-d features) on 32 px crops, a quarter of each
    per-GPU batch, a queue of 1024, one dataloader worker."""
    sampler = cfg.train_dataloader.sampler
    b, ub = sampler.labeled_batch_size // 4, sampler.unlabeled_batch_size // 4
    cfg.merge_from_dict({
        'model.backbone.depth': 18, 'model.neck.in_channels': 512,
        'model.neck.hid_channels': 512, 'model.head.in_channels': 512, 'model.queue_len': 1024,
        'train_dataloader.batch_size': b + ub, 'train_dataloader.num_workers': 1,
        'train_dataloader.sampler.labeled_batch_size': b,
        'train_dataloader.sampler.unlabeled_batch_size': ub})
    for part in ('labeled', 'unlabeled'):
        set_crop_size(cfg.train_dataloader.dataset[part].pipeline, 32)


def set_crop_size(pipeline: List[dict], size: int) -> None:
    """Set the output side of every crop of a (multi-view) pipeline, in place."""
    for t in pipeline:
        if t['type'] in CROP_TYPES:
            t['size'] = size
        elif t['type'] == 'MultiView':
            for view in t['views'].values():
                set_crop_size(view, size)


def report_pipeline(cfg: Config, args: argparse.Namespace) -> None:
    for name, rate in pipeline_rates(cfg, args).items():
        if ' view on ' in name:
            print(f'batched augmentation: {name}: {rate:.1f} samples/s')
        else:
            print(f'input pipeline, 1 worker: {name}: {rate:.1f} pairs/s')


def run_suite(args: argparse.Namespace) -> None:
    """Every figure of docs/performance.md: both recipes (CPU and GPU strong augmentation)
    in both batch layouts, each step channels_last and NCHW, with the plain references;
    then the pipeline and the GPU augmentation at 256, and the JPEG runs at 8 + 32."""
    start = time.perf_counter()
    args.num_unlabeled = args.num_unlabeled or IMAGENET_TRAIN  # the recipes' data
    synthetic = {}
    for path in SUITE:
        cfg = load(osp.join(ROOT, path), args)
        print(f'\n== {path}')
        synthetic[path] = report_step(cfg, args)
        cfg.merge_from_dict({'data_preprocessor.channels_last': False})
        nchw = train_rates(cfg, args, dataset_sizes(cfg, args), references=False)['sscl']
        print(f'SsCL train step, NCHW    {nchw:10.1f} samples/s; channels_last: '
              f'{synthetic[path] / nchw:.2f}x')
        if args.compile:
            cfg.merge_from_dict({'data_preprocessor.channels_last': True})
            compiled = train_rates(cfg, args, dataset_sizes(cfg, args), references=False,
                                   compile_backend=args.compile)['sscl']
            print(f'SsCL train step, compiled encoders ({args.compile}) {compiled:.1f} '
                  f'samples/s; compile: {compiled / synthetic[path]:.2f}x')
    for path in SUITE[1::2]:
        print(f'\n== input pipeline: {path}')
        report_pipeline(load(osp.join(ROOT, path), args), args)
    for path in SUITE[0::2]:
        print(f'\n== end to end: {path}')
        report_end_to_end(load(osp.join(ROOT, path), args), args, synthetic[path])
    print(f'\nsuite: {time.perf_counter() - start:.0f} s')


def main() -> None:
    args = parse_args()
    if args.suite == bool(args.config):
        sys.exit('benchmark.py: error: give a CONFIG or --suite, not both')
    if args.small and not args.suite:
        sys.exit('benchmark.py: error: --small goes with --suite')
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('benchmark.py: error: --device cuda but no CUDA device')
    MMLogger.get_instance('benchmark', log_level='WARNING')  # no weight-init report
    register_all_modules()
    torch.manual_seed(0)  # the same draws, so the same operators per step, in every run
    torch.backends.cudnn.benchmark = True
    device_name = torch.cuda.get_device_name() if args.device == 'cuda' else \
        f'CPU, {torch.get_num_threads()} threads'
    print(f'config: {"--suite" if args.suite else args.config}\ndevice: {device_name}, '
          f'amp: {args.amp}, torch {torch.__version__}')
    if args.compile:
        print(f'compiled: the encoders, torch.compile backend {args.compile} (CompileHook)')
    if args.suite:
        if args.small:  # a step or two of each, on small sets
            vars(args).update(iters=2, warmup=1, jpegs=4, e2e_images=8, num_unlabeled=1000,
                              num_labeled=100)
        return run_suite(args)
    cfg = load(args.config, args)
    synthetic = report_step(cfg, args) if args.only in (None, 'step') else None
    if args.only in (None, 'pipeline'):
        report_pipeline(cfg, args)
    if args.only in (None, 'e2e'):
        report_end_to_end(cfg, args, synthetic)  # the step rate just measured, if any


def jpeg_semi_dataset(semi: Config, folder: str, images: int, unlabeled: int,
                      size: Tuple[int, int] = (375, 500)) -> List[str]:
    """Point the SemiDataset config ``semi`` (in place) at ``images`` JPEGs of ``size``
    that it writes in two class folders under ``folder``: labeled, an ImageFolder of them;
    unlabeled, a list of ``unlabeled`` entries that repeats them. Returns the files' names."""
    names = []
    for c in range(2):
        sub = osp.join(folder, 'train', f'c{c}')
        os.makedirs(sub)
        paths = write_jpegs(sub, max(images // 2, 1), size)
        names += [f'c{c}/{osp.basename(p)}' for p in paths]
    with open(osp.join(folder, 'unlabeled.txt'), 'w') as f:
        f.write('\n'.join((names * -(-unlabeled // len(names)))[:unlabeled]))
    semi.labeled = dict(type='ImageFolder', data_root=folder, data_prefix='train',
                        pipeline=semi.labeled.pipeline)
    semi.unlabeled = dict(type='ListFileDataset', ann_file='unlabeled.txt', data_root=folder,
                          data_prefix='train', pipeline=semi.unlabeled.pipeline)
    return names


class IterationCounter(Hook):
    """Counts the operators and host syncs of one whole Runner iteration (``run_iter``:
    every hook's ``before/after_train_iter`` and ``train_step``) at ``iteration``."""

    def __init__(self, iteration: int):
        self.iteration = iteration
        self.counter: Optional[OpCounter] = None

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        run_iter = loop.run_iter

        def counted(idx: int, data_batch: dict) -> None:
            if runner.iter != self.iteration:
                return run_iter(idx, data_batch)
            with OpCounter(runner_device_tensors(runner) + tree_flatten(data_batch)[0]) as c:
                run_iter(idx, data_batch)
            self.counter = c

        loop.run_iter = counted


def runner_device_tensors(runner) -> List[torch.Tensor]:
    """What the device holds during training: the model's and the EMA model's parameters
    and buffers, and the optimizer's state."""
    modules = [runner.model] + [h.ema_model for h in runner.hooks if hasattr(h, 'ema_model')]
    tensors = [t for m in modules for t in (*m.parameters(), *m.buffers())]
    for state in runner.optim_wrapper.optimizer.state.values():
        tensors += [t for t in state.values() if isinstance(t, torch.Tensor)]
    return tensors


def runner_iteration_counts(cfg: Config, args: argparse.Namespace, iters: int = 3) -> OpCounter:
    """Operators and host syncs of the last of ``iters`` iterations of the config's own
    Runner (its hooks, optim wrapper and log processing) on ``iters`` batches of JPEGs of
    the crop size (the refresh before training embeds them at little cost); no validation,
    no checkpoints."""
    cfg = copy.deepcopy(cfg)
    loader = cfg.train_dataloader
    b, ub = loader.sampler.labeled_batch_size, loader.sampler.unlabeled_batch_size
    with tempfile.TemporaryDirectory() as tmp:
        size = crop_size(loader.dataset.labeled.pipeline)
        jpeg_semi_dataset(loader.dataset, tmp, min(args.e2e_images, iters * ub), iters * ub,
                          (size, size))
        loader.update(batch_size=b + ub, num_workers=0, persistent_workers=False)
        loader.pop('prefetch_factor', None)
        for hook in cfg.get('custom_hooks', []):
            if hook.type == 'CoCalibrationHook':
                hook.update(num_workers=0)
        cfg.train_cfg.update(max_epochs=1, val_interval=2)
        for part in ('val', 'test'):
            for key in (f'{part}_dataloader', f'{part}_cfg', f'{part}_evaluator'):
                cfg[key] = None
        cfg.default_hooks.checkpoint = None
        cfg.update(work_dir=tmp, launcher='none', log_level='ERROR',
                   experiment_name=f'benchmark_{os.getpid()}')
        runner = Runner.from_cfg(cfg)
        hook = IterationCounter(iters - 1)
        runner.register_hook(hook, priority='LOWEST')
        runner.train()
    if hook.counter is None:
        sys.exit(f'benchmark.py: error: the Runner stopped before iteration {iters}')
    return hook.counter


def end_to_end_rate(cfg: Config, args: argparse.Namespace) -> Tuple[float, int]:
    """Samples/s of SsCL train steps fed by the config's dataloader (workers, pipelines,
    sampler, collate) from ``--e2e-images`` JPEGs of 500×375, repeated so that the timed
    steps stay inside one epoch. Returns the rate and the number of workers."""
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    b, ub = loader_cfg.sampler.labeled_batch_size, loader_cfg.sampler.unlabeled_batch_size
    loader_cfg.batch_size = b + ub  # one sampler block per batch, also with other sizes
    steps = args.warmup + args.iters
    with tempfile.TemporaryDirectory() as tmp:
        # the unlabeled list names every file several times: one epoch covers the run
        names = jpeg_semi_dataset(loader_cfg.dataset, tmp, args.e2e_images, (steps + 1) * ub)
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        model, optim = build_sscl(cfg, args, (len(names), len(loader.dataset.unlabeled)))
        workers = loader_cfg.get('num_workers', 0)
        watchdog = Watchdog(args.stall_timeout)
        start = time.perf_counter()
        with watchdog.waiting(f'starting {workers} dataloader workers'):
            batches = iter(loader)
        progress(f'e2e: {workers} workers started in {time.perf_counter() - start:.1f} s')
        done = 0

        def step():
            nonlocal done
            done += 1
            tick = time.perf_counter()
            with watchdog.waiting(f'step {done}/{steps}: its batch from the dataloader'):
                data = next(batches)
            fed = time.perf_counter()
            if done == 1:
                progress(f'e2e: first batch {fed - start:.1f} s after the workers started')
            with watchdog.waiting(f'step {done}/{steps}: train_step'):
                model.train_step(data, optim)
            progress(f'e2e: step {done}/{steps}: {1e3 * (time.perf_counter() - tick):.0f} ms '
                     f'({1e3 * (fed - tick):.0f} ms waiting for the batch)')

        seconds = time_steps(step, args.device, args.warmup, args.iters, watchdog)
    return (b + ub) / seconds, workers


def progress(line: str) -> None:
    """A progress line on stderr, at once (the figures go to stdout)."""
    print(line, file=sys.stderr, flush=True)


class Watchdog:
    """Bounded waits: a ``waiting(what)`` block that lasts over ``seconds`` ends the process
    with one line naming ``what`` (a stalled worker or device cannot hang the run)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        timer = threading.Timer(self.seconds, self._fail, (what, ))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _fail(self, what: str) -> None:
        print(f'benchmark.py: error: end-to-end run stalled: no progress for '
              f'{self.seconds:.0f} s waiting for {what}', file=sys.stderr, flush=True)
        os._exit(1)  # the main thread is blocked: exit from here, workers included


def report_end_to_end(cfg: Config, args: argparse.Namespace,
                      synthetic: Optional[float] = None) -> None:
    """Print the synthetic step rate (measured here unless given) and the end-to-end one."""
    if synthetic is None:
        synthetic = train_rates(cfg, args, dataset_sizes(cfg, args), references=False)['sscl']
    rate, workers = end_to_end_rate(cfg, args)
    print(f'SsCL train step, synthetic tensors: {synthetic:.1f} samples/s')
    print(f'SsCL train step, JPEG files through the dataloader ({workers} workers): '
          f'{rate:.1f} samples/s = {100 * rate / synthetic:.1f} % of the synthetic rate')


def print_refresh_costs(cfg: Config, sizes: Tuple[int, int], embed_rate: float,
                        epoch_s: float) -> None:
    """One line per refresh source: its embedding time, per epoch and per training time."""
    hook = calibration_hook(cfg)
    embedded = dict(offline=sizes[0] * 2 + sizes[1], steps=sizes[0])
    what = dict(offline=f'embed {sizes[0]} labeled x2 + {sizes[1]} unlabeled',
                steps=f'embed {sizes[0]} mixed images')
    for source, images in embedded.items():
        refresh_s = images / embed_rate
        mark = ' (config)' if hook is not None and refresh_source(cfg) == source else ''
        line = (f"refresh, source='{source}'{mark}: {what[source]}: {refresh_s:.1f} s = "
                f'{100 * refresh_s / epoch_s:.2f} % of an epoch')
        if hook is not None and hook.get('by_epoch', True):
            interval = hook.get('interval', 5)
            line += f', {100 * refresh_s / epoch_s / interval:.2f} % of training time ' \
                    f'(every {interval} epochs)'
        print(line)


def report_step(cfg: Config, args: argparse.Namespace) -> float:
    """Print the model-side figures; returns the SsCL step's samples/s."""
    sizes = dataset_sizes(cfg, args)
    rates = train_rates(cfg, args, sizes, compile_backend=None if args.suite else args.compile)
    ratio = rates['sscl'] * rates['flop_ratio'] / rates['sup']
    epoch_s = sizes[1] / rates['ub'] * rates['step_s']
    print(f"step: {rates['b']} labeled + {rates['ub']} unlabeled images of {rates['size']}px")
    print(f"SsCL train step          {rates['sscl']:10.1f} samples/s "
          f"({rates['step_s'] * 1e3:.1f} ms/step)")
    print(f"supervised train step    {rates['sup']:10.1f} img/s")
    print(f"FLOPs per SsCL sample    {rates['flop_ratio']:10.2f} supervised images")
    print(f'FLOP-normalised ratio    {ratio:10.2f} (SsCL throughput x FLOP ratio / supervised)')
    plain = rates['sscl'] / rates['plain']
    print(f"plain PyTorch SsCL step  {rates['plain']:10.1f} samples/s (same shapes, no framework)")
    print(f'sscl / plain step        {plain:10.2f} as measured')
    print(f"sscl / plain, FLOP-adj.  {plain * rates['plain_flop_ratio']:10.2f} (x "
          f"{rates['plain_flop_ratio']:.2f}: the sscl step's FLOPs over the plain step's)")
    print(f"plain supervised step    {rates['plain_sup']:10.1f} img/s")
    print(f"supervised / plain       {rates['sup'] / rates['plain_sup']:10.2f} as measured")
    counts = [(f'{name} step:', 'step', c) for name, c in rates['counts'].items()]
    counts.append(('sscl Runner:', 'iteration', runner_iteration_counts(cfg, args)))
    for name, unit, counter in counts:
        sites = ', '.join(f'{site} x{n}' for site, n in counter.syncs.most_common())
        print(f'{name:<12} {counter.ops:6d} operators, '
              f'{sum(counter.syncs.values()):3d} host syncs per {unit}' +
              (f' ({sites})' if sites else ''))
    print(f'epoch: {sizes[1]} unlabeled images = {epoch_s:.0f} s on this device')
    if rates['embed'] is None:
        print('refresh: none (the model has no contrastive neck)')
    else:
        print_refresh_costs(cfg, sizes, rates['embed'], epoch_s)
    if rates['peak_gib'] is not None:
        print(f"peak GPU memory          {rates['peak_gib']:10.2f} GiB")
    return rates['sscl']


if __name__ == '__main__':
    main()

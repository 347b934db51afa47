"""SsCL checkpoint → convert_to_det.py → mmdet Mask R-CNN R50-FPN from configs/det, on CPU."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import save_checkpoint
from torchvision.io import write_jpeg

from sscl.registry import MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CONFIGS = ['mask-rcnn_r50-sscl-pre_fpn_1x_coco.py', 'mask-rcnn_r50-sscl-pre_fpn_ms-2x_coco.py']
SIZE = 96


def load_tool():
    spec = importlib.util.spec_from_file_location('convert_to_det',
                                                  osp.join(ROOT, 'tools', 'convert_to_det.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_coco(root):
    """Four images with one or two boxes each, as a COCO instances json."""
    (root / 'images').mkdir(parents=True)
    images, annotations = [], []
    g = torch.Generator().manual_seed(0)
    for i in range(4):
        img = (torch.rand(3, SIZE, SIZE, generator=g) * 80).to(torch.uint8)
        boxes = [(10 + 5 * i, 12, 40, 30), (50, 45 + 3 * i, 30, 35)][:1 + i % 2]
        for j, (x, y, w, h) in enumerate(boxes):
            img[:, y:y + h, x:x + w] = 200
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=1 + 2 * j,
                    iscrowd=0,
                    bbox=[x, y, w, h],
                    area=w * h,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
        write_jpeg(img, str(root / 'images' / f'{i}.jpg'))
        images.append(dict(id=i + 1, file_name=f'{i}.jpg', width=SIZE, height=SIZE))
    from mmdet.datasets import CocoDataset
    categories = [
        dict(id=i + 1, name=name) for i, name in enumerate(CocoDataset.METAINFO['classes'])
    ]
    ann = dict(images=images, annotations=annotations, categories=categories)
    (root / 'ann.json').write_text(json.dumps(ann))
    return str(root / 'ann.json')


def small_pipeline(train):
    load = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True)
    ]
    resize = [dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=True)]
    pack = [dict(type='PackDetInputs')] if train else [
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
    ]
    return load + resize + pack


@pytest.mark.parametrize('name', DET_CONFIGS)
def test_det_configs_carry_the_transfer_settings(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'det', name))
    backbone = cfg.model.backbone
    assert cfg.default_scope == 'mmdet' and cfg.data_root == 'data/coco/'
    # nothing frozen: mmdet's frozen_stages=0 would freeze the stem
    assert (backbone.type, backbone.depth, backbone.frozen_stages) == ('ResNet', 50, -1)
    assert backbone.norm_cfg.type == 'SyncBN' and backbone.norm_eval is False
    assert cfg.model.neck.norm_cfg.type == 'SyncBN'
    assert backbone.init_cfg == dict(
        type='sscl.Pretrained', checkpoint='work_dirs/sscl_r50_mmdet.pth', weights='query')
    assert cfg.val_evaluator.metric == ['bbox', 'segm']
    assert cfg.default_hooks.weights_only_checkpoint.type == 'sscl.WeightsOnlyCheckpointHook'
    assert cfg.train_cfg.max_epochs == (12 if '1x' in name else 24)


def test_sscl_backbone_trains_mask_rcnn(tmp_path):
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'))
    cfg.model.queue_len = 256
    torch.manual_seed(0)
    state = MODELS.build(cfg.model).state_dict()
    src, dst = tmp_path / 'sscl.pth', tmp_path / 'r50_mmdet.pth'
    save_checkpoint(dict(state_dict=state, meta=dict(epoch=1, iter=10)), str(src))
    load_tool().convert(str(src), str(dst), 'mmdet', 'query')

    ann = synthetic_coco(tmp_path / 'coco')
    det = Config.fromfile(osp.join(ROOT, 'configs', 'det', DET_CONFIGS[0]))
    det.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(dst)})  # = --cfg-options
    det.work_dir = str(tmp_path / 'work')
    det.train_dataloader.dataset.pipeline = small_pipeline(train=True)
    det.test_dataloader.dataset.pipeline = small_pipeline(train=False)
    for loader in (det.train_dataloader, det.test_dataloader):
        loader.update(batch_size=1, num_workers=0, persistent_workers=False)
        loader.dataset.update(
            data_root=str(tmp_path / 'coco'), ann_file=ann, data_prefix=dict(img='images/'))
    det.test_evaluator.ann_file = ann
    # 2 iterations, no validation inside training; the evaluation pass is runner.test()
    det.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    det.val_dataloader = det.val_cfg = det.val_evaluator = None
    det.param_scheduler = []
    det.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    det.default_hooks.logger = dict(type='LoggerHook', interval=1)
    det.log_processor = dict(by_epoch=False)
    # fewer proposals than on COCO keeps the CPU run short; every box is kept for the
    # evaluation (a random backbone after 2 iterations scores every class 0.0 or near it)
    det.model.train_cfg.rpn_proposal.max_per_img = 200
    det.model.train_cfg.rcnn.sampler.num = 64
    det.model.test_cfg.rpn.max_per_img = 100
    det.model.test_cfg.rcnn.update(score_thr=-1.0, max_per_img=20)

    runner = Runner.from_cfg(det)
    runner.model.init_weights()  # what runner.train() does first; a second call is a no-op
    backbone = runner.model.backbone
    assert not isinstance(backbone.bn1, torch.nn.SyncBatchNorm)  # BN in one process
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, state['backbone.' + k]), k
    runner.train()
    assert runner.iter == 2
    for k in ('conv1.weight', 'bn1.running_mean', 'layer1.0.conv1.weight'):  # all fine-tuned
        assert not torch.equal(backbone.state_dict()[k], state['backbone.' + k]), k
    # tools/test.py and --resume read it under torch's default weights_only=True
    saved = torch.load(osp.join(det.work_dir, 'iter_2.pth'), weights_only=True)
    assert saved['meta']['iter'] == 2 and 'message_hub' in saved
    metrics = runner.test()
    assert {'coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'} <= set(metrics)

"""SsCL checkpoint → convert_to_det.py → mmdet Mask R-CNN R50-FPN from configs/det, on CPU."""
import json
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import save_checkpoint
from torchvision.io import write_jpeg

from sscl.registry import MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 96


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
            annotations.append(dict(
                id=len(annotations) + 1, image_id=i + 1, category_id=1 + 2 * j, iscrowd=0,
                bbox=[x, y, w, h], area=w * h,
                segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
        write_jpeg(img, str(root / 'images' / f'{i}.jpg'))
        images.append(dict(id=i + 1, file_name=f'{i}.jpg', width=SIZE, height=SIZE))
    from mmdet.datasets import CocoDataset
    categories = [dict(id=i + 1, name=name)
                  for i, name in enumerate(CocoDataset.METAINFO['classes'])]
    ann = dict(images=images, annotations=annotations, categories=categories)
    (root / 'ann.json').write_text(json.dumps(ann))
    return str(root / 'ann.json')


def small_pipeline(train):
    load = [dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
    resize = [dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=True)]
    pack = [dict(type='PackDetInputs')] if train else [
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]
    return load + resize + pack


def test_sscl_backbone_trains_mask_rcnn(tmp_path):
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'))
    cfg.model.queue_len = 256
    torch.manual_seed(0)
    state = MODELS.build(cfg.model).state_dict()
    src, dst = tmp_path / 'sscl.pth', tmp_path / 'r50_mmdet.pth'
    save_checkpoint(dict(state_dict=state, meta=dict(epoch=1, iter=10)), str(src))
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'convert_to_det.py'),
                             str(src), str(dst)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    ann = synthetic_coco(tmp_path / 'coco')
    det = Config.fromfile(osp.join(ROOT, 'configs', 'det', 'mask-rcnn_r50-sscl-pre_fpn_1x_coco.py'))
    assert det.model.backbone.norm_cfg.type == 'SyncBN' and det.model.backbone.norm_eval is False
    assert det.model.neck.norm_cfg.type == 'SyncBN' and det.model.backbone.frozen_stages == 0
    det.model.backbone.init_cfg.checkpoint = str(dst)
    det.work_dir = str(tmp_path / 'work')
    for split, train in (('train_dataloader', True), ('val_dataloader', False)):
        loader = det[split]
        loader.update(batch_size=1, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=str(tmp_path / 'coco'), ann_file=ann,
                              data_prefix=dict(img='images/'), pipeline=small_pipeline(train))
    det.test_dataloader = det.val_dataloader
    det.val_evaluator = dict(type='CocoMetric', ann_file=ann, metric=['bbox', 'segm'])
    det.test_evaluator = det.val_evaluator
    det.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    det.param_scheduler = []
    det.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    det.default_hooks.logger = dict(type='LoggerHook', interval=1)
    det.log_processor = dict(by_epoch=False)
    # after 2 iterations no score passes mmdet's 0.05: keep every box so COCO eval runs
    det.model.test_cfg.rcnn.score_thr = 0.0

    runner = Runner.from_cfg(det)
    runner._init_model_weights()
    backbone = runner.model.backbone
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, state['backbone.' + k]), k
    runner.train()
    metrics = runner.val_loop.run()
    assert 'coco/bbox_mAP' in metrics and 'coco/segm_mAP' in metrics

"""The plain PyTorch reference steps of ``benchmark.py``: what a user would write without
the framework, for the model shapes of a config.

* SsCL-shaped: the query encoder (backbone, 2-layer MLP neck, fc) forward/backward on
  labeled + strong; the weak view forward without gradient for the pseudo labels; the key
  encoder (momentum copy of backbone + neck) on labeled + weak; cross-entropy, masked
  pseudo-label cross-entropy and a multi-positive contrastive loss over the batch's keys and
  a queue held as one (K, D) tensor; SGD. No Runner, no data preprocessor, no host sync.
* supervised: backbone + fc forward/backward on one batch, cross-entropy, SGD.

Both take the batches ``benchmark.py`` feeds the sscl steps (uint8 on the host, pinned on
a GPU machine) and do their own copy and normalisation, as a hand-written loop does.
"""
import copy
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from sscl.registry import MODELS
from sscl.utils.cli import runner_model_config

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


class PlainStep:
    """One training step of the config's backbone + fc (+ MLP neck and key encoder), plain.

    Args:
        cfg: the benchmarked config (its model, data preprocessor and optimizer).
        device: 'cuda' or 'cpu'.
        amp: bf16 autocast.
        supervised: the supervised step (no neck, no key encoder, no unlabeled views).
    """

    def __init__(self, cfg: Config, device: str, amp: bool, supervised: bool = False):
        model = runner_model_config(cfg)
        pre = model.get('data_preprocessor') or {}
        self.device, self.amp, self.supervised = device, amp, supervised
        self.channels_last = pre.get('channels_last', False)
        self.mean = torch.tensor(pre.get('mean', MEAN), device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(pre.get('std', STD), device=device).view(1, 3, 1, 1)
        self.backbone = MODELS.build(copy.deepcopy(model.backbone)).to(device)
        self.fc = nn.Linear(model.head.in_channels, model.head.num_classes).to(device)
        params = list(self.backbone.parameters()) + list(self.fc.parameters())
        neck = model.get('neck')
        self.neck = None
        if neck is not None and not supervised:
            self.neck = nn.Sequential(
                nn.Linear(neck.in_channels, neck.hid_channels), nn.ReLU(inplace=True),
                nn.Linear(neck.hid_channels, neck.out_channels)).to(device)
            params += list(self.neck.parameters())
            self.key_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
            self.key_neck = copy.deepcopy(self.neck).requires_grad_(False)
            self.queue = F.normalize(torch.randn(model.queue_len, neck.out_channels,
                                                 device=device), dim=1)
            self.queue_labels = torch.randint(0, model.num_classes, (model.queue_len, ),
                                              device=device)
            self.ptr = 0
            self.key_momentum = model.momentum
            self.gamma = (model.get('loss_ctr') or {}).get('gamma', 10.0)
        if self.channels_last:
            self.backbone.to(memory_format=torch.channels_last)
            if self.neck is not None:
                self.key_backbone.to(memory_format=torch.channels_last)
        self.threshold = (model.get('loss_pl') or {}).get('threshold', 0.95)
        opt = cfg.optim_wrapper.get('optimizer', {})
        self.optimizer = torch.optim.SGD(
            params, lr=opt.get('lr', 0.03), momentum=opt.get('momentum', 0.9),
            weight_decay=opt.get('weight_decay', 1e-4), nesterov=opt.get('nesterov', False),
            foreach=opt.get('foreach'))

    def device_tensors(self) -> List[torch.Tensor]:
        """Everything the step keeps on the device: weights, BN statistics, the queue."""
        modules = [self.backbone, self.fc]
        state = [self.mean, self.std]
        if self.neck is not None:
            modules += [self.neck, self.key_backbone, self.key_neck]
            state += [self.queue, self.queue_labels]
        return [t for m in modules for t in (*m.parameters(), *m.buffers())] + state

    def _images(self, img: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) on the host → normalised float on the device."""
        img = (img.to(self.device, non_blocking=True).float() - self.mean) / self.std
        return img.contiguous(memory_format=torch.channels_last) if self.channels_last else img

    @staticmethod
    def _pool(backbone: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return backbone(x)[-1].mean(dim=(2, 3))

    @torch.no_grad()
    def _keys(self, x: torch.Tensor) -> torch.Tensor:
        """Momentum update, then (N, D) normalised keys of the key encoder."""
        online = list(self.backbone.parameters()) + list(self.neck.parameters())
        key = list(self.key_backbone.parameters()) + list(self.key_neck.parameters())
        torch._foreach_lerp_(key, online, 1 - self.key_momentum)
        return F.normalize(self.key_neck(self._pool(self.key_backbone, x)).float(), dim=1)

    def _contrastive(self, q: torch.Tensor, k: torch.Tensor,
                     labels: torch.Tensor) -> torch.Tensor:
        """Mean over queries of -mean log p(positive): positives are the query's own key
        and every key or queue entry of its class; then the keys enter the queue."""
        keys = torch.cat([k, self.queue])
        key_labels = torch.cat([labels, self.queue_labels])
        log_p = (q @ keys.t() * self.gamma).log_softmax(dim=1)
        pos = (labels[:, None] == key_labels[None]).float()
        loss = -((log_p * pos).sum(dim=1) / pos.sum(dim=1)).mean()
        idx = (self.ptr + torch.arange(len(k), device=k.device)) % len(self.queue)
        self.queue.index_copy_(0, idx, k)
        self.queue_labels.index_copy_(0, idx, labels)
        self.ptr = (self.ptr + len(k)) % len(self.queue)
        return loss

    def _loss(self, batch: Dict) -> torch.Tensor:
        inputs, samples = batch['inputs'], batch['data_samples']
        if self.supervised:
            y = samples['gt_label'].to(self.device, non_blocking=True)
            return F.cross_entropy(self.fc(self._pool(self.backbone, self._images(inputs))), y)
        y = samples['labeled']['gt_label'].to(self.device, non_blocking=True)
        labeled, weak, strong = (self._images(inputs[k]) for k in ('labeled', 'weak', 'strong'))
        with torch.no_grad():
            probs = self.fc(self._pool(self.backbone, weak)).float().softmax(dim=1)
        conf, pseudo = probs.max(dim=1)
        feats = self._pool(self.backbone, torch.cat([labeled, strong]))
        logits = self.fc(feats).float()
        b = len(y)
        loss = F.cross_entropy(logits[:b], y) + (F.cross_entropy(
            logits[b:], pseudo, reduction='none') * (conf >= self.threshold)).mean()
        if self.neck is None:
            return loss
        q = F.normalize(self.neck(feats).float(), dim=1)
        k = self._keys(torch.cat([labeled, weak]))
        return loss + self._contrastive(q, k, torch.cat([y, pseudo]))

    def __call__(self, batch: Dict) -> None:
        """One step: forward, backward and SGD update on ``batch``."""
        with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.amp):
            loss = self._loss(batch)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

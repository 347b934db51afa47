import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sscl.models.algorithms import LabeledQueue
from sscl.models.utils import forward_with_shuffle_bn


def test_wrap_around_keeps_labels_aligned_with_keys():
    queue = LabeledQueue(length=5, dim=2)
    written = []
    for step in range(4):  # 3 keys per step, K = 5: wraps around twice
        labels = torch.arange(3) + 10 * step
        keys = torch.stack([labels.float(), -labels.float()], dim=1)
        queue.enqueue(keys, labels)
        written.extend(labels.tolist())
    assert queue.queue_ptr.item() == 12 % 5
    # every slot's key encodes its own label
    assert torch.equal(queue.queue[:, 0].long(), queue.queue_labels)
    # the queue holds exactly the 5 newest labels
    assert sorted(queue.queue_labels.tolist()) == sorted(written[-5:])


def test_class_positives_are_the_newest_of_the_class():
    queue = LabeledQueue(length=6, dim=2)
    queue.enqueue(torch.zeros(4, 2), torch.tensor([1, 2, 1, -1]))  # slots 0..3
    queue.enqueue(torch.zeros(3, 2), torch.tensor([1, 1, 2]))  # slots 4, 5, 0 (wrap)
    idx, valid = queue.class_positives(torch.tensor([1, 2, -1, 3]), num_positives=3)
    # class 1 newest first: slot 5, slot 4, slot 2
    assert idx[0].tolist() == [5, 4, 2] and valid[0].all()
    # class 2: slot 0 (newest, overwritten by the second batch), then slot 1
    assert idx[1, :2].tolist() == [0, 1] and valid[1].tolist() == [True, True, False]
    assert not valid[2].any() and not valid[3].any()


def test_zero_positives():
    queue = LabeledQueue(length=4, dim=2)
    idx, valid = queue.class_positives(torch.tensor([0, 1]), num_positives=0)
    assert idx.shape == (2, 0) and valid.shape == (2, 0)


def _worker(rank, world_size, init_file, out_dir):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world_size)
    torch.manual_seed(rank)  # different seeds: the permutation must come from rank 0
    queue = LabeledQueue(length=7, dim=2)
    labels = torch.arange(3) + 10 * rank
    queue.enqueue(torch.stack([labels.float(), -labels.float()], dim=1), labels)
    x = torch.arange(4 * 3, dtype=torch.float).view(4, 3) + 100 * rank
    seen = []

    def rowwise(batch):
        seen.append(batch.clone())
        return batch * 2

    out = forward_with_shuffle_bn(rowwise, x)

    def batch_norm(batch):  # BN's dependence on the batch: each row minus the batch mean
        seen.append(batch.clone())
        return batch - batch.mean(dim=0, keepdim=True)

    generator = torch.Generator().manual_seed(0)
    normed = [forward_with_shuffle_bn(batch_norm, x, generator) for _ in range(3)]
    torch.save(
        dict(queue=queue.state_dict(), out=out, x=x, seen=seen[0], normed=normed,
             seen_normed=seen[1:]), os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


@pytest.fixture(scope='module')
def states(tmp_path_factory):
    """What each of 2 gloo ranks saved from :func:`_worker`."""
    tmp = tmp_path_factory.mktemp('two_ranks')
    mp.spawn(_worker, args=(2, str(tmp / 'init'), str(tmp)), nprocs=2)
    return [torch.load(tmp / f'rank{r}.pth', weights_only=True) for r in range(2)]


def test_two_ranks_share_the_queue_and_shuffle_bn_restores_order(states):
    for state in states:
        # keys of both ranks, in rank order, identical on every rank
        assert state['queue']['queue_labels'][:6].tolist() == [0, 1, 2, 10, 11, 12]
        assert state['queue']['queue_ptr'].item() == 6
        assert torch.equal(state['queue']['queue'][:6, 0].long(),
                           state['queue']['queue_labels'][:6])
        assert torch.equal(state['out'], state['x'] * 2)
    # each rank encoded a shard of the joint batch: together they saw all 8 rows once
    seen = torch.cat([s['seen'] for s in states])
    joint = torch.cat([s['x'] for s in states])
    assert sorted(seen[:, 0].tolist()) == sorted(joint[:, 0].tolist())


def test_shuffle_bn_mixes_the_ranks_batches(states):
    """Each rank's key-encoder batch holds rows of both ranks (a row of rank r starts at
    100 r), and every row comes back normalised with the statistics of the batch it was
    encoded in, on the rank that sent it."""
    for step in range(3):
        expected = {}
        for state in states:
            batch = state['seen_normed'][step]
            owners = (batch[:, 0] >= 100).long()
            assert 0 < owners.sum() < len(owners), 'a batch of one rank only: not shuffled'
            for row, normed in zip(batch, batch - batch.mean(dim=0, keepdim=True)):
                expected[float(row[0])] = normed
        for state in states:
            want = torch.stack([expected[float(r)] for r in state['x'][:, 0]])
            torch.testing.assert_close(state['normed'][step], want)

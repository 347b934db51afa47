import torch

from sscl.models.algorithms import LabeledQueue


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

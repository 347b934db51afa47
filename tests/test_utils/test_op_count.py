"""OpCounter: operators per step and the host syncs among them, on the CPU."""
import torch

from sscl.utils.op_count import OpCounter


def test_counts_forward_and_backward_operators():
    weight = torch.ones(3, requires_grad=True)
    with OpCounter() as counter:
        (weight * 2).sum().backward()
    # mul, sum; backward: ones_like (the seed), expand (sum's grad), mul (mul's grad) and
    # the accumulation into .grad (a detach of the new gradient)
    assert counter.ops == 6
    assert sum(counter.syncs.values()) == 0


def test_device_reads_count_host_draws_do_not():
    images = torch.rand(4, 3)
    host_mask = torch.rand(4) < 0.5  # a CPU generator's draw: host data on a GPU too
    with OpCounter([images]) as counter:
        host_mask.nonzero()  # not a sync
        images[host_mask.nonzero()[:, 0]]  # integer indices from the host: not a sync
        x = images * 2  # derived from a device tensor: on the device
        float(x.sum())  # .item(): 1
        x[x > 1]  # boolean mask on the device: 1
        x[x > 1] = 0  # 1
        (x > 0).nonzero()  # 1
    assert sum(counter.syncs.values()) == 4
    ops = {site.split(' ')[1] for site in counter.syncs}
    assert ops == {'(_local_scalar_dense)', '(index)', '(index_put_)', '(nonzero)'}
    assert all(site.startswith('test_op_count.py:') for site in counter.syncs)
    assert not hasattr(images, '_op_counter_on_device')  # the marks end with the block


def test_without_device_tensors_every_read_is_on_the_host():
    x = torch.rand(4)
    with OpCounter() as counter:
        float(x.sum())
        x[x > 0.5]
    assert sum(counter.syncs.values()) == 0

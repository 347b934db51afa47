import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from sscl.models.algorithms import CoCalibration

PROTOTYPES = F.normalize(torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), dim=1)


def rank_batch(rank):
    """Rank r's step: labeled samples 2r, 2r+1 and unlabeled samples r, r+2, r+4."""
    g = torch.Generator().manual_seed(rank + 1)
    return dict(
        labeled_idx=torch.tensor([2 * rank, 2 * rank + 1]),
        labeled_embed=F.normalize(torch.randn(2, 4, generator=g), dim=1),
        unlabeled_idx=torch.tensor([rank, rank + 2, rank + 4]),
        calibrated=torch.rand(3, 3, generator=g).softmax(dim=1),
        embed=F.normalize(torch.randn(3, 4, generator=g), dim=1))


def co_calibration():
    """A CoCalibration of C = 3, D = 4 with the fixed prototypes, recording 4 + 6 samples."""
    co = CoCalibration(3, 4)
    co.set_prototypes(PROTOTYPES)
    co.init_records(4, 6)
    return co


def _worker(rank, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    co = co_calibration()
    co.record(**rank_batch(rank))
    torch.save(co.step_records.state_dict(), os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


def test_every_rank_records_every_ranks_batch(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / 'init'), str(tmp_path)), nprocs=2)
    # one process recording both ranks' batches gives the same records
    single = co_calibration()
    for rank in range(2):
        single.record(**rank_batch(rank))
    single = single.step_records
    assert single.complete()
    for rank in range(2):
        state = torch.load(tmp_path / f'rank{rank}.pth', weights_only=True)
        for key, value in single.state_dict().items():
            assert torch.equal(state[key], value), (rank, key)


def test_records_are_the_argmax_and_the_similarities():
    co = co_calibration()
    batch = rank_batch(0)
    co.record(**batch)
    records = co.step_records
    idx = batch['unlabeled_idx']
    sim = batch['embed'] @ PROTOTYPES.t()
    assigned = batch['calibrated'].argmax(dim=1)
    assert torch.equal(records.assigned[idx], assigned)
    assert torch.equal(records.nearest[idx], sim.argmax(dim=1))
    torch.testing.assert_close(records.sim_assigned[idx], sim.gather(1, assigned[:, None])[:, 0])
    torch.testing.assert_close(records.labeled_embed[:2].float(), batch['labeled_embed'],
                               atol=1e-2, rtol=0)  # stored in bfloat16
    assert not records.complete()  # samples 1, 3, 5 and labeled 2, 3 not recorded yet

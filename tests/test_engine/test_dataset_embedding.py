import torch
from torch.utils.data import Dataset

from sscl.engine.utils import embed_dataset, gather_by_index, inference_loader


def test_rows_land_by_sample_index_and_padded_duplicates_agree():
    parts = [
        dict(sample_idx=torch.tensor([2, 0]), z=torch.tensor([[2.0], [0.0]])),
        dict(sample_idx=torch.tensor([1, 2]), z=torch.tensor([[1.0], [2.0]])),  # 2 padded
    ]
    out = gather_by_index(parts, 3)
    assert set(out) == {'z'}
    torch.testing.assert_close(out['z'], torch.tensor([[0.0], [1.0], [2.0]]))


class _Numbers(Dataset):

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([float(i)]), data_samples=dict(sample_idx=i))


def test_embed_dataset_preprocesses_every_batch_and_keeps_the_rows_of_each_sample():
    calls = []

    def preprocess(batch, training):
        calls.append(training)
        return dict(batch, inputs=batch['inputs'] * 10)

    loader = inference_loader(_Numbers(), batch_size=2, num_workers=0)
    out = embed_dataset(preprocess, loader, lambda data: dict(y=data['inputs'] + 1), 5)
    torch.testing.assert_close(out['y'], torch.tensor([[1.0], [11.0], [21.0], [31.0], [41.0]]))
    assert calls == [False] * 3

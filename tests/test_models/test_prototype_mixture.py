import numpy as np
import torch

from sscl.models.algorithms import PrototypeMixture

LABELS = np.array([0, 0, 1])  # labeled set: two of class 0, one of class 1
ASSIGNED = np.array([0, 0, 1, 0, 1])  # unlabeled set's assigned classes
SIM = np.array([0.1, 0.9, 0.5, 0.8, 0.2])  # their cosine to the assigned prototype


def test_each_labeled_sample_is_paired_with_one_of_the_nearest_of_its_class():
    pairs = PrototypeMixture(alpha=1.0, num_nearest=1).draw_pairs(LABELS, ASSIGNED, SIM, 2, 0)
    # Omega_0 = {1} (0.9 beats 0.8 and 0.1), Omega_1 = {2} (0.5 beats 0.2)
    np.testing.assert_array_equal(pairs[:, :3], [[0, 1, 0], [1, 1, 0], [2, 2, 1]])
    assert ((pairs[:, 3] > 0) & (pairs[:, 3] < 1)).all()


def test_omega_defaults_to_the_labeled_count_and_draws_follow_the_seed():
    mixture = PrototypeMixture(alpha=0.5)
    pairs = mixture.draw_pairs(LABELS, ASSIGNED, SIM, 2, 7)
    assert set(pairs[:2, 1]) <= {1, 3}  # the 2 nearest of class 0, as it has 2 labels
    assert pairs[2, 1] == 2
    np.testing.assert_array_equal(pairs, mixture.draw_pairs(LABELS, ASSIGNED, SIM, 2, 7))
    assert not np.array_equal(pairs[:, 3], mixture.draw_pairs(LABELS, ASSIGNED, SIM, 2, 8)[:, 3])


def test_a_class_without_assigned_unlabeled_samples_is_not_mixed():
    pairs = PrototypeMixture().draw_pairs(LABELS, np.zeros(5, dtype=int), SIM, 2, 0)
    np.testing.assert_array_equal(pairs[:, 0], [0, 1])


def test_mix_is_the_lambda_weighted_sum_of_the_preprocessed_pair():
    batch = dict(
        a=torch.full((2, 1, 1, 1), 2.0),
        b=torch.zeros(2, 1, 1, 1),
        lam=torch.tensor([0.25, 1.0], dtype=torch.float64))

    def preprocess(data, training):
        return dict(inputs=data['inputs'] + 1)  # an affine preprocessing

    mixed = PrototypeMixture.mix(preprocess, batch)
    torch.testing.assert_close(mixed.flatten(), torch.tensor([0.25 * 3 + 0.75, 3.0]))

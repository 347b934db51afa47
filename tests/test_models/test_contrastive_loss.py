import math

import pytest
import torch

from sscl.models.losses import MultiPosMarginContrastiveLoss
from sscl.utils.errors import ConfigError


def literal(pos, alpha, neg, gamma, m):
    """log(1 + Σ_n exp(γ(s_n+m)) · Σ_p exp(−γ α_p s_p)), eq. 5 written out."""
    sn = sum(math.exp(gamma * (s + m)) for s in neg)
    sp = sum(math.exp(-gamma * a * s) for s, a in zip(pos, alpha))
    return math.log(1 + sn * sp)


def run(loss, pos, alpha, neg, pos_mask=None, neg_mask=None):
    pos_t, alpha_t, neg_t = (torch.tensor([x], dtype=torch.float64) for x in (pos, alpha, neg))
    pm = torch.ones_like(pos_t, dtype=torch.bool) if pos_mask is None else torch.tensor([pos_mask])
    nm = torch.ones_like(neg_t, dtype=torch.bool) if neg_mask is None else torch.tensor([neg_mask])
    return loss(pos_t, alpha_t, pm, neg_t, nm)


def test_hand_computed_value():
    loss = MultiPosMarginContrastiveLoss(gamma=2.0, margin=-0.25)
    # one positive s=0.5, one negative s=0.25: log(1 + e^{2(0.25-0.25)} e^{-2*0.5}) = log(1+e^-1)
    assert run(loss, [0.5], [1.0], [0.25]).item() == pytest.approx(math.log(1 + math.exp(-1)))


def test_matches_literal_formula():
    loss = MultiPosMarginContrastiveLoss(gamma=5.0, margin=-0.25, loss_weight=1.0)
    pos, alpha, neg = [0.9, 0.3, -0.2], [1.0, 0.5, 0.8], [0.1, -0.4, 0.6, 0.2]
    assert run(loss, pos, alpha, neg).item() == pytest.approx(literal(pos, alpha, neg, 5.0, -0.25))


def test_loss_weight_scales():
    pos, alpha, neg = [0.2], [1.0], [0.3]
    base = run(MultiPosMarginContrastiveLoss(gamma=5.0), pos, alpha, neg)
    assert run(MultiPosMarginContrastiveLoss(gamma=5.0, loss_weight=3.0), pos, alpha,
               neg).item() == pytest.approx(3 * base.item())


@pytest.mark.parametrize('gamma', [10.0, 1e4])
def test_finite_at_extreme_similarities(gamma):
    loss = MultiPosMarginContrastiveLoss(gamma=gamma, margin=-0.25)
    for pos, neg in (([-1.0], [1.0] * 1000), ([1.0], [-1.0] * 1000)):
        pos_t = torch.tensor([pos], requires_grad=True)
        neg_t = torch.tensor([neg], requires_grad=True)
        value = loss(pos_t, torch.ones_like(pos_t), torch.ones_like(pos_t, dtype=torch.bool), neg_t,
                     torch.ones_like(neg_t, dtype=torch.bool))
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(pos_t.grad).all()
        assert torch.isfinite(neg_t.grad).all()


def test_gradient_raises_positives_and_lowers_negatives():
    loss = MultiPosMarginContrastiveLoss(gamma=10.0, margin=-0.25)
    pos = torch.tensor([[0.3, 0.1]], requires_grad=True)
    neg = torch.tensor([[0.2, 0.4, -0.1]], requires_grad=True)
    loss(pos, torch.ones_like(pos), torch.ones_like(pos, dtype=torch.bool), neg,
         torch.ones_like(neg, dtype=torch.bool)).backward()
    # gradient descent moves along -grad: positives up, negatives down
    assert (pos.grad < 0).all() and (neg.grad > 0).all()


def test_single_positive_unit_alpha_is_margin_infonce():
    """P = 0, α = 1: softplus(LSE_n γ(s_n+m) − γ s_p) = −log softmax over [γ s_p, γ(s_n+m)]."""
    loss = MultiPosMarginContrastiveLoss(gamma=10.0, margin=-0.25)
    pos, neg = torch.tensor([[0.6]]), torch.tensor([[0.1, 0.5, -0.3]])
    value = loss(pos, torch.ones_like(pos), torch.ones_like(pos, dtype=torch.bool), neg,
                 torch.ones_like(neg, dtype=torch.bool))
    logits = torch.cat([10 * pos, 10 * (neg - 0.25)], dim=1)
    expected = -torch.log_softmax(logits, dim=1)[:, 0]
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


def test_masked_entries_have_no_effect():
    loss = MultiPosMarginContrastiveLoss(gamma=5.0)
    full = run(
        loss, [0.4, 0.9], [1.0, 1.0], [0.3, 0.95], pos_mask=[True, False], neg_mask=[True, False])
    small = run(loss, [0.4], [1.0], [0.3])
    assert full.item() == pytest.approx(small.item())


def test_alpha_is_not_differentiated():
    loss = MultiPosMarginContrastiveLoss(gamma=5.0)
    pos = torch.tensor([[0.5, 0.4]])
    alpha = torch.tensor([[1.0, 0.5]], requires_grad=True)
    neg = torch.tensor([[0.1]])
    value = loss(pos, alpha, torch.ones_like(pos, dtype=torch.bool), neg,
                 torch.ones_like(neg, dtype=torch.bool))
    assert not value.requires_grad


def test_term_weighting_hand_computed():
    loss = MultiPosMarginContrastiveLoss(gamma=2.0, margin=-0.25, pos_weighting='term')
    # positives s = 0.5 (α 1) and 0.25 (α 0.5), negative s = 0.25:
    # log(1 + e^0 · (e^{-1} + 0.5 e^{-0.5}))
    expected = math.log(1 + math.exp(-1) + 0.5 * math.exp(-0.5))
    assert run(loss, [0.5, 0.25], [1.0, 0.5], [0.25]).item() == pytest.approx(expected)


def test_zero_weight_positive_drops_out_only_with_term_weighting():
    """With eq. 5's weighting an α = 0 positive adds exp(0) = 1 to Σ_p and takes most of the
    gradient away from the own key; with 'term' it is as if it were masked out."""
    pos_sim = torch.tensor([[0.9, 0.1]], dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor([[1.0, 0.0]], dtype=torch.float64)  # own key, far class positive
    neg_sim = torch.tensor([[0.2, 0.3]], dtype=torch.float64)
    every = torch.ones(1, 2, dtype=torch.bool)
    grads = {}
    for weighting in ('similarity', 'term'):
        loss = MultiPosMarginContrastiveLoss(gamma=5.0, pos_weighting=weighting)
        value = loss(pos_sim, alpha, every, neg_sim, every)
        grads[weighting], = torch.autograd.grad(value, pos_sim)
        if weighting == 'term':
            masked = run(loss, [0.9, 0.1], [1.0, 1.0], [0.2, 0.3], pos_mask=[True, False])
            assert value.item() == pytest.approx(masked.item())
    assert grads['term'][0, 1] == 0 and grads['similarity'][0, 1] == 0
    assert abs(grads['similarity'][0, 0]) < abs(grads['term'][0, 0]) / 2  # 0.037 vs 0.112


def test_unknown_weighting_is_a_config_error():
    with pytest.raises(ConfigError, match="'both'"):
        MultiPosMarginContrastiveLoss(pos_weighting='both')


def literal_infonce(pos, alpha, neg, gamma, m):
    """Eq. 5's first line:
    −log Σ_p e^{γ(α_p s_p − m)} / (Σ_p e^{γ(α_p s_p − m)} + Σ_n e^{γ s_n})."""
    sp = sum(math.exp(gamma * (a * s - m)) for s, a in zip(pos, alpha))
    sn = sum(math.exp(gamma * s) for s in neg)
    return -math.log(sp / (sp + sn))


def test_infonce_form_matches_the_first_line_of_eq5():
    loss = MultiPosMarginContrastiveLoss(gamma=5.0, margin=-0.25, form='infonce')
    pos, alpha, neg = [0.9, 0.3, -0.2], [1.0, 0.5, 0.8], [0.1, -0.4, 0.6, 0.2]
    value = run(loss, pos, alpha, neg).item()
    assert value == pytest.approx(literal_infonce(pos, alpha, neg, 5.0, -0.25))
    # the two forms are not equal (the paper prints them as one)
    assert abs(value - literal(pos, alpha, neg, 5.0, -0.25)) > 0.1


def test_infonce_term_weighting_hand_computed():
    loss = MultiPosMarginContrastiveLoss(gamma=2.0, margin=0.0, form='infonce',
                                         pos_weighting='term')
    # Σ_p α_p e^{γ s_p} = 1·e^{1} + 0.5·e^{0}; one negative s = 0: −log(A / (A + 1))
    a = math.exp(1.0) + 0.5
    assert run(loss, [0.5, 0.0], [1.0, 0.5], [0.0]).item() == pytest.approx(-math.log(a / (a + 1)))


def test_gradient_favours_the_easiest_positive_in_infonce_and_the_hardest_in_circle():
    grads = {}
    for form in ('circle', 'infonce'):
        pos = torch.tensor([[0.9, 0.1]], dtype=torch.float64, requires_grad=True)
        neg = torch.tensor([[0.2, 0.0]], dtype=torch.float64)
        MultiPosMarginContrastiveLoss(gamma=5.0, form=form)(
            pos, torch.ones_like(pos), torch.ones_like(pos, dtype=torch.bool), neg,
            torch.ones_like(neg, dtype=torch.bool)).backward()
        grads[form] = -pos.grad[0]  # the pull on each positive
    assert grads['infonce'][0] > grads['infonce'][1] > 0  # easy (0.9) pulled hardest
    assert grads['circle'][1] > grads['circle'][0] > 0  # hard (0.1) pulled hardest


def test_unknown_form_is_a_config_error():
    with pytest.raises(ConfigError, match='form'):
        MultiPosMarginContrastiveLoss(form='line2')

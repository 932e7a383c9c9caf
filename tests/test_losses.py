"""Label smoothing (chapter 7): the teaching loss, and the fast path's closed form."""

import pytest
import torch

from annotated import losses
from annotated.losses import (
    LOG_TINY,
    FastLabelSmoothing,
    LabelSmoothing,
    make_criterion,
    smoothed_kl,
    smoothed_kl_from_logits,
    smoothed_targets,
)


def test_the_losses_live_in_annotated_losses():
    import annotated.fast
    import annotated.training

    for name in ("LabelSmoothing", "FastLabelSmoothing", "make_criterion", "smoothed_kl",
                 "smoothed_kl_from_logits", "smoothed_targets"):
        assert getattr(losses, name).__module__ == "annotated.losses", name
        assert not hasattr(annotated.fast, name), name  # fast.py keeps the model's fast path
    assert not hasattr(annotated.training, "FastLabelSmoothing")
    assert LOG_TINY == pytest.approx(torch.tensor(torch.finfo(torch.float32).tiny).log().item())


def test_make_criterion_picks_the_fast_loss_on_the_fast_path():
    assert type(make_criterion(7, 0, 0.1)) is LabelSmoothing
    fast = make_criterion(7, 0, 0.1, fast=True)
    assert type(fast) is FastLabelSmoothing and (fast.size, fast.smoothing) == (7, 0.1)


def test_label_smoothing_target_distribution():
    crit = LabelSmoothing(5, padding_idx=0, smoothing=0.4)
    x = torch.log_softmax(torch.randn(3, 5), dim=-1)
    crit(x, torch.tensor([2, 1, 0]))
    d = crit.true_dist
    assert d[0].tolist() == pytest.approx([0, 0.4 / 3, 0.6, 0.4 / 3, 0.4 / 3])
    assert d[2].sum() == 0  # a padded position teaches nothing
    assert (d[:, 0] == 0).all()


def test_label_smoothing_equals_kl_div_for_positive_probabilities():
    crit = LabelSmoothing(6, padding_idx=0, smoothing=0.1)
    x = torch.log_softmax(torch.randn(4, 6), dim=-1)
    target = torch.tensor([1, 3, 5, 0])
    ours = crit(x, target)
    ref = torch.nn.KLDivLoss(reduction="sum")(x, crit.true_dist)
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_label_smoothing_never_gives_inf_or_nan(smoothing):
    crit = LabelSmoothing(5, padding_idx=0, smoothing=smoothing)
    probs = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0],  # certain, but of the wrong token
                          [0.0, 0.5, 0.5, 0.0, 0.0],
                          [0.0, 0.0, 0.0, 0.0, 1.0]])
    x = probs.log().requires_grad_()  # log 0 = -inf
    loss = crit(x, torch.tensor([1, 3, 4]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    assert loss > 10  # a wrong certainty still costs a lot
    with pytest.raises(ValueError, match="smoothing"):
        LabelSmoothing(5, 0, 1.0)


def test_smoothed_targets_is_label_smoothings_distribution():
    target = torch.tensor([2, 1, 0, 3])
    q = smoothed_targets(target.tolist(), 5, 0, 0.4)
    crit = LabelSmoothing(5, 0, 0.4)
    crit(torch.log_softmax(torch.randn(4, 5), dim=-1), target)
    assert torch.equal(q, crit.true_dist)
    assert q[0].tolist() == pytest.approx([0, 0.4 / 3, 0.6, 0.4 / 3, 0.4 / 3])
    assert q[2].sum() == 0 and (q[:, 0] == 0).all()  # <pad> rows and column teach nothing
    torch.testing.assert_close(q[[0, 1, 3]].sum(-1), torch.ones(3))  # real rows: distributions


def smoothing_case(pad=2, V=11, N=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(N, V, generator=g) * 3
    target = torch.randint(0, V, (N,), generator=g)
    target[[1, 5]] = pad  # padded positions
    target[0] = (pad + 1) % V
    return logits, target


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("pad", [0, 2])
def test_fast_label_smoothing_gives_the_teaching_loss_and_gradient(smoothing, pad):
    logits, target = smoothing_case(pad)
    results = []
    for crit in (LabelSmoothing(11, pad, smoothing), FastLabelSmoothing(11, pad, smoothing)):
        x = logits.clone().requires_grad_()
        loss = crit(x.log_softmax(-1), target)
        (2.5 * loss).backward()  # an upstream gradient other than 1 reaches the custom backward
        results.append((loss.detach(), x.grad))
    (loss_t, grad_t), (loss_f, grad_f) = results
    assert loss_t > 0
    torch.testing.assert_close(loss_f, loss_t, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad_f, grad_t, rtol=1e-5, atol=1e-6)
    assert (grad_f[[1, 5]] == 0).all()  # padded rows teach nothing


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("pad", [0, 2])
def test_fast_loss_from_logits_fuses_log_softmax_and_gives_the_teaching_results(smoothing,
                                                                                pad):
    logits, target = smoothing_case(pad)
    logits = logits + 40.0  # a shift changes nothing but would expose a missing logsumexp
    results = []
    for crit in (LabelSmoothing(11, pad, smoothing), FastLabelSmoothing(11, pad, smoothing)):
        x = logits.clone().requires_grad_()
        loss = crit.from_logits(x, target)
        (2.5 * loss).backward()
        results.append((loss.detach(), x.grad))
    (loss_t, grad_t), (loss_f, grad_f) = results
    assert loss_t > 0 and grad_t.abs().sum() > 0
    torch.testing.assert_close(loss_f, loss_t, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad_f, grad_t, rtol=1e-5, atol=1e-6)
    assert (grad_f[[1, 5]] == 0).all()  # padded rows teach nothing
    assert FastLabelSmoothing(11, pad, smoothing).true_dist is None


def test_fast_loss_from_logits_at_training_size_matches_the_teaching_loss():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(64, 500, generator=g) * 4
    target = torch.randint(0, 500, (64,), generator=g)
    target[:5] = 0
    grads = []
    for crit in (LabelSmoothing(500, 0, 0.1), FastLabelSmoothing(500, 0, 0.1)):
        x = logits.clone().requires_grad_()
        (crit.from_logits(x, target) / 59).backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-7)


def test_fast_loss_from_logits_backpropagates_once_and_falls_back_where_it_clamps():
    fast, teach = FastLabelSmoothing(4, 0, 0.1), LabelSmoothing(4, 0, 0.1)
    x = torch.randn(3, 4).requires_grad_()
    loss = fast.from_logits(x, torch.tensor([1, 2, 3]))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="backpropagated once"):
        loss.backward()
    never = torch.tensor([[0.0, -1.0, -200.0, -2.0]])  # log p = -200 < LOG_TINY at id 2
    target = torch.tensor([1])
    loss = fast.from_logits(never, target)
    assert torch.isfinite(loss) and loss == teach.from_logits(never, target)
    assert fast.true_dist is not None  # the teaching code ran
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        fast.from_logits(never[:, :3], target)


def test_fast_label_smoothing_falls_back_where_the_teaching_loss_clamps():
    never = torch.tensor([[0.0, -1.0, float("-inf"), -2.0]]).log_softmax(-1)  # p = 0 at id 2
    target = torch.tensor([1])
    fast, teach = FastLabelSmoothing(4, 0, 0.1), LabelSmoothing(4, 0, 0.1)
    loss = fast(never, target)
    assert torch.isfinite(loss) and loss == teach(never, target)
    assert fast.true_dist is not None  # the teaching code ran
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        fast(never[:, :3], target)


def test_closed_forms_return_none_where_the_teaching_loss_clamps():
    log_p = torch.tensor([[-0.5, -1.0, -200.0, -2.0]])  # -200 < LOG_TINY
    target = torch.tensor([1])
    assert smoothed_kl(log_p, target, 0, 0.1, LOG_TINY) is None
    assert smoothed_kl(log_p.clamp(min=-50), target, 0, 0.1, LOG_TINY) is not None
    z = torch.tensor([[0.0, -1.0, -200.0, -2.0]])
    assert smoothed_kl_from_logits(z, target, 0, 0.1, LOG_TINY) is None
    z = z.clamp(min=-50)
    torch.testing.assert_close(smoothed_kl_from_logits(z, target, 0, 0.1, LOG_TINY),
                               LabelSmoothing(4, 0, 0.1).from_logits(z, target))

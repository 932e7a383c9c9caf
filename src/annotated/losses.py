"""Chapter 7: label smoothing, the loss a model trains with.

`LabelSmoothing` is the teaching loss: it builds the smoothed target q, an (N, V) tensor,
and sums q (log q - log p) over it. `FastLabelSmoothing` (the fast path trains with it)
computes the same loss and gradient in closed form (`smoothed_kl`): six passes over N x V
numbers and more in the backward become one. Since q takes only three values per row, the
same sum is a constant minus confidence * log p[target] minus eps * (the row's sum of log p
without target and <pad>): one pass forward, and a backward that writes -q once. Given the
generator's scores z instead (`smoothed_kl_from_logits`, what `train` uses), the
log-softmax joins the loss: the forward computes exp(z - max z) for logsumexp, and the
backward turns those same numbers into the gradient softmax(z) - q in place.

tests/test_losses.py proves both give the same losses and gradients.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# log of float32's smallest normal number: a probability of 0 costs this much, not infinity.
LOG_TINY = math.log(torch.finfo(torch.float32).tiny)


class LabelSmoothing(nn.Module):
    """KL divergence to a smoothed target: `1 - smoothing` on the right token, the rest spread.

    The rest is spread evenly over the vocabulary minus the right token and <pad>; rows whose
    target is <pad> count nothing. Returns the summed loss. Log-probabilities are clamped at
    log(float32 tiny), so a predicted probability of exactly 0 gives a large finite loss,
    never inf or NaN.
    """

    def __init__(self, size: int, padding_idx: int, smoothing: float = 0.0):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        if size < 3:
            raise ValueError(f"label smoothing needs a vocabulary of at least 3, got {size}")
        self.size = size
        self.padding_idx = padding_idx
        self.smoothing = smoothing
        self.confidence = 1.0 - smoothing
        self.true_dist: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """x: log-probabilities (N, V); target: ids (N,). Returns the summed KL divergence."""
        if x.dim() != 2 or x.size(1) != self.size:
            raise ValueError(f"expected log-probabilities of shape (N, {self.size}), "
                             f"got {tuple(x.shape)}")
        true_dist = torch.full_like(x, self.smoothing / (self.size - 2), dtype=torch.float32)
        true_dist.scatter_(1, target.unsqueeze(1), self.confidence)  # (N, V)
        true_dist[:, self.padding_idx] = 0
        true_dist[target == self.padding_idx] = 0  # padded positions teach nothing
        self.true_dist = true_dist
        log_p = x.float().clamp(min=LOG_TINY)  # (N, V); -inf (a zero probability) -> finite
        # sum q (log q - log p); xlogy gives 0 * log 0 = 0 for the zero entries of q.
        return (torch.xlogy(true_dist, true_dist) - true_dist * log_p).sum()

    def from_logits(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The same loss from the generator's scores before the softmax (N, V)."""
        return self(F.log_softmax(logits, dim=-1), target)


class FastLabelSmoothing(LabelSmoothing):
    """LabelSmoothing's loss and gradient in closed form (`smoothed_kl`),
    without building `true_dist`; from logits, fused with the log-softmax. The fast path
    trains with it."""

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.size(1) == self.size:  # else the teaching code names the error
            loss = smoothed_kl(x.float(), target, self.padding_idx, self.smoothing, LOG_TINY)
            if loss is not None:
                return loss
        return super().forward(x, target)

    def from_logits(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.dim() == 2 and logits.size(1) == self.size:
            loss = smoothed_kl_from_logits(logits.float(), target, self.padding_idx,
                                           self.smoothing, LOG_TINY)
            if loss is not None:
                return loss
        return super().from_logits(logits, target)


def make_criterion(size: int, padding_idx: int, smoothing: float, fast: bool = False
                   ) -> LabelSmoothing:
    """The loss `train` uses: LabelSmoothing, or on the fast path FastLabelSmoothing."""
    return (FastLabelSmoothing if fast else LabelSmoothing)(size, padding_idx, smoothing)


def smoothed_targets(target, size: int, padding_idx: int, smoothing: float) -> torch.Tensor:
    """The target distribution (N, V) that `LabelSmoothing` builds for the ids `target` (N,)."""
    target = torch.as_tensor(target)
    criterion = LabelSmoothing(size, padding_idx, smoothing)
    criterion(torch.zeros(len(target), size), target)  # any log-probabilities: we want q
    return criterion.true_dist


# ---------------------------------------------------------------- the closed form


def _closed_form(z: torch.Tensor, lse: torch.Tensor | None, target: torch.Tensor,
                 real: torch.Tensor, padding_idx: int, confidence: float, eps: float
                 ) -> torch.Tensor:
    """sum over real rows of KL(q || softmax(z)), with lse = logsumexp(z) (None: z is log p).

    Since q takes three values per row (confidence at the target, 0 at <pad>, eps elsewhere),
    sum_j q_j log p_j needs only log p at the target and the row's sum of log p.
    """
    V = z.size(1)
    z_t = z.gather(1, target.unsqueeze(1)).squeeze(1)  # (N,)
    rest = z.sum(dim=1) - z_t - z[:, padding_idx]  # (N,): the eps-weighted words
    if lse is not None:  # log p = z - lse
        z_t = z_t - lse
        rest = rest - (V - 2) * lse
    # sum_j q_j log q_j: the same for every real row (xlogy: 0 log 0 = 0 when eps = 0)
    entropy = (math.log(confidence) * confidence
               + (V - 2) * (eps * math.log(eps) if eps > 0 else 0.0))
    per_row = entropy - confidence * z_t - eps * rest  # (N,)
    return torch.where(real, per_row, 0.0).sum()


class _SmoothedKL(torch.autograd.Function):
    """sum over real rows of KL(q || p) for label smoothing's q, from log p, in closed form."""

    @staticmethod
    def forward(ctx, log_p: torch.Tensor, target: torch.Tensor, padding_idx: int,
                confidence: float, eps: float) -> torch.Tensor:
        real = target != padding_idx  # (N,): padded positions teach nothing
        ctx.save_for_backward(target, real)
        ctx.settings = (log_p.size(1), padding_idx, confidence, eps)
        return _closed_form(log_p, None, target, real, padding_idx, confidence, eps)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        target, real = ctx.saved_tensors
        V, padding_idx, confidence, eps = ctx.settings
        zero = grad.new_zeros(())
        # d loss / d log p = -q: -eps everywhere, -confidence at the target, 0 at <pad> and
        # on padded rows; written in one pass, then two narrow fixes.
        d = torch.where(real, -eps * grad, zero).unsqueeze(1).expand(-1, V).contiguous()
        d.scatter_(1, target.unsqueeze(1), torch.where(real, -confidence * grad, zero)
                   .unsqueeze(1))
        d[:, padding_idx] = 0.0
        return d, None, None, None, None


class _SmoothedKLFromLogits(torch.autograd.Function):
    """The same loss from the scores z before the softmax: log-softmax and loss in one.

    The gradient with respect to z is softmax(z) - q on real rows (0 on padded ones), written
    over the exponentials exp(z - max z) the forward computed for logsumexp: no
    log-probabilities, no -q, no log-softmax backward; one (N, V) tensor instead of four.
    """

    @staticmethod
    def forward(ctx, z: torch.Tensor, e: torch.Tensor, lse: torch.Tensor, total: torch.Tensor,
                target: torch.Tensor, padding_idx: int, confidence: float, eps: float
                ) -> torch.Tensor:
        real = target != padding_idx  # (N,)
        ctx.save_for_backward(e, total, target, real)
        ctx.settings = (padding_idx, confidence, eps)
        ctx.used = False
        return _closed_form(z, lse, target, real, padding_idx, confidence, eps)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        if ctx.used:  # the exponentials saved in the forward have become the gradient
            raise RuntimeError("the fast label-smoothing loss can be backpropagated once; "
                               "compute the loss again (or use LabelSmoothing) to retain it")
        ctx.used = True
        d, total, target, real = ctx.saved_tensors
        padding_idx, confidence, eps = ctx.settings
        w = torch.where(real, grad, 0.0).unsqueeze(1)  # (N, 1): padded rows teach nothing
        d.mul_(w / total.unsqueeze(1)).sub_(eps * w)  # (N, V): g (softmax - eps), two passes
        d.scatter_add_(1, target.unsqueeze(1), (eps - confidence) * w)  # -q at the target
        d[:, padding_idx] += (eps * w).squeeze(1)  # q = 0 at <pad>
        return d, None, None, None, None, None, None, None


def smoothed_kl(log_p: torch.Tensor, target: torch.Tensor, padding_idx: int,
                smoothing: float, log_floor: float) -> torch.Tensor | None:
    """`LabelSmoothing`'s summed loss in closed form, or None where it would differ.

    log_p: float32 log-probabilities (N, V); target: ids (N,). The teaching loss clamps
    log p at `log_floor`; when some entry is below it (a probability of 0, say), this
    returns None and the caller computes the teaching loss instead.
    """
    if bool(log_p.amin() < log_floor):  # also True for -inf; NaN stays NaN on both paths
        return None
    V = log_p.size(1)
    return _SmoothedKL.apply(log_p, target, padding_idx, 1.0 - smoothing, smoothing / (V - 2))


def smoothed_kl_from_logits(z: torch.Tensor, target: torch.Tensor, padding_idx: int,
                            smoothing: float, log_floor: float) -> torch.Tensor | None:
    """`smoothed_kl` of log_softmax(z), computed from the float32 scores z (N, V), or None
    where the teaching loss would clamp (some log p below `log_floor`)."""
    with torch.no_grad():
        top = z.amax(dim=1, keepdim=True)  # (N, 1)
        e = torch.sub(z, top).exp_()  # (N, V): unnormalised softmax; becomes the gradient
        total = e.sum(dim=1)  # (N,)
        lse = top.squeeze(1) + total.log()  # (N,): logsumexp(z)
        if bool((z.amin(dim=1) - lse).amin() < log_floor):  # NaN stays NaN, as on the
            return None  # teaching path
    V = z.size(1)
    return _SmoothedKLFromLogits.apply(z, e, lse, total, target, padding_idx,
                                       1.0 - smoothing, smoothing / (V - 2))

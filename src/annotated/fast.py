"""The fast path: the same model and weights, computed with fewer, bigger operations.

`ModelConfig(..., fast=True)` (or `make_fast(model)` on a model you already have) swaps two
kinds of modules and keeps every parameter, so state dicts and checkpoints move freely
between the teaching path and the fast path:

- `FusedMultiHeadedAttention`: self-attention projects Q, K and V with ONE matrix product
  (the three weight matrices stacked, 3D x D), cross-attention K and V with one, then calls
  PyTorch's fused scaled_dot_product_attention. Training on the CPU with attention dropout,
  it computes the softmax explicitly instead (PyTorch's CPU kernel has no dropout and falls
  back to the same math). Asked for weights (`keep_attention`, backend "naive") or given a
  decoding cache, it runs the teaching code unchanged.
- `FastDropout`: on the CPU, draws its keep mask from 16 random bits per element (a few
  times faster than `torch.bernoulli`, which dominates a small model's CPU step). It drops
  with probability round(p * 65536) / 65536 and scales the kept values so the expected
  output equals the input. On GPUs and under torch.compile it is `nn.Dropout`.

Training with `fast` also swaps two things outside the model (`annotated.training.train`):
`losses.FastLabelSmoothing`, label smoothing's loss in closed form, and Adam with
`fused=True`, one kernel per step instead of a dozen passes over the parameters.

tests/test_fast.py proves both paths give the same outputs and gradients.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import masked_fill_value, validate_mask
from .multihead import KVCache, MultiHeadedAttention

RANDOM_BITS = 16
LEVELS = 1 << RANDOM_BITS  # a drop probability is rounded to a multiple of 1 / 65,536


def _uniform_int16(shape: torch.Size | tuple[int, ...], device: torch.device | str
                   ) -> torch.Tensor:
    """Uniform int16 draws of `shape`: four from each 64-bit random word."""
    n = 1
    for size in shape:
        n *= size
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device)
    words.random_(-(2**63), 2**63 - 1)  # the upper bound is exclusive: a 2^-64 bias, harmless
    return words.view(torch.int16)[:n].view(shape)  # each in [-32768, 32767]


def _threshold(p: float) -> tuple[int, float]:
    """The int16 draw at and above which an entry is kept, and the keep probability."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    dropped = round(p * LEVELS)
    return dropped - LEVELS // 2, 1.0 - dropped / LEVELS


def keep_mask(shape: torch.Size | tuple[int, ...], p: float,
              device: torch.device | str = "cpu") -> tuple[torch.Tensor, float]:
    """A bool mask of `shape`, each entry True with probability 1 - p' where p' is p
    rounded to a multiple of 1/65536; returns (mask, 1 - p')."""
    threshold, q = _threshold(p)
    return _uniform_int16(shape, device) >= threshold, q


class FastDropout(nn.Dropout):
    """nn.Dropout whose CPU mask comes from 16 random bits per element (see `keep_mask`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (not self.training or self.p == 0.0 or x.device.type != "cpu"
                or torch.compiler.is_compiling()):  # torch.compile has its own fast dropout
            return super().forward(x)
        threshold, q = _threshold(self.p)
        draws = _uniform_int16(x.shape, x.device)
        # The same draws as keep_mask, compared straight into a float mask of 0 and 1, then
        # scaled to 0 and 1/(1-p): the backward reuses it (the fewest passes over memory).
        scale = torch.ge(draws, threshold, out=torch.empty_like(x)).mul_(1.0 / q)
        return x * scale  # dropped -> 0, kept -> x / (1 - p)


def _heads(x: torch.Tensor, n: int, h: int, d_k: int) -> torch.Tensor:
    """(B, T, n * D) -> (n, B, H, T, d_k): split the n fused projections, then the heads."""
    return x.unflatten(-1, (n, h, d_k)).permute(2, 0, 3, 1, 4)


def _explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        mask: torch.Tensor | None, dropout: nn.Module) -> torch.Tensor:
    """`attention()` with fewer passes: masked in place, rows that see nothing zeroed only
    when there are some."""
    scores = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(q.size(-1)))  # (B, H, Tq, Tk)
    if mask is not None:
        scores.masked_fill_(~mask, masked_fill_value(scores.dtype))  # a fresh tensor: in place
    p_attn = scores.softmax(dim=-1)  # (B, H, Tq, Tk)
    if mask is not None:
        sees = mask.any(dim=-1, keepdim=True)  # (B, 1, Tq, 1)
        if not bool(sees.all()):
            p_attn = p_attn.masked_fill(~sees, 0.0)  # as attention() and sdpa: zeros, no NaN
    return dropout(p_attn) @ v  # (B, H, Tq, d_k)


class FusedMultiHeadedAttention(MultiHeadedAttention):
    """MultiHeadedAttention with Q, K, V projected by one fused matrix product (same weights)."""

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        # Decoding, pictures, and chapter 10's grouped key/value heads or rotary positions
        # (their K and V are not the fused shapes): the teaching code, the same weights.
        if (cache is not None or self.uses_weights or self.kv_heads != self.h
                or self.rope is not None):
            return super().forward(query, key, value, mask, cache)
        h, d_k = self.h, self.d_k
        W_q, W_k, W_v, W_o = self.linears
        if query is key and key is value:  # self-attention
            weight = torch.cat([W_q.weight, W_k.weight, W_v.weight])  # (3D, D)
            bias = torch.cat([W_q.bias, W_k.bias, W_v.bias])  # (3D,)
            q, k, v = _heads(F.linear(query, weight, bias), 3, h, d_k)  # (B, H, T, d_k) each
        else:
            q = _heads(W_q(query), 1, h, d_k)[0]  # (B, H, Tq, d_k)
            if key is value:  # cross-attention: K and V from the same memory
                weight = torch.cat([W_k.weight, W_v.weight])  # (2D, D)
                bias = torch.cat([W_k.bias, W_v.bias])  # (2D,)
                k, v = _heads(F.linear(key, weight, bias), 2, h, d_k)  # (B, H, Tk, d_k)
            else:
                k, v = _heads(W_k(key), 1, h, d_k)[0], _heads(W_v(value), 1, h, d_k)[0]
        B, Tq, Tk = q.size(0), q.size(2), k.size(2)
        if mask is not None:
            mask = validate_mask(mask, (B, Tq, Tk)).unsqueeze(1)  # (B, 1, Tq, Tk)
        self.attn = None
        if (self.training and self.dropout.p > 0 and q.device.type == "cpu"
                and not torch.compiler.is_compiling()):
            # PyTorch's CPU kernel has no dropout: with it, sdpa falls back to the same
            # explicit math, with a slower random mask than FastDropout's.
            x = _explicit_attention(q, k, v, mask, self.dropout)  # (B, H, Tq, d_k)
        else:
            p = self.dropout.p if self.training else 0.0
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        return W_o(x.transpose(1, 2).flatten(2))  # (B, H, Tq, d_k) -> (B, Tq, D) -> (B, Tq, D)


def _swap(model: nn.Module, old: type[nn.Module], make) -> None:
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is old:
                setattr(parent, name, make(child))


def _fused(m: MultiHeadedAttention) -> FusedMultiHeadedAttention:
    m.__class__ = FusedMultiHeadedAttention  # same parameters, submodules and settings
    return m


def _fast_dropout(m: nn.Dropout) -> FastDropout:
    new = FastDropout(m.p, m.inplace)
    new.train(m.training)
    return new


def make_fast(model: nn.Module) -> nn.Module:
    """Switch `model` to the fast path in place (its parameters are kept) and return it."""
    if type(model) is MultiHeadedAttention:
        model = _fused(model)
    _swap(model, MultiHeadedAttention, _fused)
    _swap(model, nn.Dropout, _fast_dropout)
    return model

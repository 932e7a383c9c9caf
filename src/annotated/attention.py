"""Chapter 3: scaled dot-product attention, softmax(Q K^T / sqrt(d_k)) V."""

from __future__ import annotations

import math

import torch
from torch import nn

BACKENDS = ("naive", "sdpa", "auto")


def validate_backend(backend: str) -> str:
    """Return `backend` if it names an attention backend, else raise a clear error."""
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown attention backend {backend!r}; choose one of {', '.join(BACKENDS)} "
            "('naive' keeps the weights for pictures, 'sdpa' is PyTorch's fused kernel, "
            "'auto' uses sdpa unless weights are asked for)"
        )
    return backend


def validate_mask(mask: torch.Tensor, scores_shape: tuple[int, ...]) -> torch.Tensor:
    """Return `mask` as a bool tensor (True = may attend) after checking it fits the scores."""
    if mask.is_floating_point():
        raise TypeError(
            f"mask must be bool (True = may attend) or 0/1 integers, got dtype {mask.dtype}; "
            "an additive float mask (0 / -inf) is not supported here: pass mask == 0 instead"
        )
    try:
        torch.broadcast_shapes(tuple(mask.shape), tuple(scores_shape))
    except RuntimeError:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} cannot broadcast to the attention scores of "
            f"shape {tuple(scores_shape)} (..., queries, keys); use (B, 1, keys) for padding "
            "or (B, queries, keys) / (1, queries, keys) for a causal mask"
        ) from None
    return mask if mask.dtype == torch.bool else mask != 0


def masked_fill_value(dtype: torch.dtype) -> float:
    """The most negative finite number of `dtype`: the article's -1e9 overflows float16."""
    return torch.finfo(dtype).min


def attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout: nn.Dropout | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention; returns (output, weights). Mask True/1 = may attend."""
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)  # (..., Tq, d_k) @ (..., d_k, Tk)
    if mask is not None:
        mask = validate_mask(mask, scores.shape)
        # The dtype's finite minimum, not -inf: a row whose keys are all masked then gives
        # exp(0) / n instead of 0 / 0 = NaN; we zero it below, as PyTorch's fused kernel does.
        scores = scores.masked_fill(~mask, masked_fill_value(scores.dtype))
    p_attn = scores.softmax(dim=-1)  # (..., Tq, Tk), each row sums to 1
    if mask is not None:
        p_attn = p_attn.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)  # may see nothing
    if dropout is not None:
        p_attn = dropout(p_attn)
    return p_attn @ value, p_attn  # (..., Tq, d_v), (..., Tq, Tk)

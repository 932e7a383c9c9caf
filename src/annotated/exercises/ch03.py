"""Chapter 3 exercise: scaled dot-product attention, returning (output, weights)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..attention import attention
from .grading import Mistake, Result, check_function, describe_difference


def _reference(query, key, value, mask=None):
    return attention(query, key, value, mask)


def _variant(query, key, value, mask=None, *, scale=None, dim=-1, use_mask=True,
             invert=False):
    """Attention with one thing changed: the scale, the softmax axis, or the mask."""
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / (math.sqrt(d_k) if scale is None else scale(d_k))
    if mask is not None and use_mask:
        hide = mask != 0 if invert else mask == 0
        scores = scores.masked_fill(hide, -1e9)
    weights = scores.softmax(dim=dim)
    return weights @ value, weights


def _cases() -> list[tuple]:
    gen = torch.Generator().manual_seed(3)

    def r(*shape):
        return torch.randn(*shape, generator=gen)

    # Tq != Tk != d_v, so a wrong axis or a swapped return is visible; no row fully masked.
    padding = torch.tensor([[[True, True, True, False, False]],
                            [[True, True, True, True, False]]])  # (B, 1, Tk)
    # Each row keeps some keys and hides others, so an inverted mask hides no row entirely.
    pattern = torch.tensor([[1, 0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1], [1, 0, 0, 1]],
                           dtype=torch.bool)  # (Tq, Tk)
    return [
        (r(2, 3, 8), r(2, 5, 8), r(2, 5, 6), None),
        (r(2, 3, 8), r(2, 5, 8), r(2, 5, 6), padding),
        (r(1, 4, 16), r(1, 4, 16), r(1, 4, 2), pattern),
    ]


def _describe_case(args: tuple, out, expected) -> str:
    q, k, v, mask = args
    shapes = (f"query {tuple(q.shape)}, key {tuple(k.shape)}, value {tuple(v.shape)} and "
              + ("no mask" if mask is None else f"a mask of shape {tuple(mask.shape)}"))
    return f"with {shapes}, {describe_difference(out, expected)}"


def check_attention(attempt: Callable) -> Result:
    """Grade `my_attention(query, key, value, mask=None)` -> (output, weights)."""
    return check_function(
        attempt, _reference, _cases(),
        todo="Write my_attention(query, key, value, mask=None): scores = query @ key^T / "
             "sqrt(d_k) with d_k = query.size(-1); where mask is False (0) set the score to a "
             "very negative number (masked_fill); softmax over the last axis (the keys); "
             "return (weights @ value, weights).",
        mistakes=[
            Mistake(lambda q, k, v, m=None: _variant(q, k, v, m, scale=lambda d: 1.0),
                    "divide the scores by sqrt(d_k): without it they grow with d_k and the "
                    "softmax saturates."),
            Mistake(lambda q, k, v, m=None: _variant(q, k, v, m, scale=lambda d: d),
                    "divide by the square root of d_k (math.sqrt(d_k)), not by d_k."),
            Mistake(lambda q, k, v, m=None: _variant(q, k, v, m, dim=-2),
                    "take the softmax over the last axis (dim=-1, the keys): each query's "
                    "weights must sum to 1."),
            Mistake(lambda q, k, v, m=None: _variant(q, k, v, m, use_mask=False),
                    "the mask is ignored: fill the scores where mask is False (0) with a very "
                    "negative number before the softmax."),
            Mistake(lambda q, k, v, m=None: _variant(q, k, v, m, invert=True),
                    "the mask is inverted: True (1) means 'may attend'; hide the places where "
                    "it is False, e.g. scores.masked_fill(mask == 0, -1e9)."),
            Mistake(lambda q, k, v, m=None: _variant(q, k, v, m)[::-1],
                    "return (output, weights) in that order."),
        ],
        describe=_describe_case,
        success="Correct! Compare with annotated.attention, which also copes with fully "
                "masked rows and float16.",
    )

"""Chapter 5 exercises: build a causal mask; apply a mask inside softmax."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..attention import masked_fill_value
from ..masks import subsequent_mask
from .grading import Mistake, Result, check_function, describe_difference


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis where `mask` is True, zeros where a row sees nothing: the
    reference answer."""
    weights = _fill_softmax(scores, mask)
    return weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)


def _fill_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return scores.masked_fill(~mask, masked_fill_value(scores.dtype)).softmax(dim=dim)


def _ones(size: int) -> torch.Tensor:
    return torch.ones(1, size, size, dtype=torch.bool)


def check_causal_mask(attempt: Callable) -> Result:
    """Grade `causal_mask(size)`: a (1, size, size) bool mask, True where key j <= query i."""
    return check_function(
        attempt, subsequent_mask, [(1,), (4,), (6,)],
        todo="Return a (1, size, size) bool tensor that is True on and below the diagonal "
             "(query i may see keys 0..i). torch.tril keeps the lower triangle of a matrix.",
        mistakes=[
            Mistake(lambda n: torch.tril(_ones(n)).float(),
                    "the values are right but the dtype is not bool: attention's masks "
                    "are bool (True = may attend). Add .bool() or build it from a bool "
                    "tensor."),
            Mistake(lambda n: torch.triu(_ones(n), diagonal=1),
                    "you returned the positions to hide. In this course True means 'may "
                    "attend': invert it (~mask), or build it with torch.tril."),
            Mistake(lambda n: torch.triu(_ones(n)),
                    "this upper triangle lets word i see the words after it: the future. "
                    "Keep the lower triangle (torch.tril) instead."),
            Mistake(lambda n: torch.tril(_ones(n), diagonal=-1),
                    "the diagonal is hidden, so a word cannot look at itself (and the first "
                    "word sees nothing at all). Use diagonal=0."),
        ],
        success="Correct! Word i may look at words 0..i and never ahead.",
    )


def _cases_softmax() -> list[tuple]:
    g = torch.Generator().manual_seed(5)
    scores = torch.randn(2, 3, 4, generator=g) * 3  # (B, queries, keys)
    pads = torch.tensor([[[True, True, True, False]], [[True, True, False, False]]])  # (B, 1, 4)
    causal = subsequent_mask(4)  # (1, 4, 4)
    blind = causal.clone()
    blind[0, 0] = False  # the first query may see no key at all
    return [(scores, pads), (torch.randn(1, 4, 4, generator=g), causal),
            (torch.randn(1, 4, 4, generator=g), blind),
            (scores.half(), pads)]  # float16 last: the article's -1e9 fails there


def _describe_softmax(args: tuple, out, expected) -> str:
    scores, mask = args
    if isinstance(out, torch.Tensor) and torch.isnan(out).any():
        return ("your result has NaN: a row whose keys are all hidden gives 0 / 0 after a "
                "-inf fill. Fill with masked_fill_value(scores.dtype) and set such rows to 0 "
                "(mask.any(dim=-1, keepdim=True) is False there)")
    kind = "float16" if scores.dtype == torch.float16 else "float32"
    return (f"on {kind} scores of shape {tuple(scores.shape)} with a mask of shape "
            f"{tuple(mask.shape)}, {describe_difference(out, expected)}")


def check_masked_softmax(attempt: Callable) -> Result:
    """Grade `masked_softmax(scores, mask)`: softmax where the mask is True, 0 elsewhere."""
    return check_function(
        attempt, masked_softmax, _cases_softmax(),
        todo="Fill the scores where mask is False with a huge negative number, then softmax "
             "over the last axis. Use masked_fill_value(scores.dtype) (imported from "
             "annotated.attention), not -1e9: float16 cannot hold -1e9.",
        mistakes=[
            Mistake(lambda s, m: s.softmax(dim=-1) * m,
                    "you zeroed the weights after softmax, so the rows no longer sum to 1. "
                    "Mask the scores before the softmax instead."),
            Mistake(lambda s, m: s.masked_fill(m, masked_fill_value(s.dtype)).softmax(dim=-1),
                    "you hid the positions where the mask is True. True means 'may attend': "
                    "fill where it is False (~mask, or mask == 0)."),
            Mistake(_fill_softmax,
                    "almost: a row whose keys are all hidden comes out uniform (it averages "
                    "hidden keys). Set such rows to 0: mask.any(dim=-1, keepdim=True) is "
                    "False exactly there."),
            Mistake(lambda s, m: _fill_softmax(s, m, dim=-2),
                    "your softmax ran over the queries (dim=-2). Each query's weights over "
                    "the keys must sum to 1: softmax(dim=-1)."),
        ],
        describe=_describe_softmax,
        atol=2e-3,  # float16 rounding: a float32 computation cast back is right too
        success="Correct! Hidden keys get exactly 0 and each row still sums to 1, in "
                "float16 too.",
    )

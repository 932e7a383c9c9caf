"""Chapter 5 exercises: build a causal mask; apply a mask inside softmax."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..attention import masked_fill_value
from ..masks import subsequent_mask
from .grading import Mistake, Result, check_function


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis where `mask` is True: the reference answer."""
    return scores.masked_fill(~mask, masked_fill_value(scores.dtype)).softmax(dim=-1)


def _ones(size: int) -> torch.Tensor:
    return torch.ones(1, size, size, dtype=torch.bool)


def check_causal_mask(attempt: Callable) -> Result:
    """Grade `causal_mask(size)`: a (1, size, size) bool mask, True where key j <= query i."""
    return check_function(
        attempt, subsequent_mask, [(1,), (4,), (6,)],
        todo="Return a (1, size, size) bool tensor that is True on and below the diagonal "
             "(query i may see keys 0..i), e.g. with torch.tril(torch.ones(...)).bool().",
        mistakes=[
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
    return [(scores, pads), (torch.randn(1, 4, 4, generator=g), causal),
            (scores.half(), pads)]  # float16 last: the article's -1e9 fails there


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
        ],
        success="Correct! Hidden keys get exactly 0 and each row still sums to 1, in "
                "float16 too.",
    )

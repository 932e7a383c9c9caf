"""Chapter 1 exercises: the scaled embedding lookup, and nearest neighbours by cosine."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..embeddings import nearest_neighbours
from .grading import Mistake, Result, check_function


def _embed(ids: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    return table[ids] * math.sqrt(table.size(1))  # (B, S) -> (B, S, D)


def _embed_cases() -> list[tuple]:
    gen = torch.Generator().manual_seed(1)
    return [
        (torch.tensor([[1, 2, 3, 4]]), torch.randn(6, 16, generator=gen)),
        (torch.tensor([[0, 5], [2, 2]]), torch.randn(7, 9, generator=gen)),
    ]


def check_embed(attempt: Callable) -> Result:
    """Grade `my_embed(ids, table)`: the rows of `table` (V, D) for `ids` (B, S), times sqrt(D)."""
    return check_function(
        attempt, _embed, _embed_cases(),
        todo="Write my_embed(ids, table): look up the row of `table` for each id (section 3 "
             "shows the fast way), then scale it as Embeddings.forward does, with d_model "
             "taken from the table itself. Return a (B, S, D) tensor.",
        mistakes=[
            Mistake(lambda ids, t: t[ids], "you looked the rows up but forgot to multiply them "
                                           "by sqrt(d_model)."),
            Mistake(lambda ids, t: t[ids] * t.size(1), "multiply by the square root of d_model, "
                                                       "not by d_model itself."),
            Mistake(lambda ids, t: t[ids] / math.sqrt(t.size(1)),
                    "multiply by sqrt(d_model); you divided."),
            Mistake(lambda ids, t: t[ids] * math.sqrt(512),
                    "you used the notebook's d_model = 512, but the grader's tables are (6, 16) "
                    "and (7, 9): take d_model from the table, table.size(1)."),
            Mistake(lambda ids, t: t[ids] * math.sqrt(t.size(0)),
                    "d_model is table.size(1), the vector length; table.size(0) is the "
                    "vocabulary size."),
        ],
        success="Correct! This is what Embeddings.forward computes.",
    )


def _nearest(table: torch.Tensor, index: int, k: int) -> torch.Tensor:
    return nearest_neighbours(table, index, k)[0]


def _nearest_cases() -> list[tuple]:
    # Rows of very different lengths: ranking by plain dot product gives other neighbours.
    table = torch.tensor([
        [1.0, 0.0, 0.0],
        [0.9, 0.1, 0.0],
        [5.0, 5.0, 0.0],
        [0.0, 1.0, 0.1],
        [-1.0, 0.2, 0.0],
        [0.5, 0.0, 0.5],
    ])  # (V, D)
    return [(table, 0, 2), (table, 3, 3), (table, 5, 1)]


def check_nearest(attempt: Callable) -> Result:
    """Grade `my_nearest(table, index, k)`: ids of the k rows most cosine-similar to row index."""

    def by_dot(table, index, k):
        sims = table @ table[index]
        sims[index] = -float("inf")
        return sims.topk(k).indices

    def with_self(table, index, k):
        unit = torch.nn.functional.normalize(table, dim=-1)
        return (unit @ unit[index]).topk(k).indices

    return check_function(
        attempt, _nearest, _nearest_cases(),
        todo="Write my_nearest(table, index, k): the cosine similarity of two rows is their "
             "dot product once both have length 1. Compare every row with row `index` that "
             "way, leave `index` itself out, and return the ids of the k most similar, most "
             "similar first (torch has a function for the k largest values).",
        mistakes=[
            Mistake(by_dot, "rank by cosine similarity: normalise the rows first, or long "
                            "vectors win whatever their direction."),
            Mistake(with_self, "a word is always most similar to itself: leave row `index` out "
                               "(set its similarity to -inf before topk)."),
        ],
        success="Correct! The same ranking as annotated.embeddings.nearest_neighbours.",
    )

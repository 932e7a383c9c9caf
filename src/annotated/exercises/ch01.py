"""Chapter 1 exercises: predict the scale of the embedding, rank neighbours by cosine."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch

from ..embeddings import nearest_neighbours
from .grading import Mistake, Result, check_function, read_prediction, within

SCALE_KEYS = ("scaled", "unscaled")
SCALE_VOCAB = 1000  # V in the exercise: the vocabulary of section 4's table


def _measured_scale_ratios(seed: int = 0) -> dict[str, float]:
    """RMS at d_model 1024 over RMS at 512, for a Xavier-uniform (V, D) table as make_model
    starts it, with V = SCALE_VOCAB."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key in SCALE_KEYS:
        sizes = []
        for d in (512, 1024):
            bound = math.sqrt(6 / (SCALE_VOCAB + d))
            table = torch.empty(SCALE_VOCAB, d).uniform_(-bound, bound, generator=gen)  # (V, D)
            rms = table.pow(2).mean().sqrt().item()
            sizes.append(rms * math.sqrt(d) if key == "scaled" else rms)
        out[key] = sizes[1] / sizes[0]
    return out


def scale_ratios(vocab: int = SCALE_VOCAB) -> dict[str, float]:
    """The exact ratios (d_model 1024 over 512) for a Xavier start: std sqrt(2 / (V + D))."""
    unscaled = math.sqrt((vocab + 512) / (vocab + 1024))
    return {"scaled": unscaled * math.sqrt(2), "unscaled": unscaled}


def check_scale_prediction(prediction) -> Result:
    """Grade a prediction {"scaled": r1, "unscaled": r2}: how the RMS of one embedding entry
    changes (new / old) when d_model doubles from 512 to 1024, with a table of V = 1000 words
    that starts as make_model starts it (Xavier uniform), with and without sqrt(d_model)."""
    todo = ("Predict before you measure. The table has V = 1000 rows and starts like "
            "make_model's, Xavier, whose spread depends on V and d_model together. Fill in "
            "prediction = {'scaled': ..., 'unscaled': ...}, each as a ratio: the typical size "
            "of one entry at d_model = 1024 divided by its size at d_model = 512.")
    numbers = read_prediction(prediction, SCALE_KEYS, todo)
    if isinstance(numbers, Result):
        return numbers
    scaled, unscaled = numbers

    near = partial(within, rel=0.03)  # a prediction off by up to 3% is right
    root2 = math.sqrt(2)
    right = scale_ratios()
    if near(scaled, right["unscaled"]) and near(unscaled, right["scaled"]):
        return Result(False, "Not yet: the two answers are swapped. Which of the two tables "
                             "shrinks as d_model grows, and which one is multiplied back up?")
    if near(scaled, 1.0) and near(unscaled, 1 / root2):
        return Result(False, "Not yet: those are the ratios of Tensor2Tensor's N(0, 1/D) start, "
                             "whose spread depends on d_model alone. Xavier's spread depends on "
                             "V + d_model, and V = 1000 does not double.")
    if not near(unscaled, right["unscaled"]):
        v, d = SCALE_VOCAB, 512
        why = {
            1 / root2: "that holds for a spread that depends on d_model alone. Xavier's "
                       "depends on V + d_model: how much does V + d_model grow?",
            (v + d) / (v + 2 * d): "the spread is a square root of 2 / (V + d_model): take "
                                   "the square root of your ratio.",
            1.0: "the Xavier start does change: d_model is part of V + d_model.",
            root2: "a larger d_model gives a smaller start, not a larger one.",
        }
        hint = next((h for r, h in why.items() if near(unscaled, r)),
                    "work out the Xavier spread sqrt(2 / (V + d_model)) at 512 and at 1024, "
                    "with V = 1000, and divide.")
        return Result(False, f"Not yet (unscaled): {hint}")
    if not near(scaled, right["scaled"]):
        why = {
            1.0: "that would need the start to shrink by sqrt(2), as N(0, 1/D) does. Xavier's "
                 "shrinks by less, and the factor still grows by sqrt(2).",
            right["unscaled"]: "that is the table without the factor. What does the factor "
                               "do to it?",
            2 * right["unscaled"]: "the factor is the square root of d_model: doubling d_model "
                                   "multiplies it by sqrt(2), not by 2.",
        }
        hint = next((h for r, h in why.items() if near(scaled, r)),
                    "multiply the change of the start by the change of the factor.")
        return Result(False, f"Not yet (scaled): {hint}")
    measured = _measured_scale_ratios()
    return Result(True, "Correct! Measured on random Xavier tables of 1000 words: scaled "
                        f"{measured['scaled']:.3f}, unscaled {measured['unscaled']:.3f}. "
                        "Xavier's spread shrinks more slowly than 1/sqrt(d_model), so with the "
                        "factor the entries grow with the width: only the N(0, 1/D) start "
                        "gives the same size at every d_model.")


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
        todo="Write my_nearest(table, index, k): rank the rows by how closely their direction "
             "matches row `index`, whatever their lengths, leave the word itself out, and "
             "return the ids of the k most similar, most similar first.",
        mistakes=[
            Mistake(by_dot, "rank by cosine similarity: normalise the rows first, or long "
                            "vectors win whatever their direction."),
            Mistake(with_self, "a word is always most similar to itself: leave row `index` out "
                               "(set its similarity to -inf before topk)."),
        ],
        success="Correct! The same ranking as annotated.embeddings.nearest_neighbours. Now run it "
                "on the trained table below.",
    )

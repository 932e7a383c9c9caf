"""Chapter 1 exercises: predict the scale of the embedding, rank neighbours by cosine."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..embeddings import nearest_neighbours
from .grading import Mistake, Result, check_function

SCALE_KEYS = ("scaled", "unscaled")


def _measured_scale_ratios(seed: int = 0) -> dict[str, float]:
    """RMS at d_model 1024 over RMS at 512, for a Tensor2Tensor-style N(0, 1/D) table."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key in SCALE_KEYS:
        sizes = []
        for d in (512, 1024):
            table = torch.randn(1000, d, generator=gen) * d**-0.5  # (V, D)
            rms = table.pow(2).mean().sqrt().item()
            sizes.append(rms * math.sqrt(d) if key == "scaled" else rms)
        out[key] = sizes[1] / sizes[0]
    return out


def check_scale_prediction(prediction) -> Result:
    """Grade a prediction {"scaled": r1, "unscaled": r2}: how the RMS of one embedding entry
    changes (new / old) when d_model doubles from 512 to 1024, with the table starting at
    N(0, 1/d_model) as in Tensor2Tensor, with and without the factor sqrt(d_model)."""
    todo = ("Predict before you measure. The table starts with entries of standard deviation "
            "1/sqrt(d_model), and the lookup multiplies them by sqrt(d_model). Fill in "
            "prediction = {'scaled': ..., 'unscaled': ...}, each as a ratio: the typical size "
            "of one entry at d_model = 1024 divided by its size at d_model = 512.")
    if not isinstance(prediction, dict):
        return Result(False, f"Not yet: give a dict, not a {type(prediction).__name__}. {todo}")
    missing = [k for k in SCALE_KEYS if k not in prediction]
    if missing:
        return Result(False, f"Not yet: the dict has no {', '.join(map(repr, missing))}. {todo}")
    values = [prediction[k] for k in SCALE_KEYS]
    if any(v is ... or v is None for v in values):
        return Result(False, f"Not attempted yet. {todo}")
    try:
        scaled, unscaled = (float(v) for v in values)
    except (TypeError, ValueError):
        return Result(False, f"Not yet: each answer must be a number. {todo}")

    def near(x: float, y: float) -> bool:
        return abs(x - y) <= 0.03 * abs(y)

    root2 = math.sqrt(2)
    if near(scaled, 1 / root2) and near(unscaled, 1.0):
        return Result(False, "Not yet: the two answers are swapped. Which of the two tables "
                             "shrinks as d_model grows, and which one has the shrinking undone?")
    if not near(unscaled, 1 / root2):
        why = {
            0.5: "the standard deviation is 1/sqrt(d_model), not 1/d_model: doubling d_model "
                 "divides it by sqrt(2), not by 2.",
            1.0: "the unscaled table does change: its start depends on d_model. How does "
                 "1/sqrt(d_model) change when d_model doubles?",
            root2: "a larger d_model gives a smaller start, not a larger one.",
        }
        hint = next((h for v, h in why.items() if near(unscaled, v)),
                    "work out 1/sqrt(d_model) at 512 and at 1024, and divide.")
        return Result(False, f"Not yet (unscaled): {hint}")
    if not near(scaled, 1.0):
        why = {
            root2: "the factor sqrt(d_model) does grow by sqrt(2), but the start shrinks by "
                   "sqrt(2) too. Multiply the two changes.",
            2.0: "the factor is the square root of d_model: doubling d_model multiplies it by "
                 "sqrt(2), and the start shrinks by as much.",
            1 / root2: "that is the table without the factor. What does the factor do to it?",
        }
        hint = next((h for v, h in why.items() if near(scaled, v)),
                    "multiply the change of the start by the change of the factor.")
        return Result(False, f"Not yet (scaled): {hint}")
    measured = _measured_scale_ratios()
    return Result(True, "Correct! Measured on random tables of 1000 words: scaled "
                        f"{measured['scaled']:.3f}, unscaled {measured['unscaled']:.3f}. "
                        "With this start, sqrt(d_model) x 1/sqrt(d_model) = 1: every entry of "
                        "the scaled embedding has a typical size of 1 at any width, beside the "
                        "positional encoding's 0.71.")


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
        success="Correct! The same ranking as annotated.embeddings.nearest_neighbours. Now run it "
                "on the trained table below.",
    )

"""Chapter 1: the scale prediction, and nearest neighbours by cosine similarity."""

from __future__ import annotations

import torch


def my_nearest(table: torch.Tensor, index: int, k: int) -> torch.Tensor:
    """The ids of the k rows most cosine-similar to row `index`, itself left out."""
    unit = torch.nn.functional.normalize(table, dim=-1)  # (V, D), rows of length 1
    sims = unit @ unit[index]  # (V,): one cosine per row
    sims[index] = -float("inf")  # a word is not its own neighbour
    return sims.topk(k).indices


SOLUTIONS = {
    # N(0, 1/D) start: sqrt(D) x 1/sqrt(D) = 1 at any D; unscaled, 1/sqrt(2) per doubling.
    "check_scale_prediction": {"scaled": 1.0, "unscaled": 2**-0.5},
    "check_nearest": my_nearest,
}

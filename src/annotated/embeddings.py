"""Chapter 1: token ids -> vectors, a learned lookup table scaled by sqrt(d_model)."""

from __future__ import annotations

import math

import torch
from torch import nn


def validate_token_ids(x: torch.Tensor, vocab: int, what: str = "token ids") -> None:
    """Raise a clear error unless `x` is a non-empty integer tensor of ids in [0, vocab)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of integers, got {type(x).__name__}")
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(
            f"{what} must be integers (torch.long), got dtype {x.dtype}; "
            "convert with ids.long() or build them with torch.tensor(..., dtype=torch.long)"
        )
    if x.dim() != 2:
        raise ValueError(
            f"{what} must have shape (batch, seq_len), got shape {tuple(x.shape)}; "
            "add a batch dimension with ids.unsqueeze(0)"
        )
    if x.numel() == 0:
        raise ValueError(
            f"{what} form an empty batch (shape {tuple(x.shape)}); "
            "pass at least one sequence of at least one token"
        )
    if torch.compiler.is_compiling():
        return  # reading the ids would split a torch.compile graph; the eager model checks them
    lo, hi = int(x.min()), int(x.max())
    if lo < 0 or hi >= vocab:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{what} must lie in [0, {vocab - 1}] for a vocabulary of {vocab}, found {bad}; "
            "encode the text with the same vocabulary the model was built with, "
            "or build the model with a larger vocabulary"
        )


class Embeddings(nn.Module):
    """A lookup table of shape (vocab, d_model); outputs are multiplied by sqrt(d_model)."""

    def __init__(self, d_model: int, vocab: int):
        super().__init__()
        if d_model <= 0 or vocab <= 0:
            raise ValueError(f"d_model and vocab must be positive, got {d_model} and {vocab}")
        self.lut = nn.Embedding(vocab, d_model)
        self.d_model = d_model
        self.vocab = vocab

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate_token_ids(x, self.vocab)
        # Tensor2Tensor starts the table at std d_model^-0.5, so times sqrt(d_model) the
        # entries start at size 1, beside the positional encodings (RMS 0.71) they are added
        # to; make_model's Xavier start (std sqrt(2 / (vocab + d_model))) is near that only
        # when the vocabulary is near the width. Chapter 1 measures both.
        return self.lut(x) * math.sqrt(self.d_model)  # (B, S) -> (B, S, D)


def nearest_neighbours(
    table: torch.Tensor, index: int, k: int = 5
) -> tuple[torch.Tensor, torch.Tensor]:
    """The `k` rows of `table` (V, D) most cosine-similar to row `index`, itself excluded.

    Returns (ids, similarities), most similar first.
    """
    vocab = table.size(0)
    if not 0 <= index < vocab:
        raise ValueError(f"index must lie in [0, {vocab - 1}], got {index}")
    if not 1 <= k < vocab:
        raise ValueError(f"k must lie in [1, {vocab - 1}] for a table of {vocab} rows, got {k}")
    unit = torch.nn.functional.normalize(table.detach().float(), dim=-1)  # (V, D)
    sims = unit @ unit[index]  # (V,)
    sims[index] = -float("inf")  # a word is not its own neighbour
    top = sims.topk(k)
    return top.indices, top.values

"""Chapter 1: token ids -> vectors, a learned lookup table scaled by sqrt(d_model)."""

from __future__ import annotations

import math

import torch
from torch import nn


def check_token_ids(x: torch.Tensor, vocab: int, what: str = "token ids") -> None:
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
        check_token_ids(x, self.vocab)
        # The scale keeps embeddings (init ~1/sqrt(d_model) per entry) on the same scale as
        # the positional encodings (entries in [-1, 1]) they are added to.
        return self.lut(x) * math.sqrt(self.d_model)  # (B, S) -> (B, S, D)

"""Chapter 5: masks that hide padding and the future. True = may attend."""

from __future__ import annotations

import torch


def subsequent_mask(size: int) -> torch.Tensor:
    """A (1, size, size) bool mask, True where query position i may look at key j <= i."""
    if size <= 0:
        raise ValueError(f"subsequent_mask needs a positive size, got {size}")
    future = torch.triu(torch.ones(1, size, size, dtype=torch.bool), diagonal=1)
    return ~future


def padding_mask(ids: torch.Tensor, pad: int) -> torch.Tensor:
    """A (B, 1, S) bool mask, True at real tokens and False at `pad`."""
    return (ids != pad).unsqueeze(-2)


def make_std_mask(tgt: torch.Tensor, pad: int) -> torch.Tensor:
    """The decoder's (B, T, T) mask: hide padding and future positions."""
    return padding_mask(tgt, pad) & subsequent_mask(tgt.size(-1)).to(tgt.device)

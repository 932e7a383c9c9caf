"""Chapter 4 exercises: split a (B, S, D) tensor into heads and merge the heads back."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .grading import Mistake, Result, check_function


def split_heads(x: torch.Tensor, h: int) -> torch.Tensor:
    """(B, S, D) -> (B, H, S, d_k): the reference answer."""
    B, S, D = x.shape
    return x.view(B, S, h, D // h).transpose(1, 2)  # (B, S, H, d_k) -> (B, H, S, d_k)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, S, d_k) -> (B, S, D): the reference answer."""
    B, H, S, d_k = x.shape
    return x.transpose(1, 2).reshape(B, S, H * d_k)  # (B, S, H, d_k) -> (B, S, D)


def _cases_split() -> list[tuple]:
    g = torch.Generator().manual_seed(4)
    return [(torch.randn(2, 5, 8, generator=g), 2), (torch.randn(1, 3, 12, generator=g), 4)]


def _cases_merge() -> list[tuple]:
    g = torch.Generator().manual_seed(4)
    return [(torch.randn(2, 2, 5, 4, generator=g),), (torch.randn(1, 4, 3, 3, generator=g),)]


def check_split_heads(attempt: Callable) -> Result:
    """Grade `split_heads(x, h)`: (B, S, D) -> (B, H, S, d_k)."""
    return check_function(
        attempt, split_heads, _cases_split(),
        todo="Return x reshaped from (B, S, D) to (B, H, S, d_k) with d_k = D // h: split "
             "each word's D numbers into h consecutive slices, then move the head axis to "
             "position 1.",
        mistakes=[
            Mistake(lambda x, h: x.view(x.shape[0], x.shape[1], -1, h).permute(0, 3, 1, 2),
                    "each head got every h-th number of a word. Heads take consecutive "
                    "slices: view as (B, S, h, d_k), then .transpose(1, 2)."),
            Mistake(lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1),
                    "the shape is right but the numbers are scrambled: viewing straight to "
                    "(B, H, S, d_k) cuts across words. View as (B, S, H, d_k) first (each "
                    "word's D numbers split into H slices), then swap S and H with "
                    ".transpose(1, 2)."),
        ],
        success="Correct! Each head now holds d_k numbers of every word: an (S, d_k) "
                "matrix per head.",
    )


def check_merge_heads(attempt: Callable) -> Result:
    """Grade `merge_heads(x)`: (B, H, S, d_k) -> (B, S, D)."""
    return check_function(
        attempt, merge_heads, _cases_merge(),
        todo="Return x reshaped from (B, H, S, d_k) to (B, S, H * d_k): move the head axis "
             "back next to d_k, then join the heads' slices of each word into one row "
             "(reshape, since view refuses after a transpose).",
        mistakes=[
            Mistake(lambda x: x.reshape(x.shape[0], x.shape[2], -1),
                    "the shape is right but the heads are mixed across words: swap H and S "
                    "back with .transpose(1, 2) before you reshape."),
        ],
        success="Correct! This is the 'concatenate the heads' step, done with one reshape.",
    )

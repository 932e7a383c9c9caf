"""Chapter 4: the cost prediction, the previous-word head, and splitting and merging heads."""

from __future__ import annotations

import torch


def my_split_heads(x: torch.Tensor, h: int) -> torch.Tensor:
    """(B, S, D) -> (B, H, S, d_k): cut each word into h slices, then move the head axis."""
    B, S, D = x.shape
    return x.view(B, S, h, D // h).transpose(1, 2)


def my_merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, S, d_k) -> (B, S, H * d_k): heads back next to d_k, then side by side."""
    B, H, S, d_k = x.shape
    return x.transpose(1, 2).reshape(B, S, H * d_k)


# The search behind check_reading_head's answer, over the texts the grader uses:
#     w = translator.attention(text).weights["decoder"]          # (L, H, T, T)
#     w.diagonal(offset=-1, dim1=-2, dim2=-1).mean(-1)           # (L, H), then average
# and take the (layer, head) of the largest value.
SOLUTIONS = {
    # h x S^2 x 4 bytes = S x d_ff x 4 bytes  =>  S = d_ff / h = 2048 / 8.
    "check_cost_prediction": {"crossover": 256},
    "check_reading_head": (1, 1),
    "check_split_heads": my_split_heads,
    "check_merge_heads": my_merge_heads,
}

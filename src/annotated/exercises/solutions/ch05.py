"""Chapter 5's solutions: the rows a batch hides, the fixed decoder mask, a causal mask, a
masked softmax."""

from __future__ import annotations

import torch

from ...attention import masked_fill_value


def fixed_std_mask(tgt: torch.Tensor, pad: int) -> torch.Tensor:
    """buggy_std_mask with diagonal=0: query i sees keys 0..i, never i + 1."""
    T = tgt.size(-1)
    real = (tgt != pad).unsqueeze(-2)  # (B, 1, T): pads hidden as keys
    past = torch.tril(torch.ones(1, T, T, dtype=torch.bool), diagonal=0)  # (1, T, T)
    return real & past


def causal_mask(size: int) -> torch.Tensor:
    """True on and below the diagonal: query i may see keys 0..i."""
    return torch.tril(torch.ones(1, size, size, dtype=torch.bool))


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill hidden scores with the dtype's minimum, softmax, then zero the rows that see nothing."""
    filled = scores.masked_fill(~mask, masked_fill_value(scores.dtype))
    weights = filled.softmax(dim=-1)
    sees_nothing = ~mask.any(dim=-1, keepdim=True)
    return weights.masked_fill(sees_nothing, 0.0)


SOLUTIONS = {
    # The decoder reads tgt[:, :-1]: "<s> ich schlafe </s> <pad>", "<s> die katze trinkt milch",
    # "<s> ja </s> <pad> <pad>". Each <pad> it reads is a query row Batch hides entirely.
    "check_zero_rows": [[4], [], [3, 4]],
    "check_fixed_mask": fixed_std_mask,
    "check_causal_mask": causal_mask,
    "check_masked_softmax": masked_softmax,
}

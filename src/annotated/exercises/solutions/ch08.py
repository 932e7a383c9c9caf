"""Chapter 8's solutions: one greedy step without a cache, and two answers to reason out."""

from __future__ import annotations

import torch

from ...masks import subsequent_mask


@torch.no_grad()
def greedy_step(model, memory, src_mask, ys):
    """Rerun the decoder on the whole prefix, as in training; the last position predicts."""
    causal = subsequent_mask(ys.size(1)).to(ys.device)  # (1, T, T)
    out = model.decode(memory, src_mask, ys, causal)  # (B, T, D)
    next_word = model.generator(out[:, -1]).argmax(dim=-1)  # (B,)
    return torch.cat([ys, next_word.unsqueeze(1)], dim=1)  # (B, T + 1)


SOLUTIONS = {
    "check_greedy_step": greedy_step,
    # without the causal mask, a new word changes every earlier state: the cache goes stale
    "check_cache_prediction": "b",
    # 10,000-19,999 is the one block where English merges two Japanese places into a teen
    "check_mistake_explanation": "b",
}

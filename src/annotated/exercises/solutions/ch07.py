"""Chapter 7's solutions: the schedule, the factor for a peak, the smoothed targets, and the
two break-it predictions."""

from __future__ import annotations

import torch


def rate(step, model_size, factor, warmup):
    """The rising line and the falling 1/sqrt(step) curve meet at step = warmup."""
    rising = step * warmup ** -1.5
    falling = step ** -0.5
    return factor * model_size ** -0.5 * min(rising, falling)


def factor_for_peak(peak_lr, model_size, warmup):
    """At the peak, step = warmup, the rate is factor / sqrt(model_size * warmup)."""
    return peak_lr * (model_size * warmup) ** 0.5


def smoothed_targets(target, size, padding_idx, smoothing):
    """Spread first, the right word second, the <pad> column and padded rows zeroed last."""
    q = torch.full((len(target), size), smoothing / (size - 2))
    q.scatter_(1, target.unsqueeze(1), 1 - smoothing)
    q[:, padding_idx] = 0
    q[target == padding_idx] = 0
    return q


SOLUTIONS = {
    "check_rate": rate,
    "check_factor_for_peak": factor_for_peak,
    "check_smoothed_targets": smoothed_targets,
    # without the mask, position t reads its answer at t + 1: easy in training, useless after
    "check_no_mask_prediction": {"loss": "lower", "exact match": "lower"},
    # started at the peak rate, the tiny model stays near a blind guess for 150 steps
    "check_no_warmup_prediction": {"loss": "higher", "exact match": "lower"},
}

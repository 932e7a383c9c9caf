"""Chapter 7's solutions: the two break-it predictions."""

from __future__ import annotations

SOLUTIONS = {
    # without the mask, position t reads its answer at t + 1: easy in training, useless after
    "check_no_mask_prediction": {"loss": "lower", "exact match": "lower"},
    # the same peak without the ramp: full-size first Adam steps, a loss that stays high
    "check_no_warmup_prediction": {"loss": "higher", "exact match": "lower"},
}

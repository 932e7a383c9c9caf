"""Chapter 7 exercises: the warm-up learning-rate schedule; the label-smoothed targets."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..figures import smoothed_targets
from ..training import rate
from .grading import Mistake, Result, check_function


def _as_tensor(fn: Callable) -> Callable:
    """Run `fn` and turn a number it returns into a float64 tensor, compared with a tolerance.

    (The grader compares plain numbers exactly; 1/sqrt(512) and 512**-0.5 differ in the last bit.)
    """

    def run(*args):
        out = fn(*args)
        if isinstance(out, int | float) and not isinstance(out, bool):
            return torch.tensor(float(out), dtype=torch.float64)
        return out

    return run


RATE_CASES = [(1, 512, 1.0, 4000), (4000, 512, 1.0, 4000), (10_000, 512, 1.0, 4000),
              (50, 64, 0.3, 100), (400, 64, 0.3, 100), (3, 256, 2.0, 8000)]


def _rate_mistake(fn: Callable) -> Callable:
    """A wrong formula of (step, d, factor, warmup), as a grader Mistake's function."""
    return _as_tensor(lambda s, d, f, w: fn(float(s), float(d), float(f), float(w)))


def check_rate(attempt: Callable) -> Result:
    """Grade `rate(step, model_size, factor, warmup)`: the paper's learning-rate schedule."""
    if callable(attempt):
        attempt = _as_tensor(attempt)
    return check_function(
        attempt, _as_tensor(rate), RATE_CASES,
        todo="Return factor * model_size ** -0.5 * min(step ** -0.5, step * warmup ** -1.5) "
             "as a float (the cases start at step 1).",
        mistakes=[
            Mistake(_rate_mistake(lambda s, d, f, w: f * d**-0.5 * min(s**-0.5, s * w**-0.5)),
                    "the warm-up part must be step * warmup ** -1.5: with -0.5 it is "
                    "sqrt(warmup) times too steep, and the two parts do not meet at step = "
                    "warmup."),
            Mistake(_rate_mistake(lambda s, d, f, w: f * d**-0.5 * max(s**-0.5, s * w**-1.5)),
                    "take the min of the two parts, not the max: the rate follows the rising "
                    "line until step = warmup, then the falling 1/sqrt(step) curve."),
            Mistake(_rate_mistake(lambda s, d, f, w: f * min(s**-0.5, s * w**-1.5)),
                    "the shape is right; multiply by model_size ** -0.5 (wider models take "
                    "smaller steps)."),
            Mistake(_rate_mistake(lambda s, d, f, w: f * d**0.5 * min(s**-0.5, s * w**-1.5)),
                    "model_size must be raised to -0.5 (divide by its square root), not 0.5."),
            Mistake(_rate_mistake(lambda s, d, f, w: d**-0.5 * min(s**-0.5, s * w**-1.5)),
                    "right for factor = 1; multiply the whole rate by `factor` too."),
        ],
        atol=1e-12,
        success="Correct! With the paper's d_model = 512 and warmup = 4000 the rate peaks at "
                "step 4000 at 0.000699.",
    )


SMOOTHING_CASES = [
    (torch.tensor([2, 1, 0, 3, 3]), 5, 0, 0.4),
    (torch.tensor([1, 2, 3, 4, 0, 0]), 7, 0, 0.1),
    (torch.tensor([4, 0, 2]), 6, 0, 0.0),
]


def _spread(target: torch.Tensor, size: int, confidence: float, rest: float) -> torch.Tensor:
    """(N, V) filled with `rest`, with `confidence` at each row's target."""
    q = torch.full((len(target), size), rest)
    return q.scatter(1, target.unsqueeze(1), confidence)


def _no_pad_at_all(target, size, pad, eps):
    return _spread(target, size, 1 - eps, eps / (size - 2))


def _no_pad_column(target, size, pad, eps):
    q = _spread(target, size, 1 - eps, eps / (size - 2))
    q[target == pad] = 0
    return q


def _no_pad_rows(target, size, pad, eps):
    q = _spread(target, size, 1 - eps, eps / (size - 2))
    q[:, pad] = 0
    return q


def _over_v_minus_1(target, size, pad, eps):
    q = _spread(target, size, 1 - eps, eps / (size - 1))
    q[:, pad] = 0
    q[target == pad] = 0
    return q


def _uniform_mixture(target, size, pad, eps):
    """PyTorch's CrossEntropyLoss(label_smoothing=eps) convention: eps / V on every class."""
    q = _spread(target, size, 1 - eps + eps / size, eps / size)
    q[target == pad] = 0
    return q


def _full_confidence(target, size, pad, eps):
    q = _spread(target, size, 1.0, eps / (size - 2))
    q[:, pad] = 0
    q[target == pad] = 0
    return q


def check_smoothed_targets(attempt: Callable) -> Result:
    """Grade `smoothed_targets(target, size, padding_idx, smoothing)` -> (N, V) distribution."""
    return check_function(
        attempt, smoothed_targets, SMOOTHING_CASES,
        todo="Return an (N, V) float tensor: 1 - smoothing at each row's target id, "
             "smoothing / (V - 2) everywhere else, then 0 in the whole padding_idx column and "
             "0 on every row whose target is padding_idx (torch.full, .scatter_ and boolean "
             "indexing will do).",
        mistakes=[
            Mistake(_no_pad_at_all,
                    "the spread is right; now handle <pad>: 0 in the whole padding_idx column "
                    "(never teach the model to write <pad>) and 0 on every row whose target is "
                    "padding_idx (padded positions teach nothing)."),
            Mistake(_no_pad_column,
                    "the <pad> column must be 0: the model should never be taught to write "
                    "<pad>. Set q[:, padding_idx] = 0."),
            Mistake(_no_pad_rows,
                    "rows whose target is <pad> must be all zeros: padded positions teach "
                    "nothing. Set q[target == padding_idx] = 0."),
            Mistake(_over_v_minus_1,
                    "spread the smoothing over V - 2 tokens, not V - 1: neither the right "
                    "token nor <pad> gets a share, so each row sums to 1."),
            Mistake(_uniform_mixture,
                    "that is PyTorch's CrossEntropyLoss(label_smoothing=...) convention (eps / "
                    "V on every token, the right one included). Here the right token gets "
                    "exactly 1 - smoothing and each of the V - 2 others smoothing / (V - 2)."),
            Mistake(_full_confidence,
                    "the right token must get 1 - smoothing, not 1: the share given to the "
                    "others is taken from it, so each row sums to 1."),
        ],
        success="Correct! That is LabelSmoothing.true_dist: each real row sums to 1, padded "
                "rows and the <pad> column are 0.",
    )

"""Chapter 7 exercises: the warm-up schedule, the factor for a peak, the label-smoothed targets,
and two break-it predictions (the causal mask off, the warm-up dropped)."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import torch

from ..losses import smoothed_targets
from ..training import rate
from .grading import Mistake, Result, check_function, describe_difference


def _as_number(fn: Callable) -> Callable:
    """Run `fn` and turn any real number it returns into a float64 0-d tensor.

    Python floats and ints, numpy scalars and one-element tensors (float32 included) all count
    as a number; anything else is passed on, and the grader says what it was.
    """

    def run(*args):
        out = fn(*args)
        if isinstance(out, bool):
            return out
        if isinstance(out, numbers.Real) or (isinstance(out, np.ndarray) and out.size == 1):
            return torch.tensor(float(out), dtype=torch.float64)
        if isinstance(out, torch.Tensor) and out.numel() == 1 and out.is_floating_point():
            return out.detach().reshape(()).to(torch.float64)
        return out

    return run


def _describe_number(name: str, params: tuple[str, ...]) -> Callable:
    """How a failing case of a one-number exercise went wrong: its call, result and answer."""

    def describe(args: tuple, out, expected) -> str:
        call = f"{name}({', '.join(f'{p}={a!r}' for p, a in zip(params, args, strict=True))})"
        if not isinstance(out, torch.Tensor):
            return f"{call} returned a {type(out).__name__}, expected a number"
        return f"{call} returned {out.item():.6g}, expected {expected.item():.6g}"

    return describe


# Plain floats throughout; float32 answers are accepted (rtol 1e-6), float32 has about 7 digits.
NUMBER_TOLERANCE = {"atol": 0.0, "rtol": 1e-6}

RATE_CASES = [(1, 512, 1.0, 4000), (4000, 512, 1.0, 4000), (10_000, 512, 1.0, 4000),
              (50, 64, 0.3, 100), (400, 64, 0.3, 100), (3, 256, 2.0, 8000)]


def _float_mistake(fn: Callable) -> Callable:
    """A wrong formula, fed floats, as a grader Mistake's function."""
    return _as_number(lambda *args: fn(*(float(a) for a in args)))


def _check_number(attempt: Callable, reference: Callable, cases: list[tuple],
                  params: tuple[str, ...], **grader) -> Result:
    """check_function for an exercise that returns one number, with a relative tolerance."""
    if callable(attempt):
        attempt = _as_number(attempt)
    return check_function(attempt, _as_number(reference), cases,
                          describe=_describe_number(reference.__name__, params),
                          **NUMBER_TOLERANCE, **grader)


def check_rate(attempt: Callable) -> Result:
    """Grade `rate(step, model_size, factor, warmup)`: the paper's learning-rate schedule."""
    return _check_number(
        attempt, rate, RATE_CASES, ("step", "model_size", "factor", "warmup"),
        todo="Return the learning rate at `step` as a number: the paper's formula from the "
             "section 'Adam and the warm-up schedule' (a rising part and a falling part, "
             "whichever is smaller, scaled by factor and by model_size). The cases start at "
             "step 1.",
        mistakes=[
            Mistake(_float_mistake(lambda s, d, f, w: f * d**-0.5 * min(s**-0.5, s * w**-0.5)),
                    "the warm-up part must be step * warmup ** -1.5: with -0.5 it is "
                    "sqrt(warmup) times too steep, and the two parts do not meet at step = "
                    "warmup."),
            Mistake(_float_mistake(lambda s, d, f, w: f * d**-0.5 * max(s**-0.5, s * w**-1.5)),
                    "take the min of the two parts, not the max: the rate follows the rising "
                    "line until step = warmup, then the falling 1/sqrt(step) curve."),
            Mistake(_float_mistake(lambda s, d, f, w: f * d**-0.5 * s**-0.5),
                    "your rate is only the falling part, factor * model_size ** -0.5 * step "
                    "** -0.5: it never warms up (at step 1 it is at its largest). Either the min "
                    "with the rising part step * warmup ** -1.5 is missing, or that part has "
                    "lost its minus sign (step * warmup ** 1.5 is so large that min never picks "
                    "it)."),
            Mistake(_float_mistake(lambda s, d, f, w: f * d**-0.5 * s * w**-1.5),
                    "your rate is only the rising part, factor * model_size ** -0.5 * step * "
                    "warmup ** -1.5: it climbs forever. After step = warmup the falling part "
                    "step ** -0.5 is smaller: take the min of the two."),
            Mistake(_float_mistake(lambda s, d, f, w: f * min(s**-0.5, s * w**-1.5)),
                    "the shape is right; multiply by model_size ** -0.5 (wider models take "
                    "smaller steps)."),
            Mistake(_float_mistake(lambda s, d, f, w: f * d**0.5 * min(s**-0.5, s * w**-1.5)),
                    "model_size must be raised to -0.5 (divide by its square root), not 0.5."),
            Mistake(_float_mistake(lambda s, d, f, w: d**-0.5 * min(s**-0.5, s * w**-1.5)),
                    "right for factor = 1; multiply the whole rate by `factor` too."),
        ],
        success="Correct! With the paper's d_model = 512 and warmup = 4000 the rate peaks at "
                "step 4000 at 0.000699.",
    )


def factor_for_peak(peak_lr: float, model_size: int, warmup: int) -> float:
    """The `factor` that makes the schedule of (model_size, warmup) peak at `peak_lr`."""
    return peak_lr / (model_size**-0.5 * warmup**-0.5)


PEAK_CASES = [(0.00375, 64, 100), (7e-4, 512, 4000), (1e-3, 256, 1000), (5e-4, 1024, 8000)]


def check_factor_for_peak(attempt: Callable) -> Result:
    """Grade `factor_for_peak(peak_lr, model_size, warmup)`: the factor giving that peak."""
    return _check_number(
        attempt, factor_for_peak, PEAK_CASES, ("peak_lr", "model_size", "warmup"),
        todo="Return the factor as a number. Where is the peak, and what is the rate there? "
             "Write that rate for factor = 1; the rate is proportional to factor.",
        mistakes=[
            Mistake(_float_mistake(lambda p, d, w: p * d**0.5),
                    "the peak is at step = warmup, and there the rate has a factor warmup ** "
                    "-0.5 as well as model_size ** -0.5: multiply by sqrt(warmup) too."),
            Mistake(_float_mistake(lambda p, d, w: p * d**0.5 * w**-0.5),
                    "at the peak the rate is factor * model_size ** -0.5 * warmup ** -0.5; "
                    "solving for factor multiplies peak_lr by sqrt(warmup), it does not "
                    "divide."),
            Mistake(_float_mistake(lambda p, d, w: p * d**0.5 * w**1.5),
                    "at step = warmup the rising part is step * warmup ** -1.5 = warmup ** "
                    "-0.5 (the step counts too), not warmup ** -1.5."),
            Mistake(_float_mistake(lambda p, d, w: p * d**-0.5 * w**0.5),
                    "the rate has model_size ** -0.5, so the factor needs sqrt(model_size) "
                    "as a multiplier, not a divisor: wider models need a larger factor for "
                    "the same peak."),
            Mistake(_float_mistake(lambda p, d, w: p * d**-0.5 * w**-0.5),
                    "that is the peak rate of a schedule whose factor is peak_lr; you need "
                    "the inverse: the factor whose peak is peak_lr."),
            Mistake(_float_mistake(lambda p, d, w: p * d * w),
                    "close: the rate at the peak has model_size ** -0.5 and warmup ** -0.5, "
                    "square roots, so the factor has sqrt(model_size * warmup)."),
        ],
        success="Correct! The copy task's factor 0.3 puts its peak, at step 100 for d_model "
                "64, at 0.00375.",
    )


SMOOTHING_CASES = [
    (torch.tensor([2, 1, 0, 3, 3]), 5, 0, 0.4),
    (torch.tensor([1, 2, 3, 4, 0, 0]), 7, 0, 0.1),
    (torch.tensor([4, 0, 2]), 6, 0, 0.0),
    (torch.tensor([2, 0, 3, 1, 2]), 5, 2, 0.2),  # <pad> is id 2 here: never hard-code 0
]
SMOOTHING_PARAMS = ("target", "size", "padding_idx", "smoothing")


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


def _pad_is_zero(target, size, pad, eps):
    return smoothed_targets(target, size, 0, eps)


def _zero_then_scatter(target, size, pad, eps):
    q = torch.full((len(target), size), eps / (size - 2))
    q[:, pad] = 0
    q[target == pad] = 0
    return q.scatter(1, target.unsqueeze(1), 1 - eps)


def _describe_smoothed(args: tuple, out, expected) -> str:
    """The failing case's arguments, what is wrong, and the first cell that differs."""
    target, size, pad, eps = args
    call = (f"for target={target.tolist()}, size={size}, padding_idx={pad}, "
            f"smoothing={eps}, {describe_difference(out, expected)}")
    if isinstance(out, torch.Tensor) and out.shape == expected.shape:
        diff = (out.detach().float() - expected).abs()  # (N, V)
        r, c = divmod(int(diff.argmax()), size)
        call += (f" (row {r}, whose target is {int(target[r])}, column {c}: "
                 f"{out[r, c].item():.4f}, expected {expected[r, c].item():.4f})")
    return call


def check_smoothed_targets(attempt: Callable) -> Result:
    """Grade `smoothed_targets(target, size, padding_idx, smoothing)` -> (N, V) distribution."""
    return check_function(
        attempt, smoothed_targets, SMOOTHING_CASES,
        todo="Return an (N, V) float tensor: 1 - smoothing at each row's target id, "
             "smoothing / (V - 2) everywhere else, then 0 in the whole padding_idx column and "
             "0 on every row whose target is padding_idx (torch.full, .scatter_ and boolean "
             "indexing will do).",
        mistakes=[
            Mistake(_pad_is_zero,
                    "use padding_idx, not 0: in the last test case <pad> is id 2, and id 0 "
                    "is a real word."),
            Mistake(_zero_then_scatter,
                    "zero the <pad> column and the padded rows AFTER the scatter: scattering "
                    "last puts 1 - smoothing back at [row, padding_idx] of every padded row."),
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
        describe=_describe_smoothed,
        success="Correct! That is LabelSmoothing.true_dist: each real row sums to 1, padded "
                "rows and the <pad> column are 0.",
    )


# --- Break it: predict what one broken part does to a tiny copy model ---

CHOICES = ("lower", "same", "higher")
BREAK_KEYS = ("loss", "exact match")


def _grade_break_it(prediction: object, answer: tuple[str, str], todo: str,
                    hints: tuple[str, str], success: str) -> Result:
    """Grade a break-it prediction {"loss": word, "exact match": word} against `answer`;
    `hints` are for a wrong loss and a wrong exact match, in that order."""
    if not isinstance(prediction, dict) or set(prediction) != set(BREAK_KEYS):
        return Result(False, f"Keep the dict's two keys, 'loss' and 'exact match'. {todo}")
    words = tuple(prediction[k] for k in BREAK_KEYS)
    if any(w is ... or w is None for w in words):
        return Result(False, f"Not attempted yet. {todo} Commit to a guess before you run the "
                             "next cell: a wrong guess teaches more.")
    bad = [w for w in words if w not in CHOICES]
    if bad:
        return Result(False, f"Not yet: {bad[0]!r} is not one of {', '.join(CHOICES)}.")
    for key, word, right, hint in zip(BREAK_KEYS, words, answer, hints, strict=True):
        if word != right:
            return Result(False, f"Not yet ({key}): {hint}")
    return Result(True, success)


def check_no_mask_prediction(prediction: dict) -> Result:
    """Grade {"loss": ..., "exact match": ...}: the copy model trained without the causal
    mask, against the same model trained with it ("lower", "same" or "higher")."""
    return _grade_break_it(
        prediction, ("lower", "lower"),
        todo="Hint 1: without the mask, position t may read every word of tgt, including the "
             "one after it. Which word is that, compared with what t must predict? Hint 2: at "
             "test time greedy decoding has no future words to read. Fill in 'loss' (the "
             "training loss) and 'exact match' (held-out, greedy) with lower, same or higher.",
        hints=("tgt is tgt_y shifted by one, so the word after position t in tgt is exactly "
               "what t must predict. Reading an answer is easier than working it out.",
               "the model learned to read the next input word. Greedy decoding writes that "
               "word itself, so at the last position there is nothing to read. What does it "
               "copy then?"),
        success="Correct! Without the mask the training loss falls faster, because each "
                "position reads its answer one step to the right; nothing forces it to look "
                "at the source. Decoding never shows it the next word, so it has learned "
                "nothing it can use. Run the next cell.")


def check_no_warmup_prediction(prediction: dict) -> Result:
    """Grade {"loss": ..., "exact match": ...}: the copy model with warmup=1 (the rate starts
    at its peak) against warm-up 50, the same schedule otherwise."""
    return _grade_break_it(
        prediction, ("higher", "lower"),
        todo="Hint 1: with warmup=1 the first step already uses the peak rate, 0.125 for "
             "d_model 64, and Adam's first steps move every weight by about the full rate. "
             "Hint 2: a fresh weight of a 64 x 64 layer is about 0.1 in size. Fill in "
             "'loss' and 'exact match' with lower, same or higher.",
        hints=("a larger rate does not mean faster learning here. Adam's first steps move "
               "each weight by the full rate whatever its gradient: what does a step of "
               "0.125 do to a weight of size 0.1?",
               "if the loss stays near a blind guess, can the greedy output be right?"),
        success="Correct! Started at the peak, Adam's first steps throw every weight about "
                "0.125 in a direction learned from a few noisy batches, and this run never "
                "recovers within 150 steps: its loss stays near a blind guess. The warm-up "
                "lets Adam's estimates settle first. Run the next cell.")

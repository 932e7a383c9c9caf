"""Primer exercises: predict broadcast shapes, discover the largest stable learning rate,
and compute what nn.Linear computes from its stored (out, in) weight."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch

from ..examples import largest_stable_rate
from .grading import Mistake, Result, check_function

# --- Broadcasting: predict, then run ---

BROADCAST_PAIRS = [((5, 4), (5,)), ((6,), (6, 1)), ((4, 1, 3), (2, 3)), ((3, 1, 5), (4, 1))]

BROADCAST_TODO = (
    "Replace each ... in `predictions` with the shape you expect for that pair, as a tuple "
    "such as (5, 6), or None where you expect PyTorch to refuse. The rule: write the two "
    "shapes one above the other, lined up on the right; a missing axis counts as 1; two sizes "
    "match when they are equal or one of them is 1, and the 1 is stretched.")


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        return None


def _as_shape(answer) -> tuple[int, ...] | None | str:
    """A learner's answer as a shape tuple, None, or 'bad' for anything else."""
    if answer is None:
        return None
    if isinstance(answer, torch.Size):
        return tuple(answer)
    if isinstance(answer, (tuple, list)) and all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in answer):
        return tuple(int(n) for n in answer)
    return "bad"


def _broadcast_hint(i: int, said, right) -> str:
    """Why answer `i` (0-based) is wrong: the likely misreading of the rule, named."""
    a, b = BROADCAST_PAIRS[i]
    pair = f"{a} and {b}"
    if right is None:
        return (f"for {pair} you predicted {said}, but PyTorch refuses this pair. Line the "
                f"shapes up on the right: the last sizes are {a[-1]} and {b[-1]}, neither is "
                "1, so they cannot match. Lining them up on the left is the usual slip.")
    if said is None:
        return (f"for {pair} you predicted an error, but it works. A size of 1 is stretched "
                "to any size, and a shape with fewer axes gets 1s added on its left before "
                "the sizes are compared.")
    if len(said) != len(right):
        return (f"for {pair} your shape has {len(said)} axes. The result has as many axes as "
                "the longer shape: the shorter one gets 1s added on its left.")
    return (f"for {pair} the number of axes is right, but not every size. At each position "
            "the result takes the larger size: a 1 is stretched to the other size.")


def check_broadcast(predictions) -> Result:
    """Grade predicted result shapes (or None for an error) for BROADCAST_PAIRS, in order."""
    pairs = "; ".join(f"{a} with {b}" for a, b in BROADCAST_PAIRS)
    if not isinstance(predictions, (list, tuple)) or len(predictions) != len(BROADCAST_PAIRS):
        return Result(False, f"Give a list of {len(BROADCAST_PAIRS)} predictions, one per "
                             f"pair: {pairs}. {BROADCAST_TODO}")
    if any(p is ... for p in predictions):
        return Result(False, f"Not attempted yet. {BROADCAST_TODO}")
    answers = [_as_shape(p) for p in predictions]
    for i, answer in enumerate(answers):
        if answer == "bad":
            return Result(False, f"Not yet: prediction {i + 1} is {predictions[i]!r}; write a "
                                 f"tuple of whole numbers or None. {BROADCAST_TODO}")
    expected = [_broadcast(a, b) for a, b in BROADCAST_PAIRS]
    wrong = [i for i, (s, e) in enumerate(zip(answers, expected, strict=True)) if s != e]
    if not wrong:
        return Result(True, "Correct! Check each one with torch.broadcast_shapes(a, b), or by "
                            "adding torch.zeros(a) + torch.zeros(b) inside a try block.")
    i = wrong[0]
    return Result(False, f"Not yet ({len(wrong)} of {len(expected)} wrong): "
                         f"{_broadcast_hint(i, answers[i], expected[i])}")


# --- The largest learning rate that still works: discover it ---

RATE_TODO = (
    "Set `largest_lr` to one number: the largest learning rate for which the loss after 200 "
    "steps of gradient descent on the line problem is below the starting loss. Two decimals "
    "are enough; a rate up to 10% below the limit counts. Think of the loss as a narrow "
    "valley: steep across, gentle along, and each step is lr times the slope.")

OVERSHOOT = (
    "Think of a ball in the narrow valley: a step that is too long lands higher on the "
    "opposite wall than where it started, and every later step makes it worse.")


def check_largest_rate(largest_lr) -> Result:
    """Grade the learner's largest stable learning rate for the primer's line problem."""
    if largest_lr is ... or largest_lr is None:
        return Result(False, f"Not attempted yet. {RATE_TODO}")
    if isinstance(largest_lr, torch.Tensor) and largest_lr.numel() == 1:
        largest_lr = largest_lr.item()
    if not isinstance(largest_lr, numbers.Real) or isinstance(largest_lr, bool):
        return Result(False, f"Not yet: `largest_lr` is a {type(largest_lr).__name__}; write "
                             f"one number. {RATE_TODO}")
    limit, lr = largest_stable_rate(), float(largest_lr)
    tool = ("Try rates with the sliders above, or compare descent_path(lr, 200)['loss'] at "
            "its start and its end for a few values of lr.")
    if lr > limit * 1.001:
        return Result(False, f"Not yet: at {lr:g} the loss grows: each step overshoots the "
                             f"bottom of the valley by more than it gained. {OVERSHOOT} "
                             f"{tool}")
    if abs(lr - limit / 2) <= 0.03 * limit:
        return Result(False, f"Not yet: {lr:g} is the rate that crosses the steep direction "
                             "of the valley in a single step. Larger rates still work there: "
                             "they overshoot, but by less each time. Go higher.")
    if lr < 0.9 * limit:
        return Result(False, f"Not yet: at {lr:g} the loss still falls, and so it does at "
                             f"somewhat larger rates. Raise it until the loss stops falling; "
                             f"the limit is where a step starts to overshoot. {tool}")
    return Result(True, f"Correct! The loss falls for every rate below about {limit:.3f} and "
                        "grows above it. One lr is shared by both directions of the valley, "
                        "so the steep direction, across it, sets the limit: 2 divided by its "
                        "curvature, how fast the slope grows as you move across. Along the "
                        "gentle floor the same small rate can only creep.")


# --- nn.Linear from its weight and bias ---

def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """What nn.Linear computes: x (..., in), weight (out, in), bias (out,) -> (..., out)."""
    return x @ weight.T + bias


def _linear_cases(shapes: list[tuple[tuple[int, ...], int]]) -> list[tuple]:
    gen = torch.Generator().manual_seed(3)
    cases = []
    for x_shape, out in shapes:
        x = torch.randn(*x_shape, generator=gen)
        weight = torch.randn(out, x_shape[-1], generator=gen)
        cases.append((x, weight, torch.randn(out, generator=gen)))
    return cases


SQUARE_CASES = _linear_cases([((2, 3), 3), ((2, 4, 3), 3)])  # in == out: a slip still runs
LINEAR_CASES = SQUARE_CASES + _linear_cases([((5, 3), 2), ((2, 4, 6), 8), ((6,), 4)])

LINEAR_TODO = (
    "Return the output of nn.Linear for input x (..., in) with the layer's weight of shape "
    "(out, in) and bias of shape (out,): every output number is one row of the weight "
    "dotted with the input vector, plus that row's bias. The result has shape (..., out).")


def check_linear(attempt: Callable) -> Result:
    """Grade `my_linear(x, weight, bias)`: nn.Linear's computation by hand."""
    mistakes = [
        Mistake(lambda x, w, b: x @ w + b,
                "the weight is stored as (out, in): multiply by its transpose, so each output "
                "comes from one ROW of the weight. Without it, a square weight runs and gives "
                "wrong numbers, and any other raises a shape error."),
        Mistake(lambda x, w, b: x @ w.T,
                "the product is right; add the bias, one number per output."),
        Mistake(lambda x, w, b: x @ w,
                "the weight is stored as (out, in) and the bias is missing."),
        Mistake(lambda x, w, b: (x + b) @ w.T,
                "the bias is added after the product, to the outputs, not to the inputs."),
    ]
    result = check_function(attempt, linear, SQUARE_CASES, todo=LINEAR_TODO, mistakes=mistakes)
    if not result.passed:
        return result
    return check_function(attempt, linear, LINEAR_CASES, todo=LINEAR_TODO, mistakes=mistakes,
                          success="Correct! That is all nn.Linear does: one matrix product "
                                  "with the transposed weight, plus the bias, for any number "
                                  "of leading axes.")

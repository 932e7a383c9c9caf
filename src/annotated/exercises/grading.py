"""The grader every exercise uses: run an attempt on cases, compare, name the mistake."""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Result:
    """A grade: shown as its message in a notebook, tested through `passed`."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.passed


@dataclass(frozen=True)
class Mistake:
    """A common wrong version of the solution, and the hint it deserves."""

    fn: Callable
    hint: str


def _as_tuple(out) -> tuple:
    return out if isinstance(out, tuple) else (out,)


def _close(a, b, atol: float, rtol: float | None = None) -> bool:
    rtol = atol if rtol is None else rtol
    a, b = _as_tuple(a), _as_tuple(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(y, torch.Tensor):
            if not isinstance(x, torch.Tensor) or x.shape != y.shape:
                return False
            if (x.dtype == torch.bool) != (y.dtype == torch.bool):  # a mask must be a mask
                return False
            if not torch.allclose(x.detach().float(), y.float(), atol=atol, rtol=rtol):
                return False
        elif x != y:
            return False
    return True


def describe_difference(out, expected) -> str:
    """How `out` differs from `expected`: count, type, shape, dtype or largest difference."""
    out, expected = _as_tuple(out), _as_tuple(expected)
    if len(out) != len(expected):
        return f"it returned {len(out)} value(s), expected {len(expected)}"
    for i, (x, y) in enumerate(zip(out, expected, strict=True)):
        what = f"value {i}" if len(out) > 1 else "the result"
        if isinstance(y, torch.Tensor):
            if not isinstance(x, torch.Tensor):
                return f"{what} is a {type(x).__name__}, expected a tensor"
            if x.shape != y.shape:
                return f"{what} has shape {tuple(x.shape)}, expected {tuple(y.shape)}"
            if (x.dtype == torch.bool) != (y.dtype == torch.bool):
                return f"{what} has dtype {x.dtype}, expected {y.dtype}"
            err = (x.detach().float() - y.float()).abs().max().item()
            if err > 0:
                return f"{what} has the right shape but differs by up to {err:.3g}"
        elif x != y:
            return f"{what} is {x!r}, expected {y!r}"
    return "the results differ"


def call_attempt(attempt: Callable, args: tuple, todo: str) -> object:
    """`attempt(*args)`, or the Result that says why there is nothing to grade yet.

    Not a function, not written yet (NotImplementedError, or None returned), or raising:
    each gets one line and the `todo`, never a traceback.
    """
    if not callable(attempt):
        return Result(False, f"Pass your function itself (no parentheses). {todo}")
    try:
        out = attempt(*args)
    except NotImplementedError:
        return Result(False, f"Not attempted yet. {todo}")
    except Exception as e:  # a learner's bug: report it in one line, never a traceback
        frame = traceback.extract_tb(e.__traceback__)[-1]
        return Result(False, f"Your function raised {type(e).__name__}: {e} "
                             f"(line {frame.lineno}: {frame.line}). {todo}")
    if out is None:
        return Result(False, f"Not attempted yet (your function returned None). {todo}")
    return out


def calls_any(attempt: Callable, names: Sequence[str]) -> str | None:
    """The name in `names` that the attempt is, or that its body calls, if any: an answer that
    calls the package's finished function skips the exercise."""
    if getattr(attempt, "__name__", None) in names:
        return attempt.__name__
    try:
        lines = inspect.getsource(attempt).splitlines()
    except (OSError, TypeError):  # no source to read: a builtin, or code typed in a shell
        return None
    body = "\n".join(lines[1:] if lines[0].lstrip().startswith("def ") else lines)
    return next((name for name in names if f"{name}(" in body), None)


def within(value: float, target: float, rel: float) -> bool:
    """Whether a predicted `value` is within `rel` (a fraction) of `target`."""
    return abs(value - target) <= rel * abs(target)


def read_prediction(prediction: object, keys: Sequence[str], todo: str
                    ) -> tuple[float, ...] | Result:
    """The numbers of a prediction dict {key: number}, in `keys` order, or the Result that
    says what is wrong with it: not a dict, a key missing, a blank (... or None) left, not a
    number."""
    if not isinstance(prediction, dict):
        return Result(False, f"Not yet: give a dict, not a {type(prediction).__name__}. {todo}")
    missing = [k for k in keys if k not in prediction]
    if missing:
        return Result(False, f"Not yet: the dict has no {', '.join(map(repr, missing))}. {todo}")
    values = [prediction[k] for k in keys]
    if any(v is ... or v is None for v in values):
        return Result(False, f"Not attempted yet. {todo}")
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        return Result(False, f"Not yet: each answer must be a number. {todo}")


def grade_choice(answer: object, right: str, mistakes: dict[str, str], todo: str,
                 success: str) -> Result:
    """Grade a one-letter answer: `success` for `right`, the hint of a catalogued wrong
    letter, or `todo` for a blank or for something that is not one of the letters."""
    if answer is ... or answer is None:
        return Result(False, f"Not attempted yet. {todo}")
    choice = str(answer).strip().lower().strip("()")
    if choice == right:
        return Result(True, success)
    if choice in mistakes:
        return Result(False, f"Not yet: {mistakes[choice]}")
    return Result(False, f"Not yet: {answer!r} is not one of the letters. {todo}")


def check_function(
    attempt: Callable,
    reference: Callable,
    cases: Sequence[tuple],
    *,
    todo: str,
    mistakes: Sequence[Mistake] = (),
    success: str = "Correct!",
    atol: float = 1e-5,
    rtol: float | None = None,
    describe: Callable[[tuple, object, object], str] | None = None,
) -> Result:
    """Grade `attempt` against `reference` on each argument tuple in `cases`.

    `rtol` defaults to `atol`. `describe(args, out, expected)`, if given, says how the first
    failing case went wrong (default: its number and how the result differs).
    """
    outs = []
    for args in cases:
        out = call_attempt(attempt, args, todo)
        if isinstance(out, Result):
            return out
        outs.append(out)
    expected = [reference(*args) for args in cases]
    if all(_close(o, e, atol, rtol) for o, e in zip(outs, expected, strict=True)):
        return Result(True, success)
    for mistake in mistakes:
        wrong = [mistake.fn(*args) for args in cases]
        if all(_close(o, w, atol, rtol) for o, w in zip(outs, wrong, strict=True)):
            return Result(False, f"Not yet: {mistake.hint}")
    i = next(i for i, (o, e) in enumerate(zip(outs, expected, strict=True))
             if not _close(o, e, atol, rtol))
    if describe is not None:
        return Result(False, f"Not yet: {describe(cases[i], outs[i], expected[i])}. {todo}")
    why = describe_difference(outs[i], expected[i])
    return Result(False, f"Not yet: on test case {i + 1}, {why}. {todo}")

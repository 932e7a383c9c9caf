"""Worked solutions of the 'Your turn' exercises, one module per chapter (`ch00`, `a1`, ...).

Each module holds `SOLUTIONS`, a dict from a grader's name to what passes it: a function for
an exercise that asks for code, a value for one that asks for a prediction or a number.
Look here after you have tried: `solution("check_attention")` returns it, and
`show(solution("check_attention"))` prints a function's code.

    >>> from annotated.exercises import check_attention
    >>> from annotated.exercises.solutions import solution
    >>> check_attention(solution("check_attention")).passed
    True

The tests prove that every solution passes its grader.
"""

from __future__ import annotations

import importlib
import pkgutil


def chapters() -> dict[str, dict]:
    """Every chapter's SOLUTIONS, by module name."""
    return {m.name: importlib.import_module(f"{__name__}.{m.name}").SOLUTIONS
            for m in pkgutil.iter_modules(__path__)}


def solution(grader: str) -> object:
    """The solution that passes the grader named `grader` (e.g. 'check_attention')."""
    for solutions in chapters().values():
        if grader in solutions:
            return solutions[grader]
    known = sorted(name for s in chapters().values() for name in s)
    raise KeyError(f"no solution for {grader!r}; solutions exist for {known}")

"""Chapter 2 exercises: predict a wavelength, make attention look ahead, break the base, build
the table."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..positional import sinusoidal_frequencies, sinusoidal_table
from .grading import Mistake, Result, call_attempt, check_function, describe_difference


def _table(max_len: int, d_model: int, *, swap: bool = False, concat: bool = False,
           freq_scale: float = 1.0, start: int = 0) -> torch.Tensor:
    """A positional table, right or wrong in one of the ways learners often get it wrong."""
    pos = torch.arange(start, start + max_len, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    angle = pos * sinusoidal_frequencies(d_model) ** freq_scale  # (L, D/2)
    first, second = (torch.cos(angle), torch.sin(angle)) if swap else (torch.sin(angle),
                                                                         torch.cos(angle))
    if concat:
        return torch.cat([first, second], dim=1)  # (L, D)
    return torch.stack([first, second], dim=2).flatten(1)  # (L, D), interleaved


CASES = [(6, 8), (12, 16), (3, 4)]


def _own_exponent(max_len: int, d_model: int) -> torch.Tensor:
    """Every column i with its own exponent i / d_model: the cos columns' frequency is off."""
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    i = torch.arange(d_model, dtype=torch.float32)  # (D,)
    angle = pos / 10000 ** (i / d_model)  # (L, D)
    return torch.where(i.long() % 2 == 0, torch.sin(angle), torch.cos(angle))


def _describe_case(args: tuple, out, expected) -> str:
    max_len, d_model = args
    return (f"for max_len={max_len}, d_model={d_model}, "
            f"{describe_difference(out, expected).replace('the result', 'your table')}")


def check_positional_encoding(attempt: Callable) -> Result:
    """Grade `my_positional_encoding(max_len, d_model)` against the (max_len, d_model) table."""
    return check_function(
        attempt, sinusoidal_table, CASES,
        todo="Write my_positional_encoding(max_len, d_model), returning the (max_len, d_model) "
             "table; the grader will name your mistake.",
        mistakes=[
            Mistake(lambda n, d: _table(n, d, swap=True),
                    "sin and cos are swapped: sin goes on the even dimensions 2k, cos on the "
                    "odd ones 2k+1."),
            Mistake(lambda n, d: _table(n, d, concat=True),
                    "you put all the sines first and all the cosines after (the Tensor2Tensor "
                    "layout); the paper interleaves them: pe[:, 0::2] = sin, pe[:, 1::2] = cos."),
            Mistake(lambda n, d: _table(n, d, freq_scale=2.0),
                    "the exponent is 2k / d_model where 2k is the even dimension itself; you "
                    "used 2 * (2k) / d_model, so the frequencies fall twice as fast."),
            Mistake(lambda n, d: _table(n, d, freq_scale=0.5),
                    "the exponent is 2k / d_model for the pair k; you used k / d_model."),
            Mistake(_own_exponent,
                    "dimension 2k+1 uses the same frequency as 2k: the exponent is 2k / d_model "
                    "for both columns of a pair, not (2k+1) / d_model for the cosine."),
            Mistake(lambda n, d: _table(n, d, start=1),
                    "positions start at 0: use torch.arange(max_len), not arange(1, max_len + 1)."),
        ],
        describe=_describe_case,
        atol=1e-4,  # 10000 ** x and exp(x * log 10000) differ by ~1e-6 at these positions
        success="Correct! The same table as annotated.positional.sinusoidal_table.",
    )


# --- Predict-then-run: the wavelength of one dimension ---

WAVELENGTH_DIM, WAVELENGTH_D_MODEL = 301, 512


def _wavelength(exponent: float, turn: float = 2 * math.pi) -> float:
    return turn * 10000 ** (exponent / WAVELENGTH_D_MODEL)


WAVELENGTH_MISTAKES = [
    (_wavelength(301), "dimension 301 is the cos half of the pair (300, 301): it shares the "
                       "frequency of dimension 300, whose exponent is 300 / d_model."),
    (_wavelength(150), "k counts pairs, the exponent uses 2k: dimension 301 is in pair k = 150,"
                       " so the exponent is 2k / d_model = 300 / 512."),
    (_wavelength(300, 1.0), "that is 1 / w, the positions per radian; a full wave needs the "
                            "angle p·w to grow by 2π, not by 1."),
    (1 / _wavelength(300), "that is a frequency (waves per position); the question asks for a "
                           "length in positions, its inverse."),
    (_wavelength(300, 1.0) ** -1, "that is the angular frequency w itself; the wavelength is "
                                  "2π / w."),
]


def check_wavelength(answer) -> Result:
    """Grade a predicted wavelength, in positions, of dimension 301 when d_model = 512."""
    todo = (f"Set my_wavelength to about how many positions (within 1%) dimension "
            f"{WAVELENGTH_DIM} of the table (d_model = {WAVELENGTH_D_MODEL}) takes to repeat. "
            "Hint 1: find the sin/cos pair the dimension belongs to and that pair's frequency. "
            "Hint 2: sin and cos repeat when their angle grows by a full turn.")
    if answer is None or answer is ...:
        return Result(False, f"Not attempted yet. {todo}")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Result(False, f"Give one number, got {answer!r}. {todo}")
    right = _wavelength(WAVELENGTH_DIM - 1)
    if math.isclose(value, right, rel_tol=0.01):
        return Result(True, f"Correct! About {right:.0f} positions: 2π / w_150. The next cell "
                            "measures it on the table.")
    for wrong, hint in WAVELENGTH_MISTAKES:
        if math.isclose(value, wrong, rel_tol=0.01):
            return Result(False, f"Not yet: {hint}")
    direction = "long" if value > right else "short"
    return Result(False, f"Not yet: {value:.4g} positions is too {direction}. {todo}")


# --- Design: a matrix that makes attention look k positions ahead ---

LOOK_CASES = [(3, 64), (5, 128), (1, 32)]
LOOK_POSITIONS = range(8, 40)  # the query positions p checked; keys q range over 0..59


def _looked_at(matrix: torch.Tensor, d_model: int) -> list[int]:
    """For each query position p, the key position q with the largest PE(p) @ A @ PE(q)."""
    pe = sinusoidal_table(60, d_model)  # (L, D)
    scores = pe @ matrix.detach().float() @ pe.T  # (L, L): row p, column q
    return [int(scores[p].argmax()) - p for p in LOOK_POSITIONS]


def check_look_ahead(attempt: Callable) -> Result:
    """Grade `look_ahead(offset, d_model)`: A with PE(p) @ A @ PE(q) largest at q = p + offset."""
    todo = ("Write look_ahead(offset, d_model) returning a (d_model, d_model) matrix A such "
            "that, for every position p, the score PE(p) @ A @ PE(q) is largest at "
            "q = p + offset. Hint: PE(p)·PE(q) is largest at q = p; what if PE(p) were first "
            "moved offset positions forward?")
    tool = ("Hint 2: section 5's check moved every row of the table at once with "
            "table @ m.T; here PE(p) is a row, on the left of A.")
    for k, d_model in LOOK_CASES:
        matrix = call_attempt(attempt, (k, d_model), todo)
        if isinstance(matrix, Result):
            return matrix
        if not isinstance(matrix, torch.Tensor) or tuple(matrix.shape) != (d_model, d_model):
            shape = tuple(matrix.shape) if isinstance(matrix, torch.Tensor) else type(matrix)
            return Result(False, f"Not yet: for offset={k}, d_model={d_model} return a "
                                 f"({d_model}, {d_model}) tensor, got {shape}. {todo}")
        looked = _looked_at(matrix, d_model)
        if all(o == k for o in looked):
            continue
        if all(o == -k for o in looked):
            return Result(False, f"Not yet: with offset={k}, each position looks {k} places "
                                 "back, not ahead: the rotation acts on the wrong side of the "
                                 "product. Moving PE(q) forward by the offset matches it with "
                                 "PE(p) when q = p - offset.")
        if all(o == 0 for o in looked):
            return Result(False, f"Not yet: with offset={k}, each position still looks "
                                 "hardest at itself: PE(p)·PE(q) alone peaks at q = p. "
                                 f"{tool}")
        p = LOOK_POSITIONS[next(i for i, o in enumerate(looked) if o != k)]
        return Result(False, f"Not yet: for offset={k}, d_model={d_model}, position {p} looks "
                             f"hardest at position {p + looked[p - LOOK_POSITIONS[0]]}, "
                             f"not {p + k}. {tool}")
    return Result(True, "Correct! A linear map turned 'how far' into 'how far, and which "
                        "way': a query made with it looks offset positions ahead.")



# --- Break it: a base of 10 instead of 10000 ---

SMALL_BASE_CHOICES = {
    "a": "the curve stays high far from Δ = 0, as it does with 10000",
    "b": "the curve falls to about 0 within a few positions and then only wobbles",
    "c": "the curve climbs back to 256 at some Δ far from 0",
}
SMALL_BASE_MISTAKES = {
    "a": "the curve stays high with 10000 because some pairs turn very slowly: their cosines "
         "stay near 1 for hundreds of positions. How slowly does the slowest pair turn when "
         "the base is 10?",
    "c": "a return to 256 needs every pair's angle to come back to a full turn at the same Δ; "
         "the frequencies are not whole-number multiples of each other, so they never line "
         "up exactly. Think about how fast the slowest pair now turns.",
}


def check_small_base(answer) -> Result:
    """Grade a prediction of PE(60)·PE(60 + Δ) when 10000 in the formula becomes 10."""
    todo = ("Set my_prediction to 'a', 'b' or 'c'. Hint: the base sets the slowest pair's "
            "wavelength; think about what the slow pairs contribute to a dot product.")
    if answer is None or answer is ...:
        return Result(False, f"Not attempted yet. {todo}")
    choice = str(answer).strip().lower().strip("()")
    if choice == "b":
        return Result(True, "Correct! With base 10 the slowest pair repeats every ~63 "
                            "positions, so no pair stays near 1 for long: beyond a few "
                            "positions every distance looks alike. The next cell draws it.")
    if choice in SMALL_BASE_MISTAKES:
        return Result(False, f"Not yet: {SMALL_BASE_MISTAKES[choice]}")
    return Result(False, f"Give one letter, got {answer!r}. {todo}")

"""Chapter 2 exercise: build the sinusoidal positional-encoding table."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..positional import sinusoidal_frequencies, sinusoidal_table
from .grading import Mistake, Result, check_function, describe_difference


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
        todo="Write my_positional_encoding(max_len, d_model): a (max_len, d_model) tensor with "
             "PE[p, 2k] = sin(p / 10000^(2k / d_model)) and PE[p, 2k+1] = "
             "cos(p / 10000^(2k / d_model)), for positions p = 0 .. max_len - 1.",
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

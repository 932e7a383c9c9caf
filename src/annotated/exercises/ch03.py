"""Chapter 3 exercises: predict the unscaled softmax, design a query, add a temperature."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..attention import attention
from ..examples import she_gave_him_her_book
from .grading import Mistake, Result, check_function, describe_difference


def _reference(query, key, value, mask=None, temperature=1.0):
    return attention(query / temperature, key, value, mask)  # dividing q divides every score


def _variant(query, key, value, mask=None, temperature=1.0, *, scale=None, dim=-1,
             use_mask=True, invert=False, temp=lambda s, t: s / t):
    """Attention with one thing changed: the scale, the axis, the mask or the temperature."""
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / (math.sqrt(d_k) if scale is None else scale(d_k))
    scores = temp(scores, temperature)
    if mask is not None and use_mask:
        hide = mask != 0 if invert else mask == 0
        scores = scores.masked_fill(hide, -1e9)
    weights = scores.softmax(dim=dim)
    return weights @ value, weights


def _cases() -> list[tuple]:
    gen = torch.Generator().manual_seed(3)

    def r(*shape):
        return torch.randn(*shape, generator=gen)

    # Tq != Tk != d_v, so a wrong axis or a swapped return is visible; no row fully masked.
    padding = torch.tensor([[[True, True, True, False, False]],
                            [[True, True, True, True, False]]])  # (B, 1, Tk)
    # Each row keeps some keys and hides others, so an inverted mask hides no row entirely.
    pattern = torch.tensor([[1, 0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1], [1, 0, 0, 1]],
                           dtype=torch.bool)  # (Tq, Tk)
    return [
        (r(2, 3, 8), r(2, 5, 8), r(2, 5, 6), None, 1.0),
        (r(2, 3, 8), r(2, 5, 8), r(2, 5, 6), padding, 1.0),
        (r(1, 4, 16), r(1, 4, 16), r(1, 4, 2), pattern, 1.0),
        (r(2, 3, 8), r(2, 5, 8), r(2, 5, 6), padding, 0.5),
        (r(1, 4, 16), r(1, 4, 16), r(1, 4, 2), None, 4.0),
    ]


def _describe_case(args: tuple, out, expected) -> str:
    q, k, v, mask, temperature = args
    shapes = (f"query {tuple(q.shape)}, key {tuple(k.shape)}, value {tuple(v.shape)}, "
              + ("no mask" if mask is None else f"a mask of shape {tuple(mask.shape)}")
              + f" and temperature {temperature}")
    return f"with {shapes}, {describe_difference(out, expected)}"


ATTENTION_TODO = ("Write my_attention(query, key, value, mask=None, temperature=1.0) and "
                  "return (output, weights). The idea: the same five steps as the real "
                  "attention, with every scaled score divided by the temperature too.")
ATTENTION_TOOLS = ("The tools: key.transpose(-2, -1), math.sqrt, masked_fill with the dtype's "
                   "minimum (torch.finfo; chapter 5 shows why), softmax over the last axis, "
                   "the keys.")


def _she_without_book(attempt: Callable, temperature: float) -> str:
    """Where "she" looks most, and how much, in the learner's attention with "book" hidden."""
    tokens, q, k, v = she_gave_him_her_book()
    mask = torch.tensor([t != "book" for t in tokens])  # (S,): True = may attend
    _, w = attempt(q[:1], k, v, mask, temperature)
    best = int(w[0].argmax())
    return f"{float(w[0, best]):.2f} on {tokens[best]!r}"


def check_attention(attempt: Callable) -> Result:
    """Grade `my_attention(query, key, value, mask=None, temperature=1.0)` -> (out, weights)."""
    result = check_function(
        attempt, _reference, _cases(),
        todo=ATTENTION_TODO,
        mistakes=[
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t, scale=lambda d: 1.0),
                    "divide the scores by sqrt(d_k): without it they grow with d_k and the "
                    "softmax saturates."),
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t, scale=lambda d: d),
                    "divide by the square root of d_k, not by d_k."),
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t,
                                                            temp=lambda s, t: s * t),
                    "the temperature multiplies the scores: divide by it, so that a small "
                    "temperature makes the gaps between scores larger."),
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t,
                                                            temp=lambda s, t: s),
                    "the temperature is ignored: the answers differ only when it is not 1. "
                    "Divide every scaled score by it."),
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t, dim=-2),
                    "take the softmax over the last axis (dim=-1, the keys): each query's "
                    "weights must sum to 1."),
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t, use_mask=False),
                    "the mask is ignored: fill the scores where mask is False (0) with a very "
                    "negative number before the softmax."),
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t, invert=True),
                    "the mask is inverted: True (1) means 'may attend'; hide the places where "
                    "it is False."),
            Mistake(lambda q, k, v, m=None, t=1.0: _variant(q, k, v, m, t)[::-1],
                    "return (output, weights) in that order."),
        ],
        describe=_describe_case,
    )
    if result.passed:
        return Result(True, "Correct! Was your prediction right? With 'book' hidden, your "
                            f"attention gives 'she' {_she_without_book(attempt, 1.0)} at "
                            f"T = 1 and {_she_without_book(attempt, 0.5)} at T = 0.5. Compare "
                            "with annotated.attention, which also copes with fully masked "
                            "rows and float16.")
    if result.message.startswith("Not yet: with "):  # a wrong attempt no named mistake fits
        return Result(False, f"{result.message} {ATTENTION_TOOLS}")
    return result


UNSCALED_D_K = 512
PEAK_RANGE = (0.85, 1.0)  # the measured mean largest weight, unscaled at d_k = 512, is in it


def check_unscaled_peak(prediction) -> Result:
    """Grade a prediction: the mean largest of 10 weights at d_k = 512 without / sqrt(d_k)."""
    todo = ("Set my_prediction to one number between 0 and 1 in this cell, run it, then "
            "run the next cell. The idea: without the division, how spread out are the "
            "scores?")
    if prediction is None or prediction is Ellipsis:
        return Result(False, f"Not attempted yet. {todo}")
    try:
        p = float(prediction)
    except (TypeError, ValueError):
        return Result(False, f"Not yet: give one number, not {type(prediction).__name__}. {todo}")
    low, high = PEAK_RANGE
    if not 0.0 <= p <= 1.0:
        return Result(False, "Not yet: a softmax weight lies between 0 and 1, and so does "
                             "their largest.")
    if p < 0.15:
        return Result(False, "Not yet: about 0.1 is ten equal weights, what softmax gives "
                             "when the scores are all alike. Wide scores do the opposite.")
    if p < 0.5:
        return Result(False, "Not yet: that is about what the scaled attention gives. Without "
                             "the division the scores' standard deviation is sqrt(512), "
                             "about 23, instead of 1.")
    if p < low:
        return Result(False, "Not yet: higher. With a standard deviation of about 23, the "
                             "best of 10 scores is usually many units ahead of the next, "
                             "and e^10 is already 22,000.")
    return Result(True, f"Right: {p:g}. Without the division one key takes almost all the "
                        "weight. Run the next cell to measure it.")


QUERY_TARGET, QUERY_WORD, QUERY_WEIGHT = "she", "her", 0.9


def check_query_design(query) -> Result:
    """Grade a hand-made query for "her" that puts at least 0.9 of its weight on "she"."""
    tokens, _, key, value = she_gave_him_her_book()
    todo = (f"Write a query for {QUERY_WORD!r}: 4 numbers, one per feature (person, female, "
            f"possession, action), that puts at least {QUERY_WEIGHT} of its weight on "
            f"{QUERY_TARGET!r}. The idea: a score is high where the query and a key share a "
            "feature, and a negative entry lowers the score of every key that has it.")
    if query is None or query is Ellipsis:
        return Result(False, f"Not attempted yet. {todo}")
    try:
        q = torch.as_tensor(query, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        return Result(False, f"Not yet: a query is a list or tensor of numbers. {todo}")
    if q.shape != (4,):
        return Result(False, f"Not yet: a query here has 4 entries, one per feature, not "
                             f"shape {tuple(q.shape)}.")
    _, weights = attention(q.view(1, 4), key, value)
    w = dict(zip(tokens, weights[0].tolist(), strict=True))
    rival = max((t for t in tokens if t != QUERY_TARGET), key=w.get)  # the best other word
    got = f"{QUERY_TARGET!r} gets {w[QUERY_TARGET]:.2f}"
    if w[QUERY_TARGET] <= w[rival] + 1e-6:
        if w["her"] >= w[rival] - 1e-6:  # "her" itself is the top rival
            return Result(False, f"Not yet: {got}, and 'her' gets as much: both keys are "
                                 "female. Which feature does 'her' have that 'she' lacks?")
        return Result(False, f"Not yet: {got}, and {rival!r} gets as much or more "
                             f"({w[rival]:.2f}). Read the keys again: which features make "
                             "'she' and no other word?")
    if w[QUERY_TARGET] < QUERY_WEIGHT:
        return Result(False, f"Not yet: {got}, the most, but not {QUERY_WEIGHT}. The winner "
                             "must win by more: what does a longer query (section 8's "
                             "temperature) do to the gaps between the scores?")
    return Result(True, f"Right: {got}. A trained model finds such queries by itself.")

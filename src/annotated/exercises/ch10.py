"""Chapter 10 exercises: RoPE's rotation of one pair, the decoding cache of grouped-query
attention, and reading the ablation table."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..modern import ablation_results, cache_bytes_formula, rotate_pair
from .grading import Mistake, Result, check_function

# --- Implement: RoPE for one pair ---


def _cases_pair() -> list[tuple]:
    g = torch.Generator().manual_seed(10)
    return [(torch.tensor(1.0), torch.tensor(0.0), torch.tensor(math.pi / 2)),
            (torch.randn(6, generator=g), torch.randn(6, generator=g),
             torch.rand(6, generator=g) * 6),
            (torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g),
             torch.tensor(0.7))]


def check_rotate_pair(attempt: Callable) -> Result:
    """Grade `rotate_pair(x1, x2, angle)` -> (y1, y2): the pair turned by `angle` radians."""
    return check_function(
        attempt, rotate_pair, _cases_pair(),
        todo="Hint 1: read (x1, x2) as a point in the plane and turn it anticlockwise by "
             "`angle` around the origin; its length must not change. Hint 2: a turn is a 2 x 2 "
             "matrix of cosines and sines of the angle; write out the two rows of that "
             "matrix times the column (x1, x2), one line each, with torch.cos and torch.sin.",
        mistakes=[
            Mistake(lambda x1, x2, a: (x1 * torch.cos(a) + x2 * torch.sin(a),
                                       -x1 * torch.sin(a) + x2 * torch.cos(a)),
                    "your pair turns clockwise, by -angle. The signs of the two sine terms "
                    "are swapped: (1, 0) turned by a quarter turn should land on (0, 1)."),
            Mistake(lambda x1, x2, a: (x1 * torch.sin(a) - x2 * torch.cos(a),
                                       x1 * torch.cos(a) + x2 * torch.sin(a)),
                    "sine and cosine are swapped: an angle of 0 must leave the pair as it is."),
            Mistake(lambda x1, x2, a: (x1 * torch.cos(a), x2 * torch.sin(a)),
                    "each output needs both inputs: a rotation mixes x1 and x2."),
            Mistake(lambda x1, x2, a: rotate_pair(x1, x2, a * math.pi / 180),
                    "the angle is in radians already, as torch.cos expects: no conversion."),
        ],
        success="Correct! A turn keeps the length, so RoPE changes no norm; and turning q by "
                "m angles and k by n angles leaves their dot product depending on m - n only.",
    )


# --- Predict: the decoding cache of grouped-query attention ---


def cache_bytes_per_token(layers: int, h: int, kv_heads: int, d_model: int,
                          bytes_per_value: int) -> int:
    """The reference answer: per layer, a key and a value of d_k numbers per key/value head."""
    return cache_bytes_formula(layers, kv_heads, d_model // h, bytes_per_value)


def _describe_cache(args: tuple, out, expected) -> str:
    layers, h, kv_heads, d_model, nbytes = args
    return (f"for {layers} layers, h={h}, kv_heads={kv_heads}, d_model={d_model} and "
            f"{nbytes}-byte numbers your function returned {out!r}, expected {expected:,}")


CACHE_CASES = [(2, 4, 4, 128, 4), (6, 8, 2, 512, 2), (32, 32, 8, 4096, 2), (4, 8, 1, 256, 4)]


def check_cache_bytes(attempt: Callable) -> Result:
    """Grade `cache_bytes(layers, h, kv_heads, d_model, bytes_per_value)` -> int: the bytes the
    decoding cache of a decoder stack adds for each token it writes."""
    return check_function(
        attempt, cache_bytes_per_token, CACHE_CASES,
        todo="Hint 1: per layer, the cache keeps what later queries will read: a key and a "
             "value for the new token, for each key/value head, not each query head. Hint 2: "
             "one head's key has d_k = d_model / h numbers; multiply the counts of what is "
             "stored by the bytes of one number.",
        mistakes=[
            Mistake(lambda L, h, kv, D, b: L * 2 * h * (D // h) * b,
                    "that is the cache of plain multi-head attention: the query heads of a "
                    "group share one key/value head, and only those are stored."),
            Mistake(lambda L, h, kv, D, b: L * kv * (D // h) * b,
                    "the cache holds two tensors per layer, the keys and the values."),
            Mistake(lambda L, h, kv, D, b: 2 * kv * (D // h) * b,
                    "every layer has its own attention, so every layer keeps its own cache."),
            Mistake(lambda L, h, kv, D, b: L * 2 * kv * D * b,
                    "a key/value head is d_k = d_model / h wide, not d_model."),
            Mistake(lambda L, h, kv, D, b: L * 2 * kv * (D // h),
                    "that is a count of numbers; multiply by the bytes each one takes."),
        ],
        describe=_describe_cache,
        success="Correct! A LLaMA-2-7B-sized stack (32 layers, 32 heads, d_model 4096) stores "
                "512 KiB per token with 32 key/value heads in 2-byte numbers, 128 KiB with 8.",
    )


# --- Discover: which single switch moved the table most ---


def biggest_switches(rows: list[dict]) -> set[str]:
    """The reference answer: the one-switch rows whose test exact match is furthest from the
    2017 row's, better or worse (several if they tie)."""
    base = next(r for r in rows if not r["config"])
    gaps = {r["name"]: abs(r["exact_match"] - base["exact_match"])
            for r in rows if len(r["config"]) == 1}
    top = max(gaps.values())
    return {name for name, gap in gaps.items() if gap == top}


def check_biggest_switch(answer, rows: list[dict] | None = None) -> Result:
    """Grade the name of the ablation row (one switch flipped) that moved exact match most."""
    rows = ablation_results() if rows is None else rows
    names = [r["name"] for r in rows]
    todo = ("Hint 1: compare each row that flips one switch with the 2017 row, in the exact "
            "match column; a switch that hurts moved the table as much as one that helps. "
            "Hint 2: the size of a difference, not its sign. Give the row's name as a string.")
    if answer is ... or answer is None:
        return Result(False, f"Not attempted yet. {todo}")
    if answer not in names:
        return Result(False, f"Not yet: {answer!r} is no row of the table; the rows are "
                             f"{names}. {todo}")
    row = rows[names.index(answer)]
    if answer in biggest_switches(rows):
        base = next(r for r in rows if not r["config"])
        gap = row["exact_match"] - base["exact_match"]
        return Result(True, f"Correct! {answer} moved exact match by {gap:+.3f}. Now compare "
                            "that with how far the seeds of one row fall apart: a gap smaller "
                            "than that spread is within the noise.")
    if not row["config"]:
        return Result(False, "Not yet: that is the 2017 row, the one every other row is "
                             "compared with.")
    if len(row["config"]) > 1:
        return Result(False, "Not yet: that row flips several switches at once, so it cannot "
                             "say which one mattered. Look at the rows that flip one.")
    best = max((r for r in rows if len(r["config"]) == 1), key=lambda r: r["exact_match"])
    if answer == best["name"]:
        return Result(False, "Not yet: that is the best row, but the question asks for the "
                             "row furthest from the 2017 row, better or worse.")
    return Result(False, f"Not yet: another row is further from the 2017 row. {todo}")

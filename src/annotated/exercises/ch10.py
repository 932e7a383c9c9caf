"""Chapter 10 exercises: RoPE on a whole vector, the decoding cache of a real model, the
sine table kept beside RoPE, and reading the ablation table."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..modern import ablation_results, cache_bytes_formula
from .grading import Mistake, Result, calls_any, check_function, grade_choice, read_prediction

# --- Implement: RoPE on a whole query or key ---

ROPE_BASE = 10000.0
PACKAGE_ROPE = ("RotaryEmbedding", "rotate_pair", "rope_track")  # the answer ready-made


def _turned(x: torch.Tensor, m: int, neighbours: bool = False, sign: float = 1.0,
            exponent: float = 2.0, positions: bool = True) -> torch.Tensor:
    """x (..., d_k) turned as RoPE does at position m; the keywords build the mistakes."""
    d_k = x.size(-1)
    i = torch.arange(d_k // 2, dtype=torch.float32)
    angle = sign * (m if positions else 1) * ROPE_BASE ** (-exponent * i / d_k)  # (d_k/2,)
    if neighbours:
        x1, x2 = x[..., 0::2], x[..., 1::2]
    else:
        x1, x2 = x[..., : d_k // 2], x[..., d_k // 2:]
    y1 = x1 * torch.cos(angle) - x2 * torch.sin(angle)
    y2 = x1 * torch.sin(angle) + x2 * torch.cos(angle)
    if neighbours:
        return torch.stack([y1, y2], dim=-1).flatten(-2)
    return torch.cat([y1, y2], dim=-1)


def rope_at(x: torch.Tensor, m: int) -> torch.Tensor:
    """The reference answer: x (..., d_k) at position m, turned pair by pair (split halves)."""
    return _turned(x, m)


def _cases_rope() -> list[tuple]:
    g = torch.Generator().manual_seed(10)
    return [(torch.tensor([1.0, 0.0, 0.0, 0.0]), 1),
            (torch.randn(8, generator=g), 3),
            (torch.randn(3, 16, generator=g), 5),
            (torch.randn(64, generator=g), 10)]


def check_rope(attempt: Callable) -> Result:
    """Grade `rope(x, m)` -> x turned as RoPE turns a query or key at position m."""
    if name := calls_any(attempt, PACKAGE_ROPE):
        return Result(False, f"Not yet: your answer calls {name}, the package's finished "
                             "RoPE. Write the turn of each pair yourself.")
    return check_function(
        attempt, rope_at, _cases_rope(),
        todo="Open the hints above one at a time.",
        mistakes=[
            Mistake(lambda x, m: _turned(x, m, neighbours=True),
                    "you paired neighbours, (0, 1), (2, 3), ..., as Meta's LLaMA code does. "
                    "This exercise, like the package, pairs dimension i with i + d_k / 2."),
            Mistake(lambda x, m: _turned(x, m, sign=-1.0),
                    "your pairs turn clockwise, by -m theta_i. A quarter turn should take "
                    "(1, 0) to (0, 1): check the signs of the two sine terms."),
            Mistake(lambda x, m: _turned(x, m, exponent=1.0),
                    "theta_i is 10000^(-2i / d_k): the exponent has a factor 2, so the last "
                    "pair turns about 10,000 times slower than the first."),
            Mistake(lambda x, m: _turned(x, m, positions=False),
                    "every pair turns by theta_i whatever the position: the angle is m times "
                    "theta_i."),
        ],
        success="Correct! Each pair turned by m theta_i, the length kept. The package's "
                "RotaryEmbedding does the same for a whole (B, H, T, d_k) tensor.",
    )


# --- Predict: the decoding cache of a real model ---

LLAMA2_70B = {"layers": 80, "h": 64, "d_model": 8192, "bytes": 2}
CACHE_KEYS = ("kv_heads=64", "kv_heads=8")


def llama_cache(kv_heads: int, d_k: int = 128, layers: int = 80, bytes_per_value: int = 2,
                kv_values: int = 2) -> int:
    """Bytes a token adds to the cache of a LLaMA-2-70B-sized stack; keywords build mistakes."""
    return cache_bytes_formula(layers, kv_heads, d_k, bytes_per_value) * kv_values // 2


# Wrong answers with their hint: each gives the bytes for a number of key/value heads.
CACHE_MISTAKES = [
    (lambda kv: llama_cache(kv, kv_values=1),
     "half the answer. Each layer keeps two tensors, the keys and the values (or did you "
     "count 1-byte numbers?)."),
    (lambda kv: llama_cache(kv, d_k=8192),
     "a key/value head holds d_k = d_model / h = 128 numbers, not d_model."),
    (lambda kv: llama_cache(kv, layers=1),
     "that is one layer; each of the 80 layers keeps its own cache."),
    (lambda kv: llama_cache(kv, bytes_per_value=4),
     "that is for 4-byte float32 numbers; the model runs in 2-byte numbers."),
    (lambda kv: llama_cache(64),
     "both answers are the multi-head cache: with 8 key/value heads, only 8 are stored, "
     "whatever the number of query heads."),
]


def check_llama_cache(prediction: object) -> Result:
    """Grade a prediction {"kv_heads=64": bytes, "kv_heads=8": bytes}: the bytes each written
    token adds to the cache of LLaMA 2 70B (80 layers, h = 64, d_model = 8192, 2-byte numbers),
    with one key/value head per query head and with 8. Within 5% counts."""
    todo = "Fill in both numbers, in bytes; the hints above help one step at a time."
    values = read_prediction(prediction, CACHE_KEYS, todo)
    if isinstance(values, Result):
        return values

    def near(got: tuple[float, ...], want: tuple[int, ...]) -> bool:
        return all(abs(g - w) <= 0.05 * w for g, w in zip(got, want, strict=True))

    truth = (llama_cache(64), llama_cache(8))
    if near(values, truth):
        return Result(True, f"Correct! {truth[0]:,} bytes a token with 64 key/value heads, "
                            f"{truth[1]:,} with 8: eight times less.")
    for wrong, hint in CACHE_MISTAKES:
        if near(values, (wrong(64), wrong(8))):
            return Result(False, f"Not yet: {hint}")
    if near(values[1:], truth[1:]):
        return Result(False, "Not yet: the answer for 8 key/value heads is right; with 64, "
                             "every query head has its own key and value head.")
    return Result(False, f"Not yet: {todo}")


# --- Break it: keep the sine table and add RoPE ---

SINES_PLUS_ROPE = {
    "a": "the sine table is added before W_q and W_k. RoPE's turns cancel only the turns; "
         "the table's cross terms are still there.",
    "c": "the two do not cancel: one is added to the input, the other turns q and k after "
         "W_q and W_k. The scores still move.",
}


def check_sines_plus_rope(answer: object) -> Result:
    """Grade the letter for: with the sine table added and RoPE on, does a score depend only
    on the distance m - n?"""
    return grade_choice(
        answer, "b", SINES_PLUS_ROPE,
        todo="Answer with one of the letters a, b or c.",
        success="Correct! RoPE makes q_m·k_n depend on m - n only if q and k carry no "
                "position before they are turned. The table puts it back through the cross "
                "terms.")


# --- Discover: which single switch moved the table most ---


def biggest_switches(rows: list[dict]) -> set[str]:
    """The reference answer: the one-switch rows whose test exact match is furthest from the
    base row's, better or worse (several if they tie)."""
    base = next(r for r in rows if not r["config"])
    gaps = {r["name"]: abs(r["exact_match"] - base["exact_match"])
            for r in rows if len(r["config"]) == 1}
    top = max(gaps.values())
    return {name for name, gap in gaps.items() if gap == top}


VERDICTS = ("larger", "within", "one seed")


def verdict_word(row_name: str, rows: list[dict]) -> str:
    """The reference verdict for a row, one of VERDICTS, by the rule of the chapter."""
    from ..modern import ablation_verdicts  # the rule the chapter prints afterwards

    verdict = next(v for name, _, _, v in ablation_verdicts(rows) if name == row_name)
    return next(word for word in VERDICTS if verdict.startswith(word))


def check_biggest_switch(answer: object, rows: list[dict] | None = None) -> Result:
    """Grade {"row": name, "verdict": "larger" | "within" | "one seed"}: the one-switch row that
    moved exact match most, and whether its gap beats the seeds' spread."""
    rows = ablation_results() if rows is None else rows
    names = [r["name"] for r in rows]
    todo = (f'Give a dict {{"row": a row\'s name, "verdict": one of {list(VERDICTS)}}}; the '
            "hints above help one step at a time.")
    if not isinstance(answer, dict) or not {"row", "verdict"} <= answer.keys():
        return Result(False, f"Not yet: {todo}")
    name, verdict = answer["row"], answer["verdict"]
    if name is ... or verdict is ...:
        return Result(False, f"Not attempted yet. {todo}")
    if name not in names:
        return Result(False, f"Not yet: {name!r} is no row of the table; the rows are "
                             f"{names}.")
    row = rows[names.index(name)]
    if not row["config"]:
        return Result(False, "Not yet: that is the base row, the one every other row is "
                             "compared with.")
    if len(row["config"]) > 1:
        return Result(False, "Not yet: that row flips several switches at once, so it cannot "
                             "say which one mattered. Look at the rows that flip one.")
    if name not in biggest_switches(rows):
        return Result(False, "Not yet: another one-switch row is further from the base row, "
                             "better or worse: compare the sizes of the gaps, not their signs.")
    right = verdict_word(name, rows)
    if verdict != right:
        if verdict not in VERDICTS:
            return Result(False, f"Not yet: the verdict must be one of {list(VERDICTS)}.")
        if right == "one seed":
            return Result(False, "Not yet: the row is right. The gap beats the base row's "
                                 "spread, but count the dots of this row: a single seed has no "
                                 "spread of its own.")
        return Result(False, "Not yet: the row is right. For the verdict, compare the gap with "
                             "the larger of the two rows' spreads, max minus min of their "
                             "seeds.")
    return Result(True, f"Correct! {name} moved exact match most; verdict: {right}. The cell "
                        "below prints the rule for every row.")

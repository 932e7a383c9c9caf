"""Chapter 5 exercises: predict the rows a batch hides, fix a buggy decoder mask, build a
causal mask, apply a mask inside softmax."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..attention import masked_fill_value
from ..data import Batch
from ..masks import make_std_mask, subsequent_mask
from .grading import Mistake, Result, calls_any, check_function, describe_difference


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis where `mask` is True, zeros where a row sees nothing: the
    reference answer."""
    weights = _fill_softmax(scores, mask)
    return weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)


def _fill_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return scores.masked_fill(~mask, masked_fill_value(scores.dtype)).softmax(dim=dim)


def _ones(size: int) -> torch.Tensor:
    return torch.ones(1, size, size, dtype=torch.bool)


def check_causal_mask(attempt: Callable) -> Result:
    """Grade `causal_mask(size)`: a (1, size, size) bool mask, True where key j <= query i."""
    return check_function(
        attempt, subsequent_mask, [(1,), (4,), (6,)],
        todo="Return a (1, size, size) bool tensor that is True on and below the diagonal "
             "(query i may see keys 0..i). torch.tril keeps the lower triangle of a matrix.",
        mistakes=[
            Mistake(lambda n: torch.tril(_ones(n)).float(),
                    "the values are right but the dtype is not bool: attention's masks "
                    "are bool (True = may attend). Add .bool() or build it from a bool "
                    "tensor."),
            Mistake(lambda n: torch.triu(_ones(n), diagonal=1),
                    "you returned the positions to hide. In this course True means 'may "
                    "attend': invert it (~mask), or build it with torch.tril."),
            Mistake(lambda n: torch.triu(_ones(n)),
                    "this upper triangle lets word i see the words after it: the future. "
                    "Keep the lower triangle (torch.tril) instead."),
            Mistake(lambda n: torch.tril(_ones(n), diagonal=-1),
                    "the diagonal is hidden, so a word cannot look at itself (and the first "
                    "word sees nothing at all). Use diagonal=0."),
        ],
        success="Correct! Word i may look at words 0..i and never ahead.",
    )


def _cases_softmax() -> list[tuple]:
    g = torch.Generator().manual_seed(5)
    scores = torch.randn(2, 3, 4, generator=g) * 3  # (B, queries, keys)
    pads = torch.tensor([[[True, True, True, False]], [[True, True, False, False]]])  # (B, 1, 4)
    causal = subsequent_mask(4)  # (1, 4, 4)
    blind = causal.clone()
    blind[0, 0] = False  # the first query may see no key at all
    return [(scores, pads), (torch.randn(1, 4, 4, generator=g), causal),
            (torch.randn(1, 4, 4, generator=g), blind),
            (scores.half(), pads)]  # float16 last: the article's -1e9 fails there


def _describe_softmax(args: tuple, out, expected) -> str:
    scores, mask = args
    if isinstance(out, torch.Tensor) and torch.isnan(out).any():
        return ("your result has NaN: a row whose keys are all hidden gives 0 / 0 after a "
                "-inf fill. Fill with a finite number the dtype can hold, and make a row "
                "that sees no key come out as zeros")
    kind = "float16" if scores.dtype == torch.float16 else "float32"
    return (f"on {kind} scores of shape {tuple(scores.shape)} with a mask of shape "
            f"{tuple(mask.shape)}, {describe_difference(out, expected)}")


def check_masked_softmax(attempt: Callable) -> Result:
    """Grade `masked_softmax(scores, mask)`: softmax where the mask is True, 0 elsewhere."""
    return check_function(
        attempt, masked_softmax, _cases_softmax(),
        todo="Hide the scores where mask is False before the softmax over the last axis: "
             "replace them by a number so negative that its exp() is 0, yet one the scores' "
             "dtype can hold. Ask the dtype for its limit, not -1e9: float16 stops at -65504. "
             "A row that sees no key must come out as zeros.",
        mistakes=[
            Mistake(lambda s, m: s.softmax(dim=-1) * m,
                    "you zeroed the weights after softmax, so the rows no longer sum to 1. "
                    "Mask the scores before the softmax instead."),
            Mistake(lambda s, m: s.masked_fill(m, masked_fill_value(s.dtype)).softmax(dim=-1),
                    "you hid the positions where the mask is True. True means 'may attend': "
                    "fill where it is False (~mask, or mask == 0)."),
            Mistake(_fill_softmax,
                    "almost: a row whose keys are all hidden comes out uniform (it averages "
                    "hidden keys). Find the rows whose mask has no True at all and make them "
                    "zeros."),
            Mistake(lambda s, m: _fill_softmax(s, m, dim=-2),
                    "your softmax ran over the queries (dim=-2). Each query's weights over "
                    "the keys must sum to 1: softmax(dim=-1)."),
        ],
        describe=_describe_softmax,
        atol=2e-3,  # float16 rounding: a float32 computation cast back is right too
        success="Correct! Hidden keys get exactly 0 and each row still sums to 1, in "
                "float16 too.",
    )


# --- Find the bug: a decoder mask that lets each word see one word too far ---

def buggy_std_mask(tgt: torch.Tensor, pad: int) -> torch.Tensor:
    """The decoder's (B, T, T) mask, written with one bug in it: find it."""
    T = tgt.size(-1)
    real = (tgt != pad).unsqueeze(-2)  # (B, 1, T)
    past = torch.tril(torch.ones(1, T, T, dtype=torch.bool), diagonal=1)  # (1, T, T)
    return real & past  # (B, T, T)


def _tril(T: int, diagonal: int = 0) -> torch.Tensor:
    return torch.tril(torch.ones(1, T, T, dtype=torch.bool), diagonal=diagonal)


def _cases_std_mask() -> list[tuple]:
    return [(torch.tensor([[1, 11, 12, 2, 0]]), 0),  # <s> ich schlafe </s> <pad>
            (torch.tensor([[1, 5, 6, 7, 2, 0], [1, 8, 2, 0, 0, 0]]), 0),
            (torch.tensor([[1, 4, 2]]), 0)]  # no padding at all


PACKAGE_MASKS = ("make_std_mask", "subsequent_mask")  # the answer ready-made: not a fix


def check_fixed_mask(attempt: Callable) -> Result:
    """Grade `fixed_std_mask(tgt, pad)`: buggy_std_mask with its bug found and fixed."""
    if name := calls_any(attempt, PACKAGE_MASKS):
        return Result(False, f"Not yet: your answer calls {name}, the package's finished mask, "
                             "so it skips the bug. Start from buggy_std_mask's own lines and "
                             "change what is wrong there.")
    return check_function(
        attempt, make_std_mask, _cases_std_mask(),
        todo="Training feeds the whole target at once, and position i must predict the word "
             "at position i + 1. Print buggy_std_mask's rows for one short target beside the "
             "target mask drawn above, and look for a key that a query should not see.",
        mistakes=[
            Mistake(buggy_std_mask,
                    "this is still the buggy mask: query i may see key i + 1, the very word it "
                    "must predict. Training would copy it and learn nothing."),
            Mistake(lambda t, p: (t != p).unsqueeze(-2) & _tril(t.size(-1), diagonal=-1),
                    "now the future is hidden, but so is the diagonal: a word cannot look at "
                    "itself, and the first query, <s>, sees no key at all."),
            Mistake(lambda t, p: _tril(t.size(-1)).expand(t.size(0), -1, -1),
                    "the future is hidden but the pads are not: keep the padding part of the "
                    "mask and fix only the triangle."),
            Mistake(lambda t, p: (t != p).unsqueeze(-1) & _tril(t.size(-1)),
                    "you hid the pad queries (rows) instead of the pad keys (columns): a pad is "
                    "hidden as something to look at, so its axis is the last one."),
            Mistake(lambda t, p: (t != p).unsqueeze(-2) & ~_tril(t.size(-1)),
                    "your triangle is the wrong one: it shows each word the words after it and "
                    "hides the words before."),
        ],
        success="Correct! The bug was one diagonal too far: query i saw key i + 1, the answer "
                "it is trained to predict.",
    )


# --- Predict then run: which query rows of a batch see nothing? ---

ZERO_ROW_TARGETS = (["ich", "schlafe"], ["die", "katze", "trinkt", "milch"], ["ja"])


def zero_rows_batch() -> tuple[list[list[str]], Batch]:
    """Three target sentences with <s> and </s>, padded into one Batch (source: the same)."""
    vocab = ["<pad>", "<s>", "</s>"] + sorted({w for s in ZERO_ROW_TARGETS for w in s})
    tokens = [["<s>", *s, "</s>"] for s in ZERO_ROW_TARGETS]
    T = max(len(t) for t in tokens)
    tokens = [t + ["<pad>"] * (T - len(t)) for t in tokens]
    ids = torch.tensor([[vocab.index(w) for w in t] for t in tokens])  # (B, T + 1)
    return tokens, Batch(ids, ids, pad=0)


def zero_rows(mask: torch.Tensor) -> list[list[int]]:
    """For each sentence of a (B, T, T) mask, the query positions that may see no key."""
    return [torch.nonzero(~m.any(dim=-1)).flatten().tolist() for m in mask]


def _pad_positions(tokens: list[list[str]], start: int = 0) -> list[list[int]]:
    return [[i + start for i, w in enumerate(t) if w == "<pad>"] for t in tokens]


def check_zero_rows(answer) -> Result:
    """Grade a prediction: for each sentence of zero_rows_batch(), the all-hidden query rows."""
    tokens, batch = zero_rows_batch()
    todo = ("Set my_zero_rows to one list per sentence of the query positions (counting from 0) "
            "whose row of batch.tgt_mask is False everywhere. Hint 1: the decoder reads the "
            "target without its last position, so find what it reads first. Hint 2: a row "
            "sees nothing when the query itself is not a word, so ask which positions of "
            "what the decoder reads hold no word.")
    if answer is None or answer is ...:
        return Result(False, f"Not attempted yet. {todo}")
    try:
        given = [sorted(int(i) for i in row) for row in answer]
    except (TypeError, ValueError):
        return Result(False, f"Give a list of {len(tokens)} lists of positions, got {answer!r}. "
                             f"{todo}")
    if len(given) != len(tokens):
        return Result(False, f"Give one list per sentence: {len(tokens)} lists, got "
                             f"{len(given)}. {todo}")
    right = zero_rows(batch.tgt_mask)
    if given == right:
        return Result(True, "Correct! The decoder reads tgt[:, :-1], and each pad it reads is a "
                            "query that may see nothing. Run the next cell to see their rows.")
    reads = [t[:-1] for t in tokens]
    no_eos = [[w for w in t if w != "</s>"] + ["<pad>"] for t in tokens]
    mistakes = [
        (_pad_positions(tokens),
         "you counted the pads of the full target. The decoder reads the target without its "
         "last column (tgt[:, :-1]), one position shorter."),
        (_pad_positions([t[:-1] for t in no_eos]),
         "you removed each sentence's </s>. The shift drops the last column of the padded "
         "batch, so a short sentence keeps its </s> as something it reads."),
        ([[] for _ in tokens],
         "make_std_mask alone never hides a whole row: a pad query may still see the real words "
         "before it. Batch adds one more mask that hides the rows of pad queries."),
        (_pad_positions(reads, start=1),
         "right pads, wrong numbers: positions count from 0, so <s> is position 0."),
    ]
    for wrong, hint in mistakes:
        if given == wrong:
            return Result(False, f"Not yet: {hint}")
    return Result(False, f"Not yet: {given} is not it. {todo}")

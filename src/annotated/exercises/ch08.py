"""Chapter 8 exercises: exact match, one greedy decoding step, beam search's length penalty."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch

from ..data import pad_sequences
from ..decoding import length_penalty, next_log_probs
from ..masks import padding_mask, subsequent_mask
from ..metrics import exact_match
from ..model import make_model
from ..pretrained import load
from .grading import Mistake, Result, check_function


def _as_number(attempt: Callable) -> Callable:
    """The attempt with a numeric result turned into a float64 tensor: compared with a tolerance."""
    if not callable(attempt):
        return attempt  # check_function says to pass the function itself

    @functools.wraps(attempt)
    def wrapped(*args):
        out = attempt(*args)
        if out is None or isinstance(out, torch.Tensor):
            return out
        return torch.tensor(float(out), dtype=torch.float64)

    return wrapped


def _number(fn: Callable) -> Callable:
    return lambda *args: torch.tensor(float(fn(*args)), dtype=torch.float64)


EXACT_CASES = [
    (["twenty-one", "one hundred", "zero"], ["twenty-one", "one hundred and one", "zero"]),
    (["seven thousand", "nine hundred and one"], ["seven thousand and fifty",
                                                  "nine hundred and one"]),
    (["Twenty-one", "ten thousand"], ["twenty-one", "ten thousand"]),
]


def _word_accuracy(hyps: Sequence[str], refs: Sequence[str]) -> float:
    pairs = [(h.split(), r.split()) for h, r in zip(hyps, refs, strict=True)]
    right = sum(a == b for h, r in pairs for a, b in zip(h, r, strict=False))
    return right / sum(len(r) for _, r in pairs)


def check_exact_match(attempt: Callable) -> Result:
    """Grade `exact_match(hyps, refs)`: the share of hypotheses equal to their reference."""
    return check_function(
        _as_number(attempt), _number(exact_match), EXACT_CASES,
        todo="Count the pairs (hyp, ref) with hyp == ref, then divide by the number of "
             "references: a float from 0.0 to 1.0.",
        mistakes=[
            Mistake(_number(lambda h, r: sum(a == b for a, b in zip(h, r, strict=True))),
                    "that is the number of exact matches; divide by len(refs) to get a share "
                    "from 0 to 1."),
            Mistake(_number(lambda h, r: sum(b.startswith(a) for a, b in zip(h, r, strict=True))
                            / len(r)),
                    "'seven thousand' is not 'seven thousand and fifty': a translation that "
                    "stops early is a different number. Compare whole strings with ==."),
            Mistake(_number(lambda h, r: sum(a.lower() == b.lower()
                                             for a, b in zip(h, r, strict=True)) / len(r)),
                    "exact means character for character: 'Twenty-one' is not 'twenty-one'. "
                    "Do not lower-case."),
            Mistake(_number(_word_accuracy),
                    "you scored words, giving partial credit. Exact match scores whole "
                    "translations: one wrong word makes the whole number wrong."),
        ],
        success="Correct! One wrong word makes a whole translation count as wrong; BLEU, "
                "below, gives partial credit instead.",
    )


@functools.cache
def _greedy_cases() -> list[tuple]:
    with torch.random.fork_rng(devices=[]):  # building a model draws random numbers:
        numbers = load("numbers")  # leave the learner's own sequence alone
    model, sv, tv = numbers.model, numbers.src_vocab, numbers.tgt_vocab
    sources = [numbers.task.source_tokens(t) for t in
               ("dreihundertfünfundvierzigtausendsechshundertachtundsiebzig",
                "三十四万五千六百七十八", "einundzwanzig")]
    src = pad_sequences([sv.encode(s) for s in sources], sv.pad)  # (B, S)
    src_mask = padding_mask(src, sv.pad)  # (B, 1, S)
    with torch.no_grad():
        memory = model.encode(src, src_mask)  # (B, S, D)
    start = torch.full((3, 1), tv.bos, dtype=torch.long)  # (B, 1)
    prefix = torch.tensor([tv.encode("three hundred and".split(), bos=True)] * 3)  # (B, 4)
    # A random model reading an odd prefix: there, forgetting the causal mask shows.
    # (With seed 4, 2 of its 16 rows differ; with the trained model none do.)
    g = torch.Generator().manual_seed(4)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        toy = make_model(9, 9, N=3, d_model=16, d_ff=32, h=2, dropout=0.0).eval()
    toy_src = torch.randint(1, 9, (16, 5), generator=g)  # (B, S)
    with torch.no_grad():
        toy_memory = toy.encode(toy_src, None)  # (B, S, D)
    toy_ys = torch.randint(1, 9, (16, 6), generator=g)  # (B, T)
    return [(model, memory, src_mask, start), (model, memory, src_mask, prefix),
            (toy, toy_memory, None, toy_ys)]


@torch.no_grad()
def greedy_step(model, memory: torch.Tensor, src_mask: torch.Tensor | None,
                ys: torch.Tensor) -> torch.Tensor:
    """The reference answer: ys (B, T) with the most likely next token appended, (B, T + 1)."""
    next_word = next_log_probs(model, memory, src_mask, ys, None).argmax(dim=-1)  # (B,)
    return torch.cat([ys, next_word.unsqueeze(1)], dim=1)  # (B, T + 1)


@torch.no_grad()
def _step_from(model, memory, src_mask, ys, position: int = -1, causal: bool = True,
               append: bool = True) -> torch.Tensor:
    """Wrong versions of greedy_step, for the hints."""
    mask = subsequent_mask(ys.size(1)) if causal else None
    out = model.decode(memory, src_mask, ys, mask)  # (B, T, D)
    next_word = model.generator(out[:, position]).argmax(dim=-1)  # (B,)
    return torch.cat([ys, next_word.unsqueeze(1)], dim=1) if append else next_word


def check_greedy_step(attempt: Callable) -> Result:
    """Grade `greedy_step(model, memory, src_mask, ys)` -> ys with one more token, (B, T + 1)."""
    return check_function(
        attempt, greedy_step, _greedy_cases(),
        todo="Decode the whole prefix: out = model.decode(memory, src_mask, ys, "
             "subsequent_mask(ys.size(1))) gives (B, T, D); turn the LAST position into "
             "log-probabilities with model.generator(out[:, -1]) (B, V); take the argmax (B,) "
             "and append it: torch.cat([ys, next_word.unsqueeze(1)], dim=1).",
        mistakes=[
            Mistake(functools.partial(_step_from, position=0),
                    "you used the first position's output, out[:, 0], which predicts the "
                    "word after <s> every time. The next word comes from the last position: "
                    "out[:, -1]."),
            Mistake(functools.partial(_step_from, causal=False),
                    "without the causal mask (subsequent_mask(T)) each earlier position sees "
                    "the words after it, which it never did in training."),
            Mistake(functools.partial(_step_from, append=False),
                    "you returned the new tokens alone, shape (B,). Return the whole prefix "
                    "with them appended, (B, T + 1): torch.cat([ys, next_word.unsqueeze(1)], "
                    "dim=1)."),
        ],
        success="Correct! That is one step of greedy decoding without a cache: the decoder "
                "reruns the whole prefix each time. greedy_decode repeats it until </s>.",
    )


LENGTH_CASES = [(1, 0.6), (10, 0.6), (25, 1.0), (7, 0.0), (3, 2.0)]


def check_length_penalty(attempt: Callable) -> Result:
    """Grade `length_penalty(length, alpha)`: GNMT's ((5 + length) / 6) ** alpha."""
    return check_function(
        _as_number(attempt), _number(length_penalty), LENGTH_CASES,
        todo="Return ((5 + length) / 6) ** alpha: 1 for a one-token output, growing with "
             "the length, and 1 for every length when alpha = 0.",
        mistakes=[
            Mistake(_number(lambda n, a: n**a),
                    "length ** alpha is the simplest penalty, but GNMT's is "
                    "((5 + length) / 6) ** alpha: it grows more gently for short outputs."),
            Mistake(_number(lambda n, a: (5 + n) / 6**a),
                    "the brackets: ** binds tighter than /, so (5 + length) / 6 ** alpha "
                    "raises only the 6. Write ((5 + length) / 6) ** alpha."),
            Mistake(_number(lambda n, a: (5 + n) / 6 * a),
                    "alpha is an exponent, not a factor: ((5 + length) / 6) ** alpha."),
        ],
        success="Correct! Dividing a hypothesis' log-probability by this stops beam search "
                "from preferring outputs that are short only because every token costs.",
    )

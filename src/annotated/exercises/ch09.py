"""Chapter 9 exercises: subword pieces back into text, batches with the least padding, and
the BLEU of half a translation."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..data import padding_share
from .grading import Mistake, Result, call_attempt, check_function, within

SPACE = "\u2581"  # '▁', sentencepiece's mark for "a space came before this piece"


def detokenize(pieces: list[str]) -> str:
    """Join sentencepiece pieces into text: the reference answer."""
    return "".join(pieces).replace(SPACE, " ").strip()


DETOKENIZE_CASES = [
    (["▁Ein", "▁Hund", "."],),
    (["▁Zwei", "▁junge", "▁Männer", "▁viel", "er", "▁Bü", "sche", "."],),
    (["▁A", "▁little", "▁girl", "▁climb", "ing", "▁into", "▁a", "▁wooden", "▁play", "house"],),
]


def check_detokenize(attempt: Callable) -> Result:
    """Grade `detokenize(pieces)`: ['▁Ein', '▁Hund', '.'] -> 'Ein Hund.'"""
    return check_function(
        attempt, detokenize, DETOKENIZE_CASES,
        todo="Glue the pieces together with no separator, then turn each '▁' (the character "
             "'\\u2581') into a space and strip the space at the start.",
        mistakes=[
            Mistake(lambda p: " ".join(p),
                    "joining with spaces cuts words apart ('viel er'). Join with '' and let "
                    "the '▁' marks say where the spaces go."),
            Mistake(lambda p: " ".join(p).replace(SPACE, ""),
                    "joining with spaces cuts words apart ('viel er'). Join with '' and let "
                    "the '▁' marks say where the spaces go."),
            Mistake(lambda p: "".join(p),
                    "the '▁' marks are still there: replace each one by a space."),
            Mistake(lambda p: "".join(p).replace(SPACE, " "),
                    "almost: the first piece's '▁' leaves a space at the start; strip it."),
        ],
        success="Correct! 'viel' + 'er' became 'vieler' again: pieces without '▁' continue "
                "the word before them.",
    )


# --- Design: the batches with the least padding ---

def fewest_pads(lengths: list[int], batch_size: int) -> list[list[int]]:
    """The reference answer: sort the indices by length, then cut into consecutive batches."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _fewest_pads_cases() -> list[tuple[list[int], int]]:
    g = torch.Generator().manual_seed(90)
    long_tail = [int(x) for x in torch.randint(3, 40, (64,), generator=g)]
    return [([3, 9, 4, 8], 2), ([1, 9, 2, 8, 3, 7], 3), (long_tail, 8), ([5] * 6, 3)]


FEWEST_TODO = (
    "Return a list of batches, each a list of sentence indices, every index used once, "
    "every batch exactly batch_size long. Hint 1: a batch costs len(batch) x its longest "
    "sentence; which sentences should share a batch so that nobody pays for a much longer "
    "neighbour? Hint 2: Python's sorted() takes key=, and sorting range(len(lengths)) "
    "gives indices, not lengths.")


def _is_partition(out: object, n: int, batch_size: int) -> str | None:
    """Why `out` is not a split of range(n) into batches of batch_size, or None if it is."""
    if not isinstance(out, list | tuple) or not all(isinstance(b, list | tuple) for b in out):
        return f"return a list of batches (lists of indices), not a {type(out).__name__}"
    flat = [i for b in out for i in b]
    if sorted(flat) != list(range(n)):
        return ("every sentence index 0 .. len(lengths) - 1 must appear exactly once; did you "
                "return lengths instead of indices?")
    if any(len(b) != batch_size for b in out):
        return (f"every batch must hold exactly batch_size = {batch_size} sentences (one "
                "sentence a batch has no padding, but wastes the parallel hardware)")
    return None


def check_fewest_pads(attempt: Callable) -> Result:
    """Grade `fewest_pads(lengths, batch_size)`: full batches with the least padding possible."""
    for lengths, batch_size in _fewest_pads_cases():
        out = call_attempt(attempt, (list(lengths), batch_size), FEWEST_TODO)
        if isinstance(out, Result):
            return out
        why = _is_partition(out, len(lengths), batch_size)
        if why:
            return Result(False, f"Not yet: {why}. {FEWEST_TODO}")
        best = padding_share(lengths, fewest_pads(lengths, batch_size))
        got = padding_share(lengths, out)
        if got > best + 1e-12:
            in_order = [list(range(i, i + batch_size)) for i in range(0, len(lengths), batch_size)]
            hint = ("these are the batches in corpus order: nothing brings similar lengths "
                    "together yet." if padding_share(lengths, in_order) == got else
                    "some batch still mixes short and long sentences.")
            return Result(False, f"Not yet: for lengths {lengths} and batch_size {batch_size} "
                                 f"your batches are {got:.1%} padding, and {best:.1%} is "
                                 f"possible: {hint} {FEWEST_TODO.split(' Hint 1')[0]}")
    return Result(True, "Correct! Sorted batches pad the least. Now the thinking part: why "
                        "does training not use exactly these batches? Think of what the model "
                        "would see, in which order, epoch after epoch, and compare with "
                        "bucket_batches.")


# --- Predict: BLEU of half a translation ---

def first_halves(references: list[str]) -> list[str]:
    """The first half of each reference's BLEU tokens (sacreBLEU's 13a), rounded up."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tokenize = Tokenizer13a()
    out = []
    for ref in references:
        tokens = tokenize(ref).split()
        out.append(" ".join(tokens[: (len(tokens) + 1) // 2]))
    return out


def half_sentence_bleu() -> float:
    """BLEU of outputs that are exactly the first half of each reference: every n-gram
    matches (precision 1), and the brevity penalty is exp(1 - r/c) with r/c = 2."""
    return 100 * math.exp(1 - 2)


def check_half_bleu(prediction: object) -> Result:
    """Grade a predicted corpus BLEU (0-100) of outputs: the first half of each reference."""
    todo = ("Predict before you run: write one number from 0 to 100. Hint 1: ask two "
            "questions. Of the 1- to 4-word sequences the output writes, how many are in the "
            "reference? And what does BLEU do to an output shorter than its reference? Hint 2: "
            "BLEU multiplies the precisions' geometric mean by a brevity penalty, "
            "exp(1 - r / c) when the output's c words are fewer than the reference's r.")
    if prediction is ... or prediction is None:
        return Result(False, f"Not attempted yet. {todo}")
    if isinstance(prediction, bool) or not isinstance(prediction, int | float):
        return Result(False, f"Not yet: give a number, not a {type(prediction).__name__}. {todo}")
    target = half_sentence_bleu()
    if within(prediction, target, rel=0.2):
        return Result(True, f"Correct! Every n-gram is right, so each precision is 100%, and "
                            f"the brevity penalty alone gives exp(1 - 2) = {target / 100:.3f}, "
                            f"a BLEU of about {target:.0f}. Run the next cell to measure it.")
    if prediction >= 90:
        hint = ("every n-gram written is in the reference, yes, but BLEU also punishes an "
                "output shorter than its reference: that is what stops a model from writing "
                "only the words it is sure of.")
    elif 45 <= prediction < 90:
        hint = ("half the words does not mean half the score: the brevity penalty falls "
                "exponentially, exp(1 - r / c), not in proportion to the length.")
    elif prediction < 15:
        hint = ("the precisions are not halved: each n-gram the output writes is in the "
                "reference. Only the brevity penalty lowers the score.")
    else:
        hint = "close, but compute the brevity penalty for r / c = 2."
    return Result(False, f"Not yet: {hint}")

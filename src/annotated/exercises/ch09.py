"""Chapter 9 exercises: the next BPE merge, batches with the least padding and why training
shuffles them, the BLEU of half a translation."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..data import padding_share
from ..multi30k import bpe_merges
from .grading import Result, call_attempt, grade_choice, within

# --- 1. Predict: the next BPE merge ---

BPE_WORDS = {"Büsche": 3, "Tasche": 4, "Fische": 3, "Busch": 2, "Bühne": 2, "schön": 2}
BPE_SHOWN = 5  # the notebook prints this many merges; the question is about the next one
MERGE_CHOICES = {
    "a": "'▁Bü' + 'sche': it finishes the word Büsche",
    "b": "'▁' + 'T'",
    "c": "'i' + 'sche'",
    "d": "'sch' + 'e' once more, in the words that still have it apart",
}


def next_merge() -> str:
    """The letter of MERGE_CHOICES that names merge BPE_SHOWN + 1 on BPE_WORDS, computed."""
    merges, _ = bpe_merges(BPE_WORDS, BPE_SHOWN + 1)
    left, right = merges[-1]
    return next(k for k, v in MERGE_CHOICES.items() if v.startswith(f"'{left}' + '{right}'"))


def check_next_merge(choice) -> Result:
    """Grade a prediction ("a" to "d") of the sixth merge of BPE on BPE_WORDS."""
    return grade_choice(
        choice, next_merge(), {
            "a": "BPE does not aim at whole words: it counts every neighbouring pair, each "
                 "as often as its word occurs. '▁Bü' + 'sche' occurs 3 times (Büsche); is "
                 "there a pair that occurs more often?",
            "c": "'i' + 'sche' occurs only in Fische, 3 times. Count the pairs of the most "
                 "frequent word.",
            "d": "after merge 3 no word has 'sch' and 'e' apart: a merge replaces the pair "
                 "everywhere at once.",
        },
        todo=f"Answer with one letter: {', '.join(MERGE_CHOICES)}.",
        success="Correct! Tasche occurs 4 times, so each of its pairs counts 4: '▁' + 'T', "
                "'T' + 'a' and 'a' + 'sche' tie, and the first one found wins. BPE merges by "
                "frequency alone, which is why frequent words become single pieces first.")


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
    "every batch exactly batch_size long. A batch costs len(batch) x its longest sentence.")


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
                                 f"possible: {hint} {FEWEST_TODO}")
    return Result(True, "Correct! Sorted batches pad the least. Now the second part: why "
                        "does training not use exactly these batches?")


POOL_CHOICES = {
    "a": "sorting 29,000 lengths is too slow to do once",
    "b": "sorted once, every epoch would bring the same batches in the same order, the "
         "shortest sentences first and the longest last",
    "c": "bucketed batches pad less than fully sorted ones",
    "d": "a batch of sentences of equal length cannot be trained on",
}


def check_pool_reason(choice) -> Result:
    """Grade the reason ("a" to "d") why training shuffles and sorts in pools instead of
    sorting the whole corpus once."""
    return grade_choice(
        choice, "b", {
            "a": "sorting 29,000 numbers takes milliseconds, and bucket_batches sorts as "
                 "many: each pool is sorted.",
            "c": "measure it: fewest_pads is the least padding possible; pools can only "
                 "match it or pad a little more.",
            "d": "a batch of equal lengths is the best case: no padding at all.",
        },
        todo=f"Answer with one letter: {', '.join(POOL_CHOICES)}.",
        success="Correct! Gradient descent (chapter 7) assumes each batch is a fair sample "
                "of the data. In sorted order the model would see only short sentences for "
                "many steps, then only long ones, and the same sequence every epoch. Pools "
                "keep most of the saving, and the shuffles keep the order random.")


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
    todo = "Predict before you run: write one number from 0 to 100."
    if prediction is ... or prediction is None:
        return Result(False, f"Not attempted yet. {todo}")
    if isinstance(prediction, bool) or not isinstance(prediction, int | float):
        return Result(False, f"Not yet: give a number, not a {type(prediction).__name__}. {todo}")
    target = half_sentence_bleu()
    if within(prediction, target, rel=0.2):
        return Result(True, f"Correct! Every n-gram is right, so each precision is 100%, and "
                            f"the brevity penalty alone gives exp(1 - 2) = {target / 100:.3f}, "
                            f"a BLEU of about {target:.0f} for outputs exactly half as long. "
                            f"Run the next cell: its halves are rounded up, a little longer "
                            f"than half, so r / c is below 2: the score comes out higher.")
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


# --- 4. Interpret: a real mistake of the shipped model ---

MAGAZINE_TEST = "Ein Mann in einer Weste sitzt auf einem Stuhl und hält Magazine."  # test 9
MAGAZINE_SENTENCES = ("Ein Mann hält eine Zeitschrift.", "Ein Mann hält Magazine.")
MOSOS_CHOICES = {
    "a": "the model never learned the English word 'magazine'",
    "b": "'Magazine' is cut into four pieces that are rare as a word; the model copies '▁M', "
         "then keeps looking at the same piece, and nothing it learned says what comes next",
    "c": "'Magazine' is not in the vocabulary: it became <unk>",
    "d": "sentence 9 is too long for the model",
}


def check_mosos_explanation(choice) -> Result:
    """Grade an explanation ("a" to "d") of the shipped model's 'Mosososos' for 'Magazine'."""
    return grade_choice(
        choice, "b", {
            "a": "it writes 'a magazine' for Zeitschrift: the English word is there. The "
                 "trouble is on the German side.",
            "c": "the printed pieces have no <unk>: the word is spelled from pieces, as the "
                 "test-set count said.",
            "d": "the short sentence with the same word goes wrong the same way.",
        },
        todo=f"Answer with one letter: {', '.join(MOSOS_CHOICES)}.",
        success="Correct, as far as this evidence goes! Subwords spell every word, but a rare "
                "word's pieces carry little meaning the model has learned, and greedy "
                "decoding repeats what it wrote. Subwords remove <unk>, not the need to have "
                "seen a word.")

"""Chapter 8 exercises: break the cache's position offset (predict, then run), predict beam
search with K = 1 and K = 2, explain the shipped model's mistakes, and find the aligning
cross-attention head by code.

The chapter gives the hints, one tier at a time, so a grader's not-attempted message gives
none."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch

from .grading import Mistake, Result, check_function, grade_choice

# --- 1. Break it: every cached step gets position 0 ---


@contextlib.contextmanager
def positions_from_zero(model) -> Iterator[None]:
    """Inside the block, cached decoding adds position 0's encoding to every new word: the
    `start=cache.length` offset of `model.decode` is dropped. Outside, all is as before."""
    _, position = model.tgt_embed  # Embeddings, PositionalEncoding
    forward = position.forward
    position.forward = lambda x, start=0: forward(x, 0)  # the offset ignored
    try:
        yield
    finally:
        position.forward = forward


OFFSET_CHOICES = {
    "a": "all 1,000 the same: the cache already holds the earlier words in order",
    "b": "most the same; the others go wrong only after several words",
    "c": "almost none the same: every output goes wrong from its second word on",
    "d": "an error: the new word's encoding no longer fits the cache",
}


def check_offset_prediction(choice) -> Result:
    """Grade a prediction ("a" to "d"): how many of 1,000 greedy translations stay the same
    when every cached step gets position 0's encoding."""
    return grade_choice(
        choice, "b", {
            "a": "attention itself ignores order: keys and values in the cache carry their "
                 "position only through the encoding added to their word. Drop it, and the "
                 "cache is a bag of words.",
            "c": "step 1 reads <s> at position 0 either way, so the first word cannot change. "
                 "And does the model need the encoding to know where it is, if it can see "
                 "what it already wrote?",
            "d": "position 0's encoding has the same shape, (1, 1, D), as any other: nothing "
                 "complains.",
        },
        todo=f"Answer with one letter: {', '.join(OFFSET_CHOICES)}.",
        success="Correct! The first word is read at position 0 anyway, and for a while the "
                "words already written tell the model where it is. In long numbers the same "
                "word comes back (hundred, and), and without positions the model loses its "
                "place. The offset is what makes the cache give the very same tokens.")


# --- 2. Predict: beam search with K = 1 and K = 2 on 九百一 ---

BEAM_CHOICES = {
    "a": "both write greedy's 'nine hundred and one thousand, nine hundred and one'",
    "b": "K = 1 writes greedy's answer; K = 2 writes 'nine hundred and one'",
    "c": "both write 'nine hundred and one'",
    "d": "K = 1 writes 'nine hundred and one'; K = 2 writes greedy's answer",
}


def check_beam_prediction(choice) -> Result:
    """Grade a prediction ("a" to "d"): what beam search writes for 九百一 with K = 1 and
    K = 2."""
    return grade_choice(
        choice, "b", {
            "a": "at step 5 the two best candidates are 'thousand' and '</s>'. With K = 2 the "
                 "ending is among the K best: does it reach the finished list?",
            "c": "with K = 1 only the best candidate of a step survives. At step 5 that is "
                 "'thousand' (0.484), not '</s>' (0.349): is the ending among the K best?",
            "d": "a larger beam keeps everything a smaller one keeps. Can K = 2 lose what "
                 "K = 1 found?",
        },
        todo=f"Answer with one letter: {', '.join(BEAM_CHOICES)}.",
        success="Correct! With K = 1 an ending counts only when it is the best candidate, so "
                "beam search is greedy decoding. With K = 2 the ending after 'nine hundred "
                "and one' is second best at step 5: it is kept on the finished list and "
                "wins in the end.")


# --- 3. Interpret: why the mistakes gather between 10,000 and 19,999 ---

MISTAKE_CHOICES = {
    "a": "numbers from 10,000 to 19,999 are rare in training",
    "b": "English says them with one teen word ('fourteen thousand') made from two Japanese "
         "places (一万 and the digit before 千), so the model must merge two tokens into one "
         "word",
    "c": "the model cannot read the character 万",
    "d": "greedy decoding: beam search would write them right",
}


def check_mistake_explanation(choice) -> Result:
    """Grade an explanation ("a" to "d") of why the shipped model's Japanese mistakes gather
    between 10,000 and 19,999 (一万...)."""
    return grade_choice(
        choice, "b", {
            "a": "each block of 10,000 holds about 1% of the numbers, and 20,000-29,999 is "
                 "just as rare, yet the model gets that block almost entirely right. Rarity "
                 "alone does not single out this block.",
            "c": "every number from 10,000 up has a 万, and the model gets almost all of them "
                 "right: it reads 万 well.",
            "d": "beam search with K = 4 gets almost all of these numbers wrong too: the "
                 "model itself gives the wrong words the higher probability.",
        },
        todo=f"Answer with one letter: {', '.join(MISTAKE_CHOICES)}.",
        success="Correct, as far as this evidence goes! From 20,000 up, the tens word comes "
                "from one character (二万 -> twenty); from 10,000 to 19,999 it is a teen made "
                "from 一万 and the next digit, and 一万 alone is 'ten'. The mistakes write a "
                "tens word or the wrong teen there. The German words (vierzehntausend) give "
                "the teen as one piece, and German gets almost all of these numbers right. "
                "It stays a hypothesis until a fix tests it, for example more training "
                "numbers in this block.")


# --- 4. Discover: which cross-attention head aligns? ---


def aligning_head(cross: torch.Tensor, pairs: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The reference answer: the (layer, head) of `cross` (L, H, T, S) whose strongest weight
    falls on the paired source column j in the most rows i of `pairs`; the first on a tie."""
    hits = sum((cross[:, :, i].argmax(-1) == j).int() for i, j in pairs)  # (L, H)
    best = int(hits.flatten().argmax())
    return best // cross.size(1), best % cross.size(1)


def _sharpest_head(cross, pairs):
    """Wrong: the head whose strongest weights are largest, wherever they point."""
    sharp = cross.amax(-1).mean(-1)  # (L, H)
    best = int(sharp.flatten().argmax())
    return best // cross.size(1), best % cross.size(1)


def _head_then_layer(cross, pairs):
    """Wrong: the right head, returned as (head, layer)."""
    layer, head = aligning_head(cross, pairs)
    return head, layer


def _aligning_cases() -> list[tuple]:
    """Planted heads: one sharp on the wrong columns, one softer that hits every pair."""
    g = torch.Generator().manual_seed(8)
    cases = []
    for L, H, planted, sharp in ((2, 4, (1, 2), (0, 1)), (3, 2, (0, 1), (2, 0)),
                                 (2, 4, (0, 3), (1, 3))):
        T, S = 9, 7
        cross = torch.softmax(torch.randn(L, H, T, S, generator=g), dim=-1)  # diffuse
        pairs = [(i, int(j)) for i, j in enumerate(torch.randint(0, S, (T,), generator=g))
                 if i % 3]
        cross[sharp] = torch.nn.functional.one_hot(
            (torch.arange(T) + 1) % S, S).float() * 0.98 + 0.02 / S  # sharp, off the pairs
        for i, j in pairs:
            cross[planted][i] = 0.4 / (S - 1)
            cross[planted][i, j] = 0.6
        cases.append((cross, pairs))
    return cases


def check_aligning_head(attempt: Callable) -> Result:
    """Grade `aligning_head(cross, pairs)` -> (layer, head) that hits the most pairs."""
    cases = _aligning_cases()
    return check_function(
        attempt, aligning_head, cases,
        todo="Return a tuple (layer, head) of ints.",
        mistakes=[
            Mistake(_sharpest_head,
                    "you picked the sharpest head. A head can put all its weight on one "
                    "token and still look at the wrong one: count, for each head, the rows "
                    "of `pairs` whose strongest weight sits on the paired column."),
            Mistake(_head_then_layer,
                    "that is the right head, given as (head, layer). Return (layer, head), "
                    "the order of the tensor's first two axes."),
        ],
        success="Correct! That is how a head is called aligning: it looks, row after row, at "
                "the source token a translator would point at. Run it on the German and "
                "Japanese views below and compare with the head in the chapter's figure.",
        describe=lambda args, out, expected: (
            f"with cross of shape {tuple(args[0].shape)} you returned {out!r}, but head "
            f"{expected!r} hits more of the {len(args[1])} pairs"),
    )

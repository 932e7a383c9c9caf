"""Chapter 9 exercises: turn subword pieces back into text; measure the padding of batches."""

from __future__ import annotations

from collections.abc import Callable

from ..data import padding_share
from .grading import Mistake, Result, check_function

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


PADDING_CASES = [
    ([3, 5, 4, 4], [[0, 1], [2, 3]]),
    ([1, 9, 2, 8, 3, 7], [[0, 2, 4], [1, 3, 5]]),
    ([1, 9, 2, 8, 3, 7], [[0, 1], [2, 3], [4, 5]]),
    ([6], [[0]]),
]


def check_padding_share(attempt: Callable) -> Result:
    """Grade `padding_share(lengths, batches)`: the share of the padded tensors that is <pad>."""
    return check_function(
        attempt, padding_share, PADDING_CASES,
        todo="Each batch becomes a tensor of len(batch) rows, each as long as the batch's "
             "longest sentence. Count those positions over all batches, count the real "
             "tokens (the sum of the lengths), and return 1 - real / positions.",
        mistakes=[
            Mistake(lambda lengths, batches: 1 - sum(lengths) / (len(lengths) * max(lengths)),
                    "you padded every sentence to the longest sentence of the whole list. "
                    "Each batch is padded only to its own longest sentence."),
            Mistake(lambda lengths, batches: (
                sum(len(b) * max(lengths[i] for i in b) for b in batches) - sum(lengths))
                / sum(lengths),
                "you divided the padding by the real tokens; divide it by all positions "
                "(real tokens + padding)."),
        ],
        success="Correct! Short sentences batched with long ones pay for the long ones.",
        atol=1e-9,
    )

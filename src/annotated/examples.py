"""The article's running examples (chapters 1-3): its sentences, a word vocabulary, toy vectors."""

from __future__ import annotations

from collections.abc import Sequence

import torch

CAT = "The cat drinks milk"
JOHN = "John loves Mary"
MARY = "Mary loves John"
SHE = "She gave him her book"

# A word-level vocabulary big enough for the article's sentences and a few neighbours.
# Real models split text into subwords (chapter 9); one id per word keeps chapters 1-3 readable.
WORDS = (
    "<unk>", "the", "a", "cat", "dog", "drinks", "eats", "milk", "water", "fish",
    "john", "mary", "loves", "sees", "she", "he", "gave", "him", "her", "book", "reads", ".",
)


class WordVocab:
    """Maps lower-cased words to ids and back; a word it does not know becomes '<unk>' (id 0)."""

    def __init__(self, words: Sequence[str] = WORDS):
        if len(set(words)) != len(words):
            raise ValueError("the vocabulary lists a word twice; each word needs one id")
        if not words or words[0] != "<unk>":
            raise ValueError("the first word must be '<unk>', the id for unknown words")
        self.words = tuple(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def tokenize(self, text: str) -> list[str]:
        """Split on spaces after lower-casing; a final '.' becomes its own token."""
        return text.lower().replace(".", " .").split()

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of `text` as a (1, S) long tensor: a batch of one sentence."""
        ids = [self.index.get(t, 0) for t in self.tokenize(text)]
        if not ids:
            raise ValueError("cannot encode an empty text: give at least one word")
        return torch.tensor([ids], dtype=torch.long)  # (B=1, S)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> list[str]:
        """The words for a sequence of ids."""
        return [self.words[int(i)] for i in ids]


FEATURES = ["person", "female", "possession", "action"]


def she_gave_him_her_book() -> tuple[list[str], torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hand-made queries, keys and values for "She gave him her book" (d_k = 4).

    A trained model learns such vectors; here they are written down so that each number means
    something. Keys and values hold the FEATURES; each query asks for some of them.
    """
    tokens = ["she", "gave", "him", "her", "book"]
    key = torch.tensor([  # columns: FEATURES
        [1.0, 1.0, 0.0, 0.0],  # she: a female person
        [0.0, 0.0, 0.0, 1.0],  # gave: an action
        [1.0, 0.0, 0.0, 0.0],  # him: a person
        [0.0, 1.0, 1.0, 0.0],  # her: female, marks possession
        [0.0, 0.0, 2.0, 0.0],  # book: the thing possessed
    ])  # (S, d_k)
    query = torch.tensor([
        [0.0, 2.0, 3.0, 0.0],  # she asks: who is female, what is owned?
        [2.0, 0.0, 1.0, 0.0],  # gave asks: who gives, what is given?
        [0.0, 0.0, 0.0, 2.0],  # him asks: which action involves me?
        [1.0, 2.0, 0.0, 0.0],  # her asks: which female person am I?
        [0.0, 2.0, 1.0, 0.0],  # book asks: whose am I?
    ])  # (S, d_k)
    # Each word hands over its own features: the output says what the query gathered.
    value = key.clone()  # (S, d_v)
    return tokens, query, key, value


# --- Primer ---
# The primer's two-parameter problem: fit a line y = w * x + b to four points by gradient
# descent. The points lie near y = 2x + 1; the start is far from it, on purpose.
LINE_X = (0.0, 1.0, 2.0, 3.0)
LINE_Y = (1.0, 2.9, 5.1, 7.0)
LINE_START = (-1.0, -2.0)  # (w, b)


def line_loss(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the line (w, b) on the primer's points; w and b broadcast."""
    x, y = torch.tensor(LINE_X), torch.tensor(LINE_Y)
    w, b = torch.as_tensor(w, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
    pred = w.unsqueeze(-1) * x + b.unsqueeze(-1)  # (..., 4): one row of predictions per line
    return (pred - y).pow(2).mean(-1)


def largest_stable_rate() -> float:
    """The learning rate above which plain gradient descent on `line_loss` blows up.

    The loss is a bowl whose curvature (second derivatives, the Hessian) is the same
    everywhere; a step of lr * gradient shrinks the error along each direction by the factor
    |1 - lr * curvature|, which stays below 1 only while lr < 2 / (largest curvature).
    """
    x = torch.tensor(LINE_X, dtype=torch.float64)
    hessian = 2 * torch.stack([torch.stack([x.pow(2).mean(), x.mean()]),
                               torch.stack([x.mean(), torch.tensor(1.0, dtype=torch.float64)])])
    return 2.0 / torch.linalg.eigvalsh(hessian).max().item()

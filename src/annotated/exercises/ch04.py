"""Chapter 4 exercises: split a (B, S, D) tensor into heads and merge the heads back."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from .. import pretrained
from .grading import Mistake, Result, check_function, read_prediction


def split_heads(x: torch.Tensor, h: int) -> torch.Tensor:
    """(B, S, D) -> (B, H, S, d_k): the reference answer."""
    B, S, D = x.shape
    return x.view(B, S, h, D // h).transpose(1, 2)  # (B, S, H, d_k) -> (B, H, S, d_k)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, S, d_k) -> (B, S, D): the reference answer."""
    B, H, S, d_k = x.shape
    return x.transpose(1, 2).reshape(B, S, H * d_k)  # (B, S, H, d_k) -> (B, S, D)


def _cases_split() -> list[tuple]:
    g = torch.Generator().manual_seed(4)
    return [(torch.randn(2, 5, 8, generator=g), 2), (torch.randn(1, 3, 12, generator=g), 4)]


def _cases_merge() -> list[tuple]:
    g = torch.Generator().manual_seed(4)
    return [(torch.randn(2, 2, 5, 4, generator=g),), (torch.randn(1, 4, 3, 3, generator=g),)]


def check_split_heads(attempt: Callable) -> Result:
    """Grade `split_heads(x, h)`: (B, S, D) -> (B, H, S, d_k)."""
    return check_function(
        attempt, split_heads, _cases_split(),
        todo="Return x reshaped from (B, S, D) to (B, H, S, d_k) with d_k = D // h: split "
             "each word's D numbers into h consecutive slices, then move the head axis to "
             "position 1.",
        mistakes=[
            Mistake(lambda x, h: x.view(x.shape[0], x.shape[1], -1, h).permute(0, 3, 1, 2),
                    "each head got every h-th number of a word. Heads take consecutive "
                    "slices: view as (B, S, h, d_k), then .transpose(1, 2)."),
            Mistake(lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1),
                    "the shape is right but the numbers are scrambled: viewing straight to "
                    "(B, H, S, d_k) cuts across words. View as (B, S, H, d_k) first (each "
                    "word's D numbers split into H slices), then swap S and H with "
                    ".transpose(1, 2)."),
        ],
        success="Correct! Each head now holds d_k numbers of every word: an (S, d_k) "
                "matrix per head.",
    )


def check_merge_heads(attempt: Callable) -> Result:
    """Grade `merge_heads(x)`: (B, H, S, d_k) -> (B, S, D)."""
    return check_function(
        attempt, merge_heads, _cases_merge(),
        todo="Return x reshaped from (B, H, S, d_k) to (B, S, H * d_k): move the head axis "
             "back next to d_k, then join the heads' slices of each word into one row "
             "(reshape, since view refuses after a transpose).",
        mistakes=[
            Mistake(lambda x: x.reshape(x.shape[0], x.shape[2], -1),
                    "the shape is right but the heads are mixed across words: swap H and S "
                    "back with .transpose(1, 2) before you reshape."),
        ],
        success="Correct! This is the 'concatenate the heads' step, done with one reshape.",
    )


COST_KEYS = ("crossover",)
CROSSOVER_SIZES = {"h": 8, "d_ff": 2048}  # the paper's base model


def check_cost_prediction(prediction) -> Result:
    """Grade a prediction {"crossover": S}: the length S at which the paper's base model
    (h = 8, d_ff = 2048) keeps as many bytes of attention weights (B, H, S, S) as of
    feed-forward hidden numbers (B, S, d_ff)."""
    todo = ("Predict before you run. For one sentence, write the bytes each block keeps as a "
            "formula in S, h and d_ff: the attention weights, one S x S table per head, and "
            "the feed-forward block's hidden layer. For which S are the two formulas equal? "
            "Fill in prediction = {'crossover': ...}.")
    numbers = read_prediction(prediction, COST_KEYS, todo)
    if isinstance(numbers, Result):
        return numbers
    (S,) = numbers
    h, d_ff = CROSSOVER_SIZES["h"], CROSSOVER_SIZES["d_ff"]
    if S == d_ff / h:
        return Result(True, f"Correct! h x S^2 = S x d_ff gives S = d_ff / h = {d_ff} / {h} = "
                            f"{d_ff // h}. Run attention_cost([128, 256, 512], d_model=512, "
                            f"h={h}, d_ff={d_ff}) and watch the ratio go 0.5, 1, 2.")
    why = {
        float(d_ff): "each of the h heads keeps its own S x S table, so attention keeps "
                     "h x S^2 numbers, not S^2.",
        float(h * d_ff): "the heads are on the attention side: h x S^2 = S x d_ff. Solve for "
                         "S: it is a division, not a product.",
        64.0: "64 is the crossover of the small model in the table, whose d_ff is 512 (and "
              "also d_k of the base model). Use the base model's d_ff = 2048.",
        512.0: "d_model does not appear in either byte count: the weights are (B, H, S, S), "
               "the hidden layer (B, S, d_ff).",
        round(d_ff ** 0.5, 2): "S appears twice on one side and once on the other. Cancel one "
                               "S from both sides; no square root is needed.",
        round((d_ff / h) ** 0.5, 2): "S appears twice on one side and once on the other. "
                                     "Cancel one S from both sides; no square root is needed.",
    }
    hint = why.get(round(S, 2))
    if hint is None:
        side = ("attention still keeps fewer bytes there" if S < d_ff / h
                else "attention already keeps more bytes there")
        hint = (f"at S = {S:g}, {side}. Write h x S^2 x 4 and S x d_ff x 4 bytes and find "
                "where they meet.")
    return Result(False, f"Not yet: {hint}")


def check_reading_head(layer_head) -> Result:
    """Grade (layer, head): the decoder self-attention head of the number translator that
    puts the most weight, on average, on the word just before the query word."""
    todo = ("Look for it in the weights, not in a picture. Start with a question: in one "
            "head's T x T table (a row per query, a column per key), which cells pair a "
            "position with the one just before it? How much weight does each head put there? "
            "Answer with a pair (layer, head), both counted from 0.")
    if layer_head is ... or layer_head is None or layer_head == (..., ...):
        return Result(False, f"Not attempted yet. {todo}")
    try:
        layer, head = (int(v) for v in layer_head)
    except (TypeError, ValueError):
        return Result(False, f"Not yet: answer with two whole numbers, (layer, head). {todo}")
    stats = previous_word_weight()  # (L, H)
    L, H = stats.shape
    best = divmod(int(stats.argmax()), H)
    diag = diagonal_weight()
    if (layer, head) == best:
        return Result(True, f"Correct! Decoder layer {layer}, head {head} gives the word "
                            f"just before on average {stats[layer, head]:.2f} of its weight; "
                            f"the mean over all heads is {stats.mean():.2f}. This head reads "
                            "'what did I just write?'.")
    if (layer - 1, head - 1) == best:
        return Result(False, "Not yet: close, but count layers and heads from 0, as the "
                             "tensors do.")
    if not (0 <= layer < L and 0 <= head < H):
        return Result(False, f"Not yet: there are {L} layers and {H} heads, counted from 0.")
    if (layer, head) == divmod(int(diag.argmax()), H):
        return Result(False, "Not yet: that head looks at the query word itself (the main "
                             "diagonal). Shift by one: key t - 1 for query t.")
    return Result(False, f"Not yet: that head gives the previous word {stats[layer, head]:.2f} "
                         "of its weight on average; one head gives more. A tool that helps: "
                         "a tensor's .diagonal(offset=..., dim1=..., dim2=...) picks one "
                         "diagonal of every (T, T) table at once.")


PREVIOUS_WORD_TEXTS = ("einundzwanzig", "dreihundertvierundfünfzig", "siebentausendzwölf",
                       "neunundneunzigtausendeins")


@functools.lru_cache(maxsize=1)
def _decoder_weights() -> tuple:
    translator = pretrained.load("numbers")
    return tuple(translator.attention(t).weights["decoder"] for t in PREVIOUS_WORD_TEXTS)


def previous_word_weight() -> torch.Tensor:
    """(L, H): the mean weight a decoder self-attention head gives to the previous word."""
    per_text = [w.diagonal(offset=-1, dim1=-2, dim2=-1).mean(-1) for w in _decoder_weights()]
    return torch.stack(per_text).mean(0)


def diagonal_weight() -> torch.Tensor:
    """(L, H): the mean weight a decoder self-attention head gives to the query word itself."""
    per_text = [w.diagonal(dim1=-2, dim2=-1).mean(-1) for w in _decoder_weights()]
    return torch.stack(per_text).mean(0)

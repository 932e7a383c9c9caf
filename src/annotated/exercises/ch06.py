"""Chapter 6 exercises: an untied model's parameters, a prediction about the two norm orders,
and the bound on what attention alone can output."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from ..model import count_parameters, make_model
from .grading import Mistake, Result, check_function, read_prediction, within


def untied_parameters(src_vocab: int, tgt_vocab: int, d_model: int, d_ff: int, N: int) -> int:
    """The reference answer: build the untied model without memory and count."""
    with torch.device("meta"):  # shapes only: the count needs no numbers
        model = make_model(src_vocab, tgt_vocab, N, d_model, d_ff, h=1, tie_embeddings=False)
    return count_parameters(model)


def _layers(D: int, f: int, N: int) -> int:
    attn, ffn, norm = 4 * (D * D + D), D * f + f + f * D + D, 2 * D
    return N * (attn + ffn + 2 * norm) + N * (2 * attn + ffn + 3 * norm) + 2 * norm


def _describe_untied(args: tuple, out, expected) -> str:
    src_vocab, tgt_vocab, d_model, d_ff, N = args
    return (f"for src_vocab={src_vocab:,}, tgt_vocab={tgt_vocab:,}, d_model={d_model}, "
            f"d_ff={d_ff}, N={N} your function returned {out!r}, expected {expected:,}")


def check_untied_parameters(attempt: Callable) -> Result:
    """Grade `untied_parameters(src_vocab, tgt_vocab, d_model, d_ff, N)` -> int."""
    return check_function(
        attempt, untied_parameters,
        [(11, 13, 8, 32, 1), (1000, 800, 64, 256, 2), (37_000, 37_000, 512, 2048, 6)],
        todo="Hint 1: untying changes only the vocabulary matrices; every layer stays as "
             "parameter_table counts it. Hint 2: list the three places that map between "
             "words and vectors, and for each one ask which vocabulary sets its rows and "
             "whether an nn.Linear there brings biases.",
        mistakes=[
            Mistake(lambda sv, tv, D, f, N: _layers(D, f, N) + sv * D + tv,
                    "that is the tied model: untied, the target lookup and the generator "
                    "each get their own tgt_vocab x D matrix."),
            Mistake(lambda sv, tv, D, f, N: _layers(D, f, N) + sv * D + 2 * tv * D,
                    "almost: the generator's nn.Linear also has a bias, one per target word."),
            Mistake(lambda sv, tv, D, f, N: _layers(D, f, N) + 3 * sv * D + tv,
                    "the target embedding and the generator have tgt_vocab rows, not "
                    "src_vocab: the two vocabularies may differ."),
            Mistake(lambda sv, tv, D, f, N: _layers(D, f, N) + (sv + 2 * tv) * D + tv - 2 * D,
                    "the final LayerNorms: a pre-norm model has one at the top of the encoder "
                    "and one at the top of the decoder, 2 x D parameters each."),
        ],
        describe=_describe_untied,
        success="Correct! Untying the paper's base model (37,000 words on both sides) adds "
                "2 x 37,000 x 512 = 37,888,000 parameters: 60% more than the tied 63.1M.",
    )


NORM_KEYS = ("pre", "post")


def check_norm_prediction(prediction) -> Result:
    """Grade a prediction {"pre": s1, "post": s2}: the standard deviation of the output of a
    fresh pre-norm and a fresh post-norm sublayer connection (LayerNorm scale 1, shift 0,
    a fresh feed-forward block) for an input of mean 0 and standard deviation 10."""
    todo = ("Predict before you run. Hint 1: ask where each order puts its LayerNorm, and "
            "whether the residual stream itself passes through it or goes around it. "
            "Hint 2: a fresh LayerNorm gives mean 0 and standard deviation 1; the fresh "
            "feed-forward block on a normalised input adds only a small correction. Fill in "
            "prediction = {'pre': ..., 'post': ...}, one standard deviation each.")
    numbers = read_prediction(prediction, NORM_KEYS, todo)
    if isinstance(numbers, Result):
        return numbers
    pre, post = numbers

    near = partial(within, rel=0.3)  # standard deviations: a rough guess is right
    if near(pre, 1) and near(post, 10):
        return Result(False, "Not yet: the two answers are swapped. In which order is the "
                             "LayerNorm the last thing applied?")
    if not near(pre, 10):
        if near(pre, 1):
            hint = ("pre-norm normalises only what enters the sublayer; the residual adds "
                    "x back unchanged, so the output keeps the input's scale.")
        elif pre > 13:
            hint = ("the sublayer's output is small next to x: it sees a normalised input, "
                    "so it adds a correction, not another copy of x.")
        else:
            hint = "x passes around the LayerNorm untouched: what is its scale?"
        return Result(False, f"Not yet (pre): {hint}")
    if not near(post, 1):
        if near(post, 10):
            hint = ("post-norm's LayerNorm comes after the sum, so whatever came in, the "
                    "output is normalised.")
        else:
            hint = "what does a fresh LayerNorm do to the standard deviation of what it gets?"
        return Result(False, f"Not yet (post): {hint}")
    return Result(True, "Correct! Pre-norm passes the stream on at its own scale, about 10; "
                        "post-norm hands the next layer a normalised stream, about 1. Run "
                        "the cell below to measure both.")


# --- Discover: what attention alone can output ---

def attention_bound(values: torch.Tensor) -> torch.Tensor:
    """The reference answer: each coordinate's largest value over the positions."""
    return values.max(dim=0).values


def _cases_bound() -> list[tuple]:
    g = torch.Generator().manual_seed(60)
    return [(torch.randn(5, 4, generator=g) * 2 - 1,), (torch.randn(3, 6, generator=g),),
            (-torch.rand(4, 3, generator=g) - 0.5,)]  # all negative: no 0 floor either


def check_attention_bound(attempt: Callable) -> Result:
    """Grade `attention_bound(values)`: (S, D) -> (D,), the most any attention output can be."""
    return check_function(
        attempt, attention_bound, _cases_bound(),
        todo="Hint 1: one attention output is sum_j w_j v_j with every w_j >= 0 and the w_j "
             "summing to 1. How large can one coordinate of such a weighted average get, and "
             "which weights reach it? Hint 2: the answer is one number per coordinate, a "
             "tensor of shape (D,), and a torch reduction over the positions gives it.",
        mistakes=[
            Mistake(lambda v: v.sum(dim=0),
                    "that is the sum of the values: the weights add up to 1, so attention "
                    "averages, it never adds the values up."),
            Mistake(lambda v: v.mean(dim=0),
                    "that is the output for equal weights, one choice among many. Which "
                    "weights make one coordinate as large as possible?"),
            Mistake(lambda v: v.max().expand(v.shape[1]),
                    "each coordinate has its own bound: take the largest value per "
                    "coordinate, over the positions, not over the whole table."),
            Mistake(lambda v: v.abs().max(dim=0).values,
                    "no absolute values: with all weights on one position the output is that "
                    "position's value, sign included."),
        ],
        success="Correct! Attention's output never leaves the range of its values, "
                "coordinate by coordinate: it mixes what is there. So if a column of values "
                "is all negative, no weights make that coordinate positive. The "
                "feed-forward block of the section above can.",
    )

"""Chapter 6 exercises: count an encoder layer's parameters; write the paper's post-norm."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..layers import EncoderLayer, PositionwiseFeedForward
from ..model import count_parameters
from ..multihead import MultiHeadedAttention
from .grading import Mistake, Result, check_function


def encoder_layer_parameters(d_model: int, d_ff: int) -> int:
    """The reference answer: build the layer and count (the number of heads does not matter)."""
    layer = EncoderLayer(d_model, MultiHeadedAttention(1, d_model),
                         PositionwiseFeedForward(d_model, d_ff), dropout=0.0)
    return count_parameters(layer)


def check_encoder_layer_parameters(attempt: Callable) -> Result:
    """Grade `encoder_layer_parameters(d_model, d_ff)` -> int, a formula, not a model."""
    return check_function(
        attempt, encoder_layer_parameters, [(512, 2048), (8, 32), (1024, 4096)],
        todo="Return the number of parameters of one encoder layer as a formula in d_model "
             "and d_ff: the attention's four D x D maps with their biases, the feed-forward's "
             "two maps with their biases, and two LayerNorms (a scale and a shift of D each).",
        mistakes=[
            Mistake(lambda d, f: 4 * d * d + 2 * d * f,
                    "you counted the weight matrices only: every nn.Linear also has a bias "
                    "(D for each attention map, d_ff and D for the feed-forward), and there "
                    "are two LayerNorms of 2 x D each."),
            Mistake(lambda d, f: 4 * (d * d + d) + (d * f + f + f * d + d),
                    "attention and feed-forward are right; add the two LayerNorms, each with a "
                    "scale and a shift of D numbers."),
            Mistake(lambda d, f: 4 * d * d + 2 * d * f + 4 * d,
                    "the LayerNorms are right; now add the biases of the six nn.Linear maps."),
        ],
        success="Correct! At d_model=512, d_ff=2048 one encoder layer holds 3,152,384 "
                "parameters, two thirds of them in the feed-forward block.",
    )


def post_norm(x: torch.Tensor, sublayer: Callable, norm: nn.LayerNorm) -> torch.Tensor:
    """The reference answer: the paper's LayerNorm(x + Sublayer(x))."""
    return norm(x + sublayer(x))


def _cases_post_norm() -> list[tuple]:
    g = torch.Generator().manual_seed(6)
    cases = []
    for d in (4, 8):
        lin, norm = nn.Linear(d, d), nn.LayerNorm(d, eps=1e-6)
        with torch.no_grad():
            for p in (*lin.parameters(), *norm.parameters()):
                p.copy_(torch.randn(p.shape, generator=g))  # a norm with a real scale/shift
        cases.append((torch.randn(2, 3, d, generator=g), lin, norm))
    return cases


def check_post_norm(attempt: Callable) -> Result:
    """Grade `post_norm(x, sublayer, norm)`: the paper's residual connection, LN after the sum."""
    return check_function(
        attempt, post_norm, _cases_post_norm(),
        todo="Return norm(x + sublayer(x)): run the sublayer on x, add x back (the residual), "
             "then apply the LayerNorm to the sum.",
        mistakes=[
            Mistake(lambda x, s, n: x + s(n(x)),
                    "that is pre-norm, the article's code: LayerNorm before the sublayer. The "
                    "paper normalises after the residual sum: norm(x + sublayer(x))."),
            Mistake(lambda x, s, n: n(s(x)),
                    "the residual is missing: add x to sublayer(x) before the LayerNorm."),
            Mistake(lambda x, s, n: x + n(s(x)),
                    "the LayerNorm must wrap the whole sum x + sublayer(x), not the sublayer "
                    "alone."),
        ],
        success="Correct! This is the paper's post-norm; the article's pre-norm is "
                "x + sublayer(norm(x)).",
    )

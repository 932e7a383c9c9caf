"""Chapter 6: the blocks an encoder and a decoder are stacked from."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .multihead import KVCache, clones

NORMS = ("pre", "post")
LAYER_NORM_EPS = 1e-6


def validate_norm(norm: str) -> str:
    """Return `norm` if it is a known LayerNorm placement, else raise a clear error."""
    if norm not in NORMS:
        raise ValueError(
            f"unknown norm placement {norm!r}; use 'pre' (LayerNorm before each sublayer, "
            "the article's code) or 'post' (LayerNorm after the residual sum, the paper)"
        )
    return norm


class SublayerConnection(nn.Module):
    """Residual connection around a sublayer, with LayerNorm before ("pre") or after ("post")."""

    def __init__(self, size: int, dropout: float, norm: str = "pre"):
        super().__init__()
        self.norm_first = validate_norm(norm) == "pre"
        self.norm = nn.LayerNorm(size, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor]):
        if self.norm_first:
            return x + self.dropout(sublayer(self.norm(x)))  # x + Sublayer(LN(x))
        return self.norm(x + self.dropout(sublayer(x)))  # LN(x + Sublayer(x))


ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}  # chapter 10: GELU (BERT, GPT-2)


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = W_2 relu(W_1 x): expand d_model -> d_ff, then compress back, at each position."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.1, activation: str = "relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of "
                             f"{', '.join(ACTIVATIONS)}")
        self.w_1 = nn.Linear(d_model, d_ff)
        self.w_2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.activation(self.w_1(x))  # (B, S, D) -> (B, S, d_ff)
        return self.w_2(self.dropout(hidden))  # (B, S, d_ff) -> (B, S, D)


class EncoderLayer(nn.Module):
    """Self-attention, then feed-forward, each inside a SublayerConnection."""

    def __init__(self, size: int, self_attn: nn.Module, feed_forward: nn.Module, dropout: float,
                 norm: str = "pre"):
        super().__init__()
        self.self_attn = self_attn
        self.feed_forward = feed_forward
        self.sublayer = clones(SublayerConnection(size, dropout, norm), 2)
        self.size = size

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = self.sublayer[0](x, lambda x: self.self_attn(x, x, x, mask))  # (B, S, D)
        return self.sublayer[1](x, self.feed_forward)  # (B, S, D): the width never shrinks


class Encoder(nn.Module):
    """N identical layers; with pre-norm a final LayerNorm normalises the last residual sum."""

    def __init__(self, layer: EncoderLayer, N: int):
        super().__init__()
        self.layers = clones(layer, N)
        pre = layer.sublayer[0].norm_first
        self.norm = nn.LayerNorm(layer.size, eps=LAYER_NORM_EPS) if pre else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's memory, then feed-forward."""

    def __init__(self, size: int, self_attn: nn.Module, src_attn: nn.Module,
                 feed_forward: nn.Module, dropout: float, norm: str = "pre"):
        super().__init__()
        self.size = size
        self.self_attn = self_attn
        self.src_attn = src_attn
        self.feed_forward = feed_forward
        self.sublayer = clones(SublayerConnection(size, dropout, norm), 3)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor | None,
                tgt_mask: torch.Tensor | None,
                cache: tuple[KVCache, KVCache] | None = None) -> torch.Tensor:
        """With `cache` = (self-attention's, cross-attention's), x holds only the new positions."""
        m = memory  # (B, S, D)
        self_kv, src_kv = cache if cache is not None else (None, None)
        # Each sublayer keeps x at (B, T, D); T = the new positions only when caching.
        x = self.sublayer[0](x, lambda x: self.self_attn(x, x, x, tgt_mask, cache=self_kv))
        # Queries come from the decoder, keys and values from the encoder's output.
        x = self.sublayer[1](x, lambda x: self.src_attn(x, m, m, src_mask, cache=src_kv))
        return self.sublayer[2](x, self.feed_forward)  # (B, T, D)


class Decoder(nn.Module):
    """N identical decoder layers, with a final LayerNorm under pre-norm."""

    def __init__(self, layer: DecoderLayer, N: int):
        super().__init__()
        self.layers = clones(layer, N)
        pre = layer.sublayer[0].norm_first
        self.norm = nn.LayerNorm(layer.size, eps=LAYER_NORM_EPS) if pre else nn.Identity()

    def forward(self, x: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor | None,
                tgt_mask: torch.Tensor | None,
                cache: Sequence[tuple[KVCache, KVCache]] | None = None) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, src_mask, tgt_mask, None if cache is None else cache[i])
        return self.norm(x)

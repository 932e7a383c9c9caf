"""Chapter 4: h attention heads in parallel, each on a d_model / h slice."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention, validate_backend, validate_mask


def clones(module: nn.Module, N: int) -> nn.ModuleList:
    """N independent deep copies of `module`."""
    return nn.ModuleList([copy.deepcopy(module) for _ in range(N)])


@dataclass
class KVCache:
    """Keys and values an attention layer already computed, kept between decoding steps.

    Self-attention (`static=False`) appends each new position's K and V; cross-attention
    (`static=True`) computes K and V from the encoder's memory once and reuses them.
    """

    static: bool = False
    k: torch.Tensor | None = None  # (B, H, T_past, d_k)
    v: torch.Tensor | None = None  # (B, H, T_past, d_k)

    @property
    def length(self) -> int:
        """How many key positions are stored."""
        return 0 if self.k is None else self.k.size(2)

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows `index` (in that order): beam search calls this as beams move."""
        if self.k is not None:
            self.k = self.k.index_select(0, index)  # (B', H, T_past, d_k)
            self.v = self.v.index_select(0, index)


class MultiHeadedAttention(nn.Module):
    """Project to h heads of size d_k, attend in each, concatenate, project back.

    `linears` holds [W_q, W_k, W_v, W_o] as in the article. With backend "naive" (or "auto"
    while `keep_attn` is set) the weights of the last call are kept in `.attn`; otherwise
    PyTorch's fused scaled_dot_product_attention runs and `.attn` is None.
    Chapter 10: `kv_heads` < h shares each key/value head among h / kv_heads query heads
    (grouped-query attention; 1 = multi-query); `rope` rotates queries and keys by position.
    """

    def __init__(self, h: int, d_model: int, dropout: float = 0.1, backend: str = "auto",
                 kv_heads: int | None = None, rope: nn.Module | None = None):
        super().__init__()
        if h <= 0 or d_model % h:
            raise ValueError(
                f"d_model ({d_model}) must be divisible by the number of heads h ({h}); "
                f"each head gets d_k = d_model / h dimensions. Try h in "
                f"{[d for d in (1, 2, 4, 8, 16) if d_model % d == 0]}"
            )
        self.d_k = d_model // h
        self.h = h
        self.kv_heads = h if kv_heads is None else kv_heads
        if not isinstance(self.kv_heads, int) or self.kv_heads <= 0 or h % self.kv_heads:
            raise ValueError(f"kv_heads must divide h={h} (each key/value head serves h / "
                             f"kv_heads query heads), got {kv_heads!r}; try one of "
                             f"{[d for d in range(1, h + 1) if h % d == 0]}")
        self.linears = clones(nn.Linear(d_model, d_model), 4)
        if self.kv_heads != h:  # W_k and W_v project to kv_heads heads only
            for i in (1, 2):
                self.linears[i] = nn.Linear(d_model, self.kv_heads * self.d_k)
        self.rope = rope
        self.attn: torch.Tensor | None = None
        self.dropout = nn.Dropout(p=dropout)
        self.backend = validate_backend(backend)
        self.keep_attn = False

    @property
    def uses_weights(self) -> bool:
        """True when this layer computes (and keeps) explicit attention weights."""
        return self.backend == "naive" or (self.backend == "auto" and self.keep_attn)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        B = query.size(0)
        W_q, W_k, W_v, W_o = self.linears

        def heads(x: torch.Tensor, n: int) -> torch.Tensor:
            return x.view(B, -1, n, self.d_k).transpose(1, 2)  # (B, T, n*d_k) -> (B, n, T, d_k)

        q = heads(W_q(query), self.h)  # (B, H, Tq, d_k)
        # Decoding step by step, the new positions come after the cached ones.
        offset = cache.length if cache is not None and not cache.static else 0
        if self.rope is not None:
            q = self.rope(q, offset)
        if cache is not None and cache.static and cache.k is not None:
            k, v = cache.k, cache.v  # the memory's keys and values, computed at the first step
        else:
            k, v = heads(W_k(key), self.kv_heads), heads(W_v(value), self.kv_heads)
            if self.rope is not None:
                k = self.rope(k, offset)  # rotated before caching: a key keeps its position
            if cache is not None:
                if not cache.static and cache.k is not None:
                    k = torch.cat([cache.k, k], dim=2)  # (B, H, T_past + Tk, d_k)
                    v = torch.cat([cache.v, v], dim=2)
                cache.k, cache.v = k, v
        Tq, Tk = q.size(2), k.size(2)
        if self.kv_heads != self.h:  # query head i reads key/value head i // (h / kv_heads)
            k = k.repeat_interleave(self.h // self.kv_heads, dim=1)  # (B, H, Tk, d_k)
            v = v.repeat_interleave(self.h // self.kv_heads, dim=1)
        if mask is not None:
            mask = validate_mask(mask, (B, Tq, Tk)).unsqueeze(1)  # the same mask for every head
        if self.uses_weights:
            x, self.attn = attention(q, k, v, mask=mask, dropout=self.dropout)
        else:
            self.attn = None
            p = self.dropout.p if self.training else 0.0
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        x = x.transpose(1, 2).contiguous().view(B, -1, self.h * self.d_k)  # (B, Tq, D)
        return W_o(x)

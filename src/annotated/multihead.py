"""Chapter 4: h attention heads in parallel, each on a d_model / h slice."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention, check_backend, check_mask
from .layers import clones


class MultiHeadedAttention(nn.Module):
    """Project to h heads of size d_k, attend in each, concatenate, project back.

    `linears` holds [W_q, W_k, W_v, W_o] as in the article. With backend "naive" (or "auto"
    while `keep_attn` is set) the weights of the last call are kept in `.attn`; otherwise
    PyTorch's fused scaled_dot_product_attention runs and `.attn` is None.
    """

    def __init__(self, h: int, d_model: int, dropout: float = 0.1, backend: str = "auto"):
        super().__init__()
        if h <= 0 or d_model % h:
            raise ValueError(
                f"d_model ({d_model}) must be divisible by the number of heads h ({h}); "
                f"each head gets d_k = d_model / h dimensions. Try h in "
                f"{[d for d in (1, 2, 4, 8, 16) if d_model % d == 0]}"
            )
        self.d_k = d_model // h
        self.h = h
        self.linears = clones(nn.Linear(d_model, d_model), 4)
        self.attn: torch.Tensor | None = None
        self.dropout = nn.Dropout(p=dropout)
        self.backend = check_backend(backend)
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
    ) -> torch.Tensor:
        B, Tq, Tk = query.size(0), query.size(1), key.size(1)
        if mask is not None:
            mask = check_mask(mask, (B, Tq, Tk)).unsqueeze(1)  # the same mask for every head
        # (B, T, D) -> (B, T, H, d_k) -> (B, H, T, d_k)
        q, k, v = [
            lin(x).view(B, -1, self.h, self.d_k).transpose(1, 2)
            for lin, x in zip(self.linears, (query, key, value), strict=False)
        ]
        if self.uses_weights:
            x, self.attn = attention(q, k, v, mask=mask, dropout=self.dropout)
        else:
            self.attn = None
            p = self.dropout.p if self.training else 0.0
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        x = x.transpose(1, 2).contiguous().view(B, -1, self.h * self.d_k)  # (B, Tq, D)
        return self.linears[-1](x)

"""Chapter 2: sinusoidal positional encoding, added to the embeddings."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_frequencies(d_model: int) -> torch.Tensor:
    """The D/2 angular frequencies 1 / 10000^(2k / d_model), one per sin/cos pair k."""
    # The original code's form: equal to 10000 ** (-2k / d_model) up to float32 rounding.
    return torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )  # (D/2,)


def sinusoidal_table(max_len: int, d_model: int) -> torch.Tensor:
    """The (max_len, d_model) table: sin on even dimensions 2k, cos on odd dimensions 2k+1."""
    if d_model % 2:
        raise ValueError(f"d_model must be even for sin/cos pairs, got {d_model}")
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    div_term = sinusoidal_frequencies(d_model)  # (D/2,)
    pe = torch.zeros(max_len, d_model)  # (L, D)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


class PositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table to its input, then applies dropout."""

    def __init__(self, d_model: int, dropout: float, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        self.max_len = max_len
        # A buffer, not a parameter: it moves with .to(device) but is never trained.
        pe = sinusoidal_table(max_len, d_model).unsqueeze(0)  # (1, max_len, D)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Add the encodings of positions start, start+1, ... (start > 0: step-by-step decoding)."""
        end = start + x.size(1)
        if end > self.max_len:
            raise ValueError(
                f"sequence length {end} exceeds the positional encoding's max_len "
                f"{self.max_len}; shorten the input or build the model with max_len >= {end}"
            )
        x = x + self.pe[:, start:end].to(x.dtype)  # (B, S, D) + (1, S, D)
        return self.dropout(x)


def shift_matrix(offset: int, d_model: int) -> torch.Tensor:
    """The (d_model, d_model) matrix M with PE(p + offset) = M @ PE(p) for every position p.

    It is block-diagonal: for each sin/cos pair with frequency w, a 2x2 rotation by offset * w.
    It does not depend on p, which is why a relative offset is easy for a linear layer to use.
    """
    if d_model % 2:
        raise ValueError(f"d_model must be even for sin/cos pairs, got {d_model}")
    freq = sinusoidal_frequencies(d_model)  # (D/2,)
    c, s = torch.cos(offset * freq), torch.sin(offset * freq)  # (D/2,)
    m = torch.zeros(d_model, d_model)  # (D, D)
    # [sin(a+b), cos(a+b)] = [[cos b, sin b], [-sin b, cos b]] @ [sin a, cos a]
    m[0::2, 0::2] = torch.diag(c)
    m[0::2, 1::2] = torch.diag(s)
    m[1::2, 0::2] = torch.diag(-s)
    m[1::2, 1::2] = torch.diag(c)
    return m

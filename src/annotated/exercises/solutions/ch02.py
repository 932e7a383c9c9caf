"""Chapter 2's solutions: a wavelength, a look-ahead matrix, the positional table."""

from __future__ import annotations

import math

import torch

from ...positional import shift_matrix


def look_ahead(offset: int, d_model: int) -> torch.Tensor:
    """PE(p) @ A @ PE(q) = (M PE(p))·PE(q) = PE(p + offset)·PE(q): largest at q = p + offset."""
    return shift_matrix(offset, d_model).T


def positional_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """The paper's table, written straight from its formula."""
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    exponent = torch.arange(0, d_model, 2, dtype=torch.float32) / d_model  # (D/2,): 2k / D
    angle = position / 10000 ** exponent  # (L, D/2)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


SOLUTIONS = {
    # Dimension 301 is the cos of pair k = 150: w = 1 / 10000^(300/512), one wave = 2π / w.
    "check_wavelength": 2 * math.pi * 10000 ** (300 / 512),
    "check_look_ahead": look_ahead,
    "check_positional_encoding": positional_encoding,
    # Base 10: the slowest pair repeats every 2π·10^(510/512) ≈ 63 positions, so every
    # cosine soon leaves 1 and their sum wobbles around 0 beyond a few positions.
    "check_small_base": "b",
}

import math

import pytest
import torch

from annotated import PositionalEncoding
from annotated.positional import sinusoidal_table


def test_sin_on_even_cos_on_odd_dimensions():
    pe = sinusoidal_table(50, 8)
    pos, k = 7, 1  # dimensions 2k and 2k+1 share the frequency 1 / 10000^(2k/d)
    freq = 1 / 10000 ** (2 * k / 8)
    assert pe[pos, 2 * k].item() == pytest.approx(math.sin(pos * freq), abs=1e-6)
    assert pe[pos, 2 * k + 1].item() == pytest.approx(math.cos(pos * freq), abs=1e-6)
    assert pe.abs().max() <= 1.0


def test_adds_table_and_keeps_shape():
    layer = PositionalEncoding(d_model=8, dropout=0.0, max_len=20)
    x = torch.zeros(2, 5, 8)
    out = layer(x)
    assert out.shape == (2, 5, 8)
    torch.testing.assert_close(out[0], sinusoidal_table(20, 8)[:5])


def test_too_long_sequence_names_max_len():
    layer = PositionalEncoding(d_model=8, dropout=0.0, max_len=10)
    with pytest.raises(ValueError, match="max_len 10"):
        layer(torch.zeros(1, 11, 8))


def test_odd_d_model_is_refused():
    with pytest.raises(ValueError, match="even"):
        sinusoidal_table(10, 7)


def test_shift_matrix_moves_every_position_by_the_offset():
    from annotated.positional import shift_matrix

    pe = sinusoidal_table(60, 16)
    for offset in (1, 5, 17):
        m = shift_matrix(offset, 16)
        torch.testing.assert_close(pe[offset:], (m @ pe[:60 - offset].T).T, atol=1e-5, rtol=0)
        torch.testing.assert_close(m @ m.T, torch.eye(16), atol=1e-6, rtol=0)  # a rotation
    with pytest.raises(ValueError, match="even"):
        shift_matrix(1, 5)

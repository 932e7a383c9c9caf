"""Chapter 2: the facts behind the figures, the positional widget and the grader."""

import matplotlib.pyplot as plt
import pytest
import torch
from timing import update_seconds

from annotated.exercises import check_positional_encoding
from annotated.positional import sinusoidal_table
from annotated.viz.draw import draw_positional, pe_rotation
from annotated.viz.widgets import positional_explorer


def test_similarity_depends_only_on_the_distance():
    pe = sinusoidal_table(200, 512)
    gram = pe @ pe.T  # (L, L)
    for k in (1, 7, 50):
        band = torch.diagonal(gram, offset=k)
        assert (band - band[0]).abs().max() < 1e-3
    assert gram[0, 0] == pytest.approx(256.0) and gram[0, 1] < gram[0, 0]


def test_rotation_figure_points_land_on_later_positions():
    fig = pe_rotation(pair=24, offset=2, positions=10)
    ax = fig.axes[0]
    circle, crosses = ax.get_lines()
    torch.testing.assert_close(torch.tensor(crosses.get_xydata(), dtype=torch.float32),
                               torch.tensor(circle.get_xydata()[2:], dtype=torch.float32),
                               atol=1e-5, rtol=0)
    plt.close("all")


def test_widget_draws_the_chosen_dimensions_and_position():
    fig = draw_positional(30, (0, 128))
    left, right = fig.axes[:2]
    labels = [line.get_label() for line in left.get_lines()[:4]]
    assert labels == ["dim 0", "dim 42", "dim 84", "dim 127"]
    pe = sinusoidal_table(100, 512)
    assert f"{pe[30, 42].item():+.2f}" in left.get_title()
    assert right.get_title().startswith("dimensions 0 to 127 ")
    plt.close("all")
    with pytest.raises(ValueError, match="position"):
        draw_positional(100, (0, 8))
    with pytest.raises(ValueError, match="lo < hi"):
        draw_positional(3, (8, 8))


def test_widget_follows_both_sliders_quickly():
    w = positional_explorer()
    w.children[1].value = (100, 200)
    assert w.result.axes[1].get_title().startswith("dimensions 100 to 199 ")
    assert update_seconds(w, 0, [5, 50, 99]) < 0.5
    assert update_seconds(w, 1, [(0, 512), (0, 16), (256, 320)]) < 0.5


def test_check_positional_encoding():
    def right(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        pos = torch.arange(max_len).unsqueeze(1).float()
        div = 10000 ** (torch.arange(0, d_model, 2).float() / d_model)
        pe[:, 0::2] = torch.sin(pos / div)
        pe[:, 1::2] = torch.cos(pos / div)
        return pe

    def swapped(max_len, d_model):
        pe = right(max_len, d_model)
        return pe[:, torch.arange(d_model) ^ 1]  # exchange columns 2k and 2k+1

    def concatenated(max_len, d_model):
        pe = right(max_len, d_model)
        return torch.cat([pe[:, 0::2], pe[:, 1::2]], dim=1)

    def exponent(scale):
        def attempt(max_len, d_model):
            pos = torch.arange(max_len).unsqueeze(1).float()
            div = 10000 ** (scale * torch.arange(0, d_model, 2).float() / d_model)
            return torch.stack([torch.sin(pos / div), torch.cos(pos / div)], dim=2).flatten(1)

        return attempt

    def from_one(max_len, d_model):
        return right(max_len + 1, d_model)[1:]

    assert check_positional_encoding(right).passed
    assert "swapped" in check_positional_encoding(swapped).message
    assert "interleaves" in check_positional_encoding(concatenated).message
    assert "start at 0" in check_positional_encoding(from_one).message
    assert check_positional_encoding(exponent(1.0)).passed
    assert "twice as fast" in check_positional_encoding(exponent(2.0)).message
    assert "k / d_model" in check_positional_encoding(exponent(0.5)).message
    assert check_positional_encoding(lambda n, d: None).message.startswith("Not attempted")
    half = check_positional_encoding(lambda n, d: right(n, d)[:, : d // 2])
    assert not half.passed and "for max_len=6, d_model=8, your table has shape" in half.message

    def own_exponent(max_len, d_model):  # column i with exponent i / d_model, cos ones too
        pos = torch.arange(max_len).float().unsqueeze(1)
        i = torch.arange(d_model).float()
        angle = pos / 10000 ** (i / d_model)
        return torch.where(i.long() % 2 == 0, angle.sin(), angle.cos())

    assert "same frequency as 2k" in check_positional_encoding(own_exponent).message

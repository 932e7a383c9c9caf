"""Chapter 2: the facts behind the figures, the two widgets and the graders."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from timing import update_seconds

from annotated import pretrained
from annotated.exercises import (
    check_look_ahead,
    check_positional_encoding,
    check_small_base,
    check_wavelength,
)
from annotated.exercises.solutions import solution
from annotated.positional import shift_matrix, sinusoidal_table
from annotated.viz.draw import draw_positional, draw_positions_switch, pe_rotation, pe_similarity
from annotated.viz.figures import FIGURES
from annotated.viz.measure import source_positions_off, symmetric_offsets
from annotated.viz.widgets import positional_explorer, positions_switch_explorer


@pytest.fixture(scope="module")
def translator():
    return pretrained.load("numbers")


def test_similarity_depends_only_on_the_distance():
    pe = sinusoidal_table(200, 512)
    gram = pe @ pe.T  # (L, L)
    for k in (1, 7, 50):
        band = torch.diagonal(gram, offset=k)
        assert (band - band[0]).abs().max() < 1e-3
    assert gram[0, 0] == pytest.approx(256.0) and gram[0, 1] < gram[0, 0]


def test_rotation_figure_draws_the_unit_circle_and_points_land_on_later_positions():
    fig = pe_rotation(pair=24, offset=2, positions=10)
    ax = fig.axes[0]
    circle, dots, crosses = ax.get_lines()
    assert circle.get_label() == "unit circle"
    assert np.allclose(np.hypot(*circle.get_xydata().T), 1.0, atol=1e-6)
    assert np.allclose(np.hypot(*dots.get_xydata().T), 1.0, atol=1e-5)  # PE pairs on it
    torch.testing.assert_close(torch.tensor(crosses.get_xydata(), dtype=torch.float32),
                               torch.tensor(dots.get_xydata()[2:], dtype=torch.float32),
                               atol=1e-5, rtol=0)
    assert "M_2 @ PE(p) = PE(p + 2)" in ax.get_title()
    assert "02_pe_rotation" in FIGURES
    plt.close("all")


def test_similarity_figure_is_one_symmetric_curve():
    fig = pe_similarity()
    right = next(ax for ax in fig.axes if "+Δ and -Δ" in ax.get_title())
    curve = [line for line in right.get_lines() if line.get_label() == "PE(60)·PE(60 + Δ)"]
    assert len(curve) == 1  # one curve, not three identical ones
    k, dot = curve[0].get_xydata().T
    assert k[0] == -60 and k[-1] == 60 and dot[60] == pytest.approx(256.0, abs=1e-3)
    assert np.allclose(dot, dot[::-1], atol=1e-3)  # the same at +k and -k
    offsets, dots = symmetric_offsets(64, p=20, reach=20)
    assert offsets == list(range(-20, 21)) and max(dots) == dots[20]
    plt.close("all")


def test_without_source_positions_23_and_32_translate_alike(translator):
    pair = ["二十三", "三十二"]
    assert translator.translate(pair) == ["twenty-three", "thirty-two"]
    before = translator.model.src_embed[1].pe.clone()
    with source_positions_off(translator.model):
        assert translator.model.src_embed[1].pe.abs().max() == 0
        off = translator.translate(pair)
    assert off[0] == off[1]
    assert torch.equal(translator.model.src_embed[1].pe, before)  # restored
    assert translator.model.tgt_embed[1].pe.abs().max() > 0  # the decoder keeps its own


def test_positions_switch_draws_the_translation(translator):
    on = draw_positions_switch(translator, 32, "ja", positions=True)
    assert "三十二 -> thirty-two" in on.axes[0].get_title()
    assert "source positions on" in on.axes[0].get_title()
    off = draw_positions_switch(translator, 23, "ja", positions=False)
    assert "二十三 -> thirty-two" in off.axes[0].get_title()
    assert "source positions OFF" in off.axes[0].get_title()
    plt.close("all")
    with pytest.raises(ValueError, match="whole number"):
        draw_positions_switch(translator, -1)


def test_positions_switch_widget_follows_its_controls(translator):
    w = positions_switch_explorer(translator)
    number, lang, positions = w.children[:3]
    number.value = 23
    assert "二十三 -> twenty-three" in w.result.axes[0].get_title()
    positions.value = False
    assert "二十三 -> thirty-two" in w.result.axes[0].get_title()
    lang.value = "de"
    assert "dreiundzwanzig" in w.result.axes[0].get_title()
    assert "OFF" in w.result.axes[0].get_title()
    plt.close("all")
    # A translation per update: slower than a table lookup, still well under a second.
    assert update_seconds(w, 0, [7, 45, 1234]) < 1.0
    assert update_seconds(w, 2, [True, False, True]) < 1.0


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


def test_check_wavelength_names_each_mistake():
    turn = 2 * math.pi
    right = turn * 10000 ** (300 / 512)
    assert check_wavelength(right).passed and check_wavelength(round(right)).passed
    assert check_wavelength(solution("check_wavelength")).passed
    assert "shares the frequency of dimension 300" in check_wavelength(
        turn * 10000 ** (301 / 512)).message
    assert "exponent uses 2k" in check_wavelength(turn * 10000 ** (150 / 512)).message
    assert "positions per radian" in check_wavelength(10000 ** (300 / 512)).message
    assert "that is a frequency" in check_wavelength(1 / right).message
    assert "angular frequency w itself" in check_wavelength(10000 ** (-300 / 512)).message
    assert check_wavelength(None).message.startswith("Not attempted yet. ")
    assert "Hint 1" in check_wavelength(None).message
    assert "too long" in check_wavelength(10 * right).message
    assert "too short" in check_wavelength(100).message
    assert "Give one number" in check_wavelength("far").message


def test_check_look_ahead_names_each_mistake():
    assert check_look_ahead(solution("check_look_ahead")).passed
    assert check_look_ahead(lambda k, d: shift_matrix(k, d).T).passed
    back = check_look_ahead(lambda k, d: shift_matrix(k, d))
    assert not back.passed and "looks 3 places back" in back.message
    itself = check_look_ahead(lambda k, d: torch.eye(d))
    assert not itself.passed and "looks hardest at itself" in itself.message
    twice = check_look_ahead(lambda k, d: shift_matrix(2 * k, d).T)
    assert not twice.passed and "looks hardest at position 14, not 11" in twice.message
    shape = check_look_ahead(lambda k, d: torch.eye(k))
    assert not shape.passed and "return a (64, 64) tensor" in shape.message

    def unwritten(k, d_model):
        ...

    assert check_look_ahead(unwritten).message.startswith("Not attempted yet")
    assert "raised ZeroDivisionError" in check_look_ahead(lambda k, d: 1 / 0).message
    assert "no parentheses" in check_look_ahead(shift_matrix(1, 8)).message


def test_positional_encoding_solution_passes():
    assert check_positional_encoding(solution("check_positional_encoding")).passed


def test_check_small_base_names_each_mistake_and_the_answer_holds():
    assert check_small_base(solution("check_small_base")).passed
    assert check_small_base("(B)").passed
    assert "slowest pair" in check_small_base("a").message
    assert "never line up" in check_small_base("c").message
    assert check_small_base(None).message.startswith("Not attempted yet")
    assert "one letter" in check_small_base("z").message
    # The answer is what the table does: with base 10, beyond 5 positions every dot product
    # is far below the one at 0, and with 10000 it stays above half of it.
    for base, low, high in ((10, -100, 100), (10000, 128 - 5, 256)):
        freq = 1 / base ** (torch.arange(0, 512, 2) / 512)
        angle = torch.arange(121).unsqueeze(1) * freq
        table = torch.stack([angle.sin(), angle.cos()], dim=2).flatten(1)
        far = (table[60] @ table.T)[66:]  # Δ = 6..60
        assert low < far.min() and far.max() < high

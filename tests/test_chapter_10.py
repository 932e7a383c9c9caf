"""Chapter 10: the measurements and pictures of the switches, the RoPE widget, the graders."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from annotated.exercises import check_cache_bytes, check_rotate_pair
from annotated.exercises.ch10 import cache_bytes_per_token
from annotated.viz import figures
from annotated.viz.draw import (
    ablation_figure,
    decoder_only_figure,
    draw_loss_race,
    draw_rope,
    gqa_figure,
)
from annotated.viz.measure import (
    ffn_parameters,
    norm_outputs,
    pair_frequency,
    relative_scores,
    rope_track,
)
from annotated.viz.widgets import rope_explorer


def test_layernorm_centres_and_rmsnorm_only_scales():
    out = norm_outputs()
    x, ln, rms = out["x"], out["LayerNorm(x)"], out["RMSNorm(x)"]
    assert abs(x.mean().item()) > 1  # the example's mean is far from 0
    assert abs(ln.mean().item()) < 1e-5 and abs(rms.mean().item()) > 0.5
    for v in (ln, rms):
        assert v.pow(2).mean().sqrt().item() == pytest.approx(1.0, abs=1e-4)
    assert torch.cosine_similarity(rms, x, dim=0).item() == pytest.approx(1.0, abs=1e-6)
    assert torch.equal(torch.sign(rms), torch.sign(x))


@pytest.mark.parametrize(("d_model", "d_ff"), [(512, 2048), (64, 256), (128, 512)])
def test_swiglu_is_parameter_matched_to_the_relu_block(d_model, d_ff):
    counts = ffn_parameters(d_model, d_ff)
    (relu_width, relu), (gated_width, gated) = counts["ReLU"], counts["SwiGLU"]
    assert relu_width == d_ff and abs(gated_width - 2 * d_ff / 3) < 0.05 * d_ff
    assert abs(relu - gated) <= 1.5 * d_model


def test_rope_track_turns_by_the_pair_frequency_and_keeps_the_length():
    track = rope_track(pair=3, positions=20, d_k=16)
    assert track.shape == (20, 2)
    torch.testing.assert_close(track.norm(dim=-1), torch.ones(20))
    angles = torch.atan2(track[:, 1], track[:, 0])
    step = (angles[1] - angles[0]).item()
    assert step == pytest.approx(pair_frequency(3, 16), abs=1e-5)
    assert pair_frequency(0, 16) == 1.0
    with pytest.raises(ValueError, match="pair must be in 0..7"):
        rope_track(pair=8, d_k=16)


def test_only_rope_scores_depend_on_the_distance_alone():
    def spread(kind):
        scores = torch.stack(list(relative_scores(kind).values()))
        return (scores - scores[0]).abs().max().item()

    assert spread("rope") < 1e-4
    assert spread("sinusoidal") > 0.1
    with pytest.raises(ValueError, match="'sinusoidal' or 'rope'"):
        relative_scores("learned")


def test_draw_rope_marks_the_position_and_checks_it():
    fig = draw_rope(position=10, pair=0)
    left, right = fig.axes
    assert "turned by 10.00 rad" in left.get_title()
    assert "every 6.3 positions" in right.get_title()
    with pytest.raises(ValueError, match="position must be in 0..63"):
        draw_rope(position=64)
    plt.close("all")


def test_rope_explorer_redraws_on_each_slider():
    w = rope_explorer()
    position, pair = w.children[0], w.children[1]
    first = w.result.axes[0].get_title()
    position.value = 20
    assert w.result.axes[0].get_title() != first and "position 20" in w.result.axes[0].get_title()
    before = w.result.axes[0].get_title()
    pair.value = 0
    assert w.result.axes[0].get_title() != before and "pair 0" in w.result.axes[0].get_title()
    plt.close("all")


def test_gqa_figure_prints_the_cache_that_shrinks_with_the_group():
    fig = gqa_figure(h=8, d_k=64, layers=6, bytes_per_value=2)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    for kv in (8, 2, 1):
        assert f"cache per token: {6 * 2 * kv * 64 * 2:,} bytes" in texts
    plt.close("all")


def test_decoder_only_figure_reds_exactly_the_target_rows():
    fig = decoder_only_figure(("a", "b"), ("x", "y", "z"), sep="<s>")
    mask_ax = fig.axes[2]
    labels = mask_ax.get_yticklabels()
    assert [t.get_text() for t in labels][2] == "<s> -> x"
    red = [t.get_text() for t in labels if t.get_color() == "tab:red"]
    assert red == ["<s> -> x", "x -> y", "y -> z", "z -> </s>"]
    plt.close("all")


def test_loss_race_and_ablation_drawers():
    fig = draw_loss_race({"2017": [3.0, 2.5, 2.0, 1.8], "today": [3.0, 2.0, 1.5, 1.2]}, every=2)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["2017", "today"]
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 3
    rows = [{"name": n, "exact_match": e, "steps_to_99": s,
             "per_seed": {"0": {"exact_match": e - 0.01, "steps_to_99": s},
                          "1": {"exact_match": e, "steps_to_99": None}}}
            for n, e, s in (("2017", 0.95, 1500), ("rms", 0.96, None))]
    fig = ablation_figure(rows)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["2017", "rms"]
    plt.close("all")


@pytest.mark.parametrize("name", sorted(n for n in figures.FIGURES if n.startswith("10_")))
def test_chapter_10_figures_draw(name):
    fig = figures.FIGURES[name].make()
    assert fig.axes
    plt.close(fig)


def test_rotate_pair_grader_names_the_mistakes():
    def clockwise(x1, x2, a):
        return x1 * torch.cos(a) + x2 * torch.sin(a), -x1 * torch.sin(a) + x2 * torch.cos(a)

    def degrees(x1, x2, a):
        a = a * math.pi / 180
        return x1 * torch.cos(a) - x2 * torch.sin(a), x1 * torch.sin(a) + x2 * torch.cos(a)

    def stub(x1, x2, a):
        ...

    assert "clockwise" in check_rotate_pair(clockwise).message
    assert "radians" in check_rotate_pair(degrees).message
    assert check_rotate_pair(stub).message.startswith("Not attempted yet")


def test_cache_grader_names_the_mistakes():
    assert cache_bytes_per_token(6, 8, 2, 512, 2) == 3072
    mistakes = {
        "multi-head": lambda L, h, kv, D, b: L * 2 * h * (D // h) * b,
        "keys and the values": lambda L, h, kv, D, b: L * kv * (D // h) * b,
        "every layer": lambda L, h, kv, D, b: 2 * kv * (D // h) * b,
        "d_model / h": lambda L, h, kv, D, b: L * 2 * kv * D * b,
        "bytes": lambda L, h, kv, D, b: L * 2 * kv * (D // h),
    }
    for words, attempt in mistakes.items():
        result = check_cache_bytes(attempt)
        assert not result.passed and words in result.message, words

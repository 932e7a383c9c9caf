"""Chapter 10: the measurements and pictures of the switches, the RoPE widget, the graders."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from annotated.exercises import check_biggest_switch, check_cache_bytes, check_rotate_pair
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
    ablation_table,
    ablation_verdicts,
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


def test_ablation_table_prints_every_row_and_seed():
    rows = [{"name": "base", "params": 1000, "step_ms": 12.34, "steps_to_99": 1200.0,
             "exact_match": 0.99, "cache_bytes_per_token": 4096,
             "per_seed": {"0": {"exact_match": 0.985}, "1": {"exact_match": 0.995}}},
            {"name": "rms", "params": 990, "step_ms": 11.0, "steps_to_99": None,
             "exact_match": 0.97, "cache_bytes_per_token": 4096,
             "per_seed": {"0": {"exact_match": 0.97}}}]
    lines = ablation_table(rows).splitlines()
    assert len(lines) == 3 and lines[0].startswith("row")
    assert "0.985 0.995" in lines[1] and "1,000" in lines[1] and "4,096" in lines[1]
    assert lines[2].split()[3] == "-"  # never reached 99% within the budget


def toy_ablation():
    def row(name, config, exact):
        return {"name": name, "config": config, "exact_match": exact}

    return [row("base", {}, 0.90), row("rms", {"norm_type": "rms"}, 0.91),
            row("swiglu", {"ffn": "swiglu"}, 0.95), row("rope", {"position": "rope"}, 0.80),
            row("modern", {"norm_type": "rms", "ffn": "swiglu"}, 0.99)]


def test_biggest_switch_grader_counts_a_loss_as_much_as_a_gain():
    rows = toy_ablation()
    assert check_biggest_switch("rope", rows).passed  # 0.10 down beats 0.05 up
    messages = {name: check_biggest_switch(name, rows).message
                for name in ("base", "modern", "swiglu", "rms", "nothing")}
    assert "2017 row" in messages["base"]
    assert "several switches" in messages["modern"]
    assert "best row" in messages["swiglu"]
    assert "another row" in messages["rms"]
    assert "no row of the table" in messages["nothing"]
    assert check_biggest_switch(..., rows).message.startswith("Not attempted yet")


def test_ablation_verdicts_compare_each_gap_with_the_seeds_spread():
    def row(name, config, *seeds):
        return {"name": name, "config": config, "exact_match": sum(seeds) / len(seeds),
                "per_seed": {str(i): {"exact_match": s} for i, s in enumerate(seeds)}}

    rows = [row("base", {}, 0.90, 0.92), row("rms", {"norm_type": "rms"}, 0.92, 0.93),
            row("rope", {"position": "rope"}, 0.70, 0.72), row("gelu", {"ffn": "gelu"}, 0.95)]
    verdicts = {name: (gap, noise, verdict) for name, gap, noise, verdict
                in ablation_verdicts(rows)}
    assert set(verdicts) == {"rms", "rope", "gelu"}
    assert verdicts["rms"][2] == "within the seeds' spread"
    assert verdicts["rope"][0] == pytest.approx(-0.2) and verdicts["rope"][1] == pytest.approx(0.02)
    assert verdicts["rope"][2] == "larger than the seeds' spread"
    assert verdicts["gelu"][2].startswith("one seed")


def test_ablation_figure_says_when_no_run_reached_99_percent():
    rows = [{"name": "base", "exact_match": 0.5, "steps_to_99": None,
             "per_seed": {"0": {"exact_match": 0.5, "steps_to_99": None}}}]
    fig = ablation_figure(rows)
    assert any("no run reached it" in t.get_text() for t in fig.axes[1].texts)
    assert not fig.axes[0].texts
    plt.close("all")

"""Chapter 10: the measurements and pictures of the switches, the RoPE widget, the graders."""


import matplotlib.pyplot as plt
import pytest
import torch

from annotated.exercises import (
    check_biggest_switch,
    check_llama_cache,
    check_rope,
    check_sines_plus_rope,
)
from annotated.exercises.ch10 import _turned, llama_cache, rope_at
from annotated.exercises.grading import calls_any
from annotated.modern import RotaryEmbedding, ablation_verdicts, cache_bytes_formula
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
    ffn_parameters,
    norm_outputs,
    pair_frequency,
    race_vocabularies,
    relative_scores,
    rope_track,
    score_drift,
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
    assert score_drift("rope") < 1e-4
    assert score_drift("sinusoidal") > 0.1
    assert score_drift("sinusoidal+rope") > 0.1  # the table's cross terms survive the turns
    with pytest.raises(ValueError, match="'sinusoidal', 'rope'"):
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
    assert "6 layers, d_k = 64, 2-byte numbers" in fig.get_suptitle()
    # the chapter's figure counts what its code measures: one layer, float32
    texts = [t.get_text() for ax in gqa_figure().axes for t in ax.texts]
    assert [t for t in texts if t.startswith("cache")] == [
        f"cache per token: {n:,} bytes" for n in (4096, 1024, 512)]
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


def test_rope_reference_is_the_package_rotary_embedding():
    x = torch.randn(2, 3, 16)
    for m in (0, 1, 7):
        expected = RotaryEmbedding(16)(x.unsqueeze(-2), offset=m).squeeze(-2)
        torch.testing.assert_close(rope_at(x, m), expected)


def rope_package(x, m):
    return RotaryEmbedding(x.size(-1))(x.unsqueeze(-2), offset=m).squeeze(-2)


def test_rope_grader_refuses_the_package_and_names_the_mistakes():
    assert not check_rope(RotaryEmbedding).passed
    result = check_rope(rope_package)  # right numbers, but the package does the work
    assert not result.passed and "RotaryEmbedding" in result.message
    assert calls_any(rope_package, ("RotaryEmbedding",)) == "RotaryEmbedding"
    assert calls_any(rope_at, ("RotaryEmbedding",)) is None
    mistakes = {
        "neighbours": lambda x, m: _turned(x, m, neighbours=True),
        "clockwise": lambda x, m: _turned(x, m, sign=-1.0),
        "factor 2": lambda x, m: _turned(x, m, exponent=1.0),
        "whatever the position": lambda x, m: _turned(x, m, positions=False),
    }
    for words, attempt in mistakes.items():
        result = check_rope(attempt)
        assert not result.passed and words in result.message, words

    def stub(x, m):
        ...

    assert check_rope(stub).message.startswith("Not attempted yet")
    assert check_rope(lambda x, m: _turned(x, m)).passed


def test_llama_cache_grader_checks_the_prediction_and_names_the_mistakes():
    assert llama_cache(8) == cache_bytes_formula(80, 8, 128, 2) == 327_680
    right = {"kv_heads=64": 2_621_440, "kv_heads=8": 327_680}
    assert check_llama_cache(right).passed
    assert check_llama_cache({"kv_heads=64": 2.6e6, "kv_heads=8": 3.3e5}).passed  # within 5%
    assert check_llama_cache({"kv_heads=64": ..., "kv_heads=8": ...}).message.startswith(
        "Not attempted yet")
    wrong = {
        "two tensors": (1_310_720, 163_840),
        "d_model / h": (2_621_440 * 64, 327_680 * 64),
        "one layer": (2_621_440 // 80, 327_680 // 80),
        "4-byte": (2 * 2_621_440, 2 * 327_680),
        "query heads": (2_621_440, 2_621_440),
        "right; with 64": (1_000, 327_680),
    }
    for words, (a, b) in wrong.items():
        result = check_llama_cache({"kv_heads=64": a, "kv_heads=8": b})
        assert not result.passed and words in result.message, words
    assert not check_llama_cache({"kv_heads=64": 5, "kv_heads=8": 5}).passed


def test_sines_plus_rope_grader():
    assert check_sines_plus_rope("b").passed
    assert check_sines_plus_rope("(B)").passed
    assert "cross terms" in check_sines_plus_rope("a").message
    assert "do not cancel" in check_sines_plus_rope("c").message
    assert not check_sines_plus_rope("d").passed


def test_race_vocabularies_joint_is_larger():
    sizes = race_vocabularies()
    assert sizes["today"] > sizes["2017"] > 10


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
    def row(name, config, *seeds):
        return {"name": name, "config": config, "exact_match": sum(seeds) / len(seeds),
                "per_seed": {str(i): {"exact_match": e} for i, e in enumerate(seeds)}}

    return [row("base", {}, 0.90, 0.91), row("rms", {"norm_type": "rms"}, 0.91, 0.92),
            row("swiglu", {"ffn": "swiglu"}, 0.95, 0.95),
            row("rope", {"position": "rope"}, 0.80, 0.79),
            row("modern", {"norm_type": "rms", "ffn": "swiglu"}, 0.99, 0.99)]


def test_biggest_switch_grader_counts_a_loss_as_much_as_a_gain():
    rows = toy_ablation()
    # rope: 0.105 down beats 0.045 up; the gap is larger than both rows' spreads (0.01)
    assert check_biggest_switch({"row": "rope", "verdict": "larger"}, rows).passed
    messages = {name: check_biggest_switch({"row": name, "verdict": "larger"}, rows).message
                for name in ("base", "modern", "swiglu", "nothing")}
    assert "base row" in messages["base"]
    assert "several switches" in messages["modern"]
    assert "not their signs" in messages["swiglu"]
    assert "no row of the table" in messages["nothing"]
    assert "larger of the two" in check_biggest_switch({"row": "rope", "verdict": "within"},
                                                   rows).message
    assert "must be one of" in check_biggest_switch({"row": "rope", "verdict": "big"},
                                                    rows).message
    assert check_biggest_switch({"row": ..., "verdict": ...}, rows).message.startswith(
        "Not attempted yet")
    assert not check_biggest_switch("rope", rows).passed  # a dict is asked for
    one_seed = [dict(r, per_seed={"0": {"exact_match": r["exact_match"]}}) for r in rows]
    assert check_biggest_switch({"row": "rope", "verdict": "one seed"}, one_seed).passed
    assert "count the dots" in check_biggest_switch({"row": "rope", "verdict": "larger"},
                                                    one_seed).message


def test_ablation_verdicts_compare_each_gap_with_the_seeds_spread():
    def row(name, config, *seeds):
        return {"name": name, "config": config, "exact_match": sum(seeds) / len(seeds),
                "per_seed": {str(i): {"exact_match": s} for i, s in enumerate(seeds)}}

    rows = [row("base", {}, 0.90, 0.92), row("rms", {"norm_type": "rms"}, 0.92, 0.93),
            row("rope", {"position": "rope"}, 0.70, 0.72), row("gelu", {"ffn": "gelu"}, 0.95),
            row("learned", {"position": "learned"}, 0.91)]
    verdicts = {name: (gap, noise, verdict) for name, gap, noise, verdict
                in ablation_verdicts(rows)}
    assert set(verdicts) == {"rms", "rope", "gelu", "learned"}
    assert verdicts["learned"][2] == "within the seeds' spread"  # one seed, inside base's 0.02
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

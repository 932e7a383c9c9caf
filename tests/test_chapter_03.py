"""Chapter 3: the numbers behind the figures, the attention widget and the grader."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from timing import update_seconds

from annotated import attention, pretrained
from annotated.examples import FEATURES, she_gave_him_her_book
from annotated.exercises import check_attention
from annotated.viz.draw import draw_attention_query
from annotated.viz.measure import dot_product_stats
from annotated.viz.widgets import attention_explorer


def test_she_attends_most_to_book_then_her():
    tokens, q, k, v = she_gave_him_her_book()
    _, w = attention(q, k, v)
    she = dict(zip(tokens, w[0].tolist(), strict=True))
    assert max(she, key=she.get) == "book"
    assert she["book"] == pytest.approx(0.543, abs=1e-3)
    assert she["her"] == pytest.approx(0.329, abs=1e-3)
    assert she["gave"] < 0.05 and she["him"] < 0.05


def test_score_variance_grows_with_d_k_unless_scaled():
    s = dot_product_stats([4, 256], n=4000)
    assert s["var(q·k)"] == pytest.approx([4, 256], rel=0.1)
    assert s["var(q·k / sqrt(d_k))"] == pytest.approx([1, 1], rel=0.1)
    assert s["max weight, q·k"][1] > 0.9 > s["max weight, q·k / sqrt(d_k)"][1]


def test_widget_weights_follow_query_and_temperature():
    tokens, q, k, v = she_gave_him_her_book()
    fig = draw_attention_query(tokens, q, k, v, "she", 1.0, FEATURES)
    cells = [float(t.get_text()) for t in fig.axes[0].texts]  # the annotated weights
    assert cells == pytest.approx([0.07, 0.03, 0.03, 0.33, 0.54], abs=0.006)
    plt.close("all")
    cold = draw_attention_query(tokens, q, k, v, "she", 0.1)
    assert float(cold.axes[0].texts[4].get_text()) > 0.98  # "book" takes nearly everything
    hot = draw_attention_query(tokens, q, k, v, "she", 10.0)
    assert all(abs(float(t.get_text()) - 0.2) < 0.05 for t in hot.axes[0].texts)  # near uniform
    plt.close("all")
    with pytest.raises(ValueError, match="not in the sentence"):
        draw_attention_query(tokens, q, k, v, "cat")
    with pytest.raises(ValueError, match="positive"):
        draw_attention_query(tokens, q, k, v, "she", 0.0)


def test_widget_follows_its_controls_quickly():
    tokens, q, k, v = she_gave_him_her_book()
    w = attention_explorer(tokens, q, k, v, FEATURES)
    w.children[0].value = "book"
    assert "'book'" in w.result.axes[0].get_title()
    assert update_seconds(w, 0, ["she", "gave", "her"]) < 0.5
    assert update_seconds(w, 1, [0.2, 3.0, 9.0]) < 0.5


def right(query, key, value, mask=None, temperature=1.0):
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1)) / temperature
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    weights = scores.softmax(dim=-1)
    return weights @ value, weights


def variant(scale=None, dim=-1, use_mask=True, fill=lambda m: m == 0, swap=False,
            temp=lambda s, t: s / t):
    def attempt(query, key, value, mask=None, temperature=1.0):
        d_k = query.size(-1)
        scores = query @ key.transpose(-2, -1) / (math.sqrt(d_k) if scale is None else scale(d_k))
        scores = temp(scores, temperature)
        if mask is not None and use_mask:
            scores = scores.masked_fill(fill(mask), float("-inf"))
        weights = torch.softmax(scores, dim=dim)
        out = torch.matmul(weights, value)
        return (weights, out) if swap else (out, weights)

    return attempt


@pytest.mark.parametrize("attempt, words", [
    (variant(scale=lambda d: 1), "divide the scores by sqrt(d_k)"),
    (variant(scale=lambda d: d), "not by d_k"),
    (variant(dim=-2), "last axis"),
    # no hint fits: the first case that differs is described by its shapes
    (variant(dim=0), "with query (2, 3, 8), key (2, 5, 8), value (2, 5, 6), no mask and "
                     "temperature 1.0, "),
    (variant(temp=lambda s, t: s * t), "temperature multiplies"),
    (variant(temp=lambda s, t: s), "temperature is ignored"),
    (variant(use_mask=False), "mask is ignored"),
    (variant(fill=lambda m: m), "mask is inverted"),
    (variant(swap=True), "in that order"),
])
def test_check_attention_names_the_mistake(attempt, words):
    result = check_attention(attempt)
    assert not result.passed and words in result.message, result.message


def test_check_attention_accepts_right_answers_and_prompts_a_stub():
    assert check_attention(right).passed
    assert check_attention(variant()).passed  # -inf instead of -1e9 is fine too
    assert "at T = 0.5" in check_attention(right).message  # the prediction, checked by a run

    def my_attention(query, key, value, mask=None, temperature=1.0):
        ...

    stub = check_attention(my_attention).message
    assert stub.startswith("Not attempted yet") and "masked_fill" not in stub  # no tools yet
    unnamed = check_attention(variant(dim=0)).message
    assert "masked_fill" in unnamed  # the tools come after a wrong attempt


# --- The teaching pass: diagrams, the trained/untrained switch, the thinking exercises ---

def test_qkv_projection_shows_x_times_each_matrix():
    from annotated.viz.draw import qkv_projection
    from annotated.viz.measure import QKV_SENTENCE, qkv_example

    fig = qkv_projection()
    panels = {ax.get_title(): ax for ax in fig.axes}
    assert set(panels) == {"x: 5 words, d_model = 8", "W_q (8×4)", "W_k (8×4)", "W_v (8×4)",
                           "Q = x W_q", "K = x W_k", "V = x W_v"}
    ex = qkv_example()
    for name in "QKV":
        ax = panels[f"{name} = x W_{name.lower()}"]
        assert [t.get_text() for t in ax.get_yticklabels()] == QKV_SENTENCE
        shown = torch.tensor(ax.collections[0].get_array()).reshape(5, 4)
        product = ex["x"] @ ex[f"W_{name.lower()}"]
        assert torch.allclose(shown.float(), product, atol=0.051)  # one decimal, as printed
    plt.close("all")


def test_attention_pipeline_shows_each_step_for_she():
    from annotated.viz.draw import attention_pipeline

    fig = attention_pipeline("she")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for step in ("1. q·k", "2. ÷ √4", "3. softmax", "4. weight × value",
                 "5. sum = output of 'she'"):
        assert step in texts
    # scores 6 and 5 for book and her, 3.00 and 2.50 after the division, weights 0.54 and 0.33
    for number in ("6", "5", "3.00", "2.50", "0.54", "0.33", "1.42"):
        assert number in texts, number
    plt.close("all")
    with pytest.raises(ValueError, match="not in the sentence"):
        attention_pipeline("cat")


def test_unscaled_attention_saturates_at_512():
    from annotated.viz.measure import softmax_gradient_size, unscaled_peak

    peak = unscaled_peak(512, n=300)
    assert peak["unscaled"] > 0.9 and peak["scaled"] < 0.5
    size = softmax_gradient_size(512, n=300)
    assert size["scaled"] > 4 * size["raw"]


@pytest.fixture(scope="module")
def number_maps():
    from annotated.viz.measure import trained_and_untrained

    text = "dreihundertvierundfünfzig"
    return trained_and_untrained(pretrained.load("numbers"), [text])[text]


def test_training_sharpens_and_aligns_the_cross_attention(number_maps):
    trained, untrained = number_maps["trained"], number_maps["untrained"]
    assert trained.translation == "three hundred and fifty-four"
    assert trained.weights["cross"].shape == untrained.weights["cross"].shape
    assert untrained.cross[-1].amax(-1).mean() < 0.6 < 0.95 < trained.cross[-1].amax(-1).mean()
    head = trained.cross[-1, 3]  # (T, S)
    looks = {w: trained.source[row.argmax()] for w, row in zip(trained.written, head, strict=True)}
    assert looks["fifty"] == "fünfzig" and looks["four"] == "vier"


def test_training_switch_follows_its_controls(number_maps):
    from annotated.viz.draw import draw_training_switch
    from annotated.viz.widgets import training_switch

    w = training_switch(number_maps, head=3)
    assert w.result.axes[0].get_title().startswith("untrained model")
    w.children[0].value = "trained"
    assert w.result.axes[0].get_title().startswith("trained model")
    assert "head 3" in w.result.axes[0].get_title()
    w.children[1].value = "mean"
    assert "mean of 4 heads" in w.result.axes[0].get_title()
    assert update_seconds(w, 1, [0, 1, 2]) < 0.5
    plt.close("all")
    with pytest.raises(ValueError, match="unknown model"):
        draw_training_switch(number_maps, "half-trained")


@pytest.mark.parametrize("prediction, words", [
    (..., "Not attempted yet"),
    ("most", "give one number"),
    (1.5, "between 0 and 1"),
    (0.1, "ten equal weights"),
    (0.3, "scaled attention"),
    (0.7, "higher"),
])
def test_check_unscaled_peak_names_the_mistake(prediction, words):
    from annotated.exercises import check_unscaled_peak

    result = check_unscaled_peak(prediction)
    assert not result.passed and words in result.message, result.message


def test_check_unscaled_peak_accepts_the_measured_value():
    from annotated.exercises import check_unscaled_peak
    from annotated.viz.measure import unscaled_peak

    assert check_unscaled_peak(round(unscaled_peak(512)["unscaled"], 2)).passed


@pytest.mark.parametrize("query, words", [
    (..., "Not attempted yet"),
    ("female", "list or tensor"),
    ([1.0, 2.0], "4 entries"),
    ([0.0, 1.0, 0.0, 0.0], "'her' gets as much"),  # female only: she and her tie
    ([0.0, 0.0, 1.0, 0.0], "'book' gets as much or more"),
    ([2.0, 2.0, 0.0, 0.0], "but not 0.9"),  # she wins, by too little
])
def test_check_query_design_names_the_mistake(query, words):
    from annotated.exercises import check_query_design

    result = check_query_design(query)
    assert not result.passed and words in result.message, result.message


def test_check_query_design_accepts_a_sharp_query():
    from annotated.exercises import check_query_design

    assert check_query_design(torch.tensor([5.0, 5.0, -5.0, -5.0])).passed


def test_trained_beside_untrained_titles_each_panel_with_layer_and_head(number_maps):
    from annotated.viz.draw import trained_beside_untrained

    fig = trained_beside_untrained(number_maps, head=3)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["untrained: layer 1 (last of 2), head 3",
                      "trained: layer 1 (last of 2), head 3"]
    assert len(fig.axes) == 4  # two panels, each with its colour bar
    plt.close("all")

"""Chapter 3: the numbers behind the figures, the attention widget and the grader."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from timing import update_seconds

from annotated import attention
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


def right(query, key, value, mask=None):
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    weights = scores.softmax(dim=-1)
    return weights @ value, weights


def variant(scale=None, dim=-1, use_mask=True, fill=lambda m: m == 0, swap=False):
    def attempt(query, key, value, mask=None):
        d_k = query.size(-1)
        scores = query @ key.transpose(-2, -1) / (math.sqrt(d_k) if scale is None else scale(d_k))
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
    (variant(dim=0), "with query (2, 3, 8), key (2, 5, 8), value (2, 5, 6) and no mask, "),
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

    def my_attention(query, key, value, mask=None):
        ...

    assert check_attention(my_attention).message.startswith("Not attempted yet")

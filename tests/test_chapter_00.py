"""Chapter 0: the shipped translator's attention, the demo figure and widget, the graders."""

import time

import matplotlib.pyplot as plt
import pytest
import torch

from annotated import pretrained
from annotated.exercises import check_align, check_data_flow
from annotated.exercises.ch00 import align, data_flow
from annotated.tasks import number_words
from annotated.viz import figures
from annotated.viz.draw import draw_demo
from annotated.viz.widgets import demo_explorer


@pytest.fixture(scope="module")
def translator():
    return pretrained.load("numbers")


def cells(ax) -> torch.Tensor:
    """The matrix a heatmap panel shows."""
    n_rows = len(ax.get_yticks())
    return torch.tensor(ax.collections[0].get_array(), dtype=torch.float32).reshape(n_rows, -1)


def test_attention_has_every_kind_with_token_labels_and_leaves_the_model_as_it_was(translator):
    text = number_words(21, "de")
    att = translator.attention(text)
    assert att.source == ["ein", "und", "zwanzig"]
    assert att.written == ["twenty", "-", "one", "</s>"]
    L, H = len(translator.model.decoder.layers), translator.model.decoder.layers[0].self_attn.h
    S, T = len(att.source), len(att.written)
    assert att.encoder.shape == (L, H, S, S)
    assert att.decoder.shape == (L, H, T, T)
    assert att.cross.shape == (L, H, T, S)
    for w in (att.encoder, att.decoder, att.cross):
        torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]))
    assert att.decoder.triu(1).eq(0).all()  # the decoder never looks ahead
    # Attention weights are kept only while attention() runs, and training mode is restored.
    assert all(not m.keep_attn for m in translator.model.modules() if hasattr(m, "keep_attn"))
    assert not translator.model.training
    assert translator.translate([text]) == ["twenty-one"]


def test_demo_figure_aligns_the_reordered_german_number(translator):
    fig = figures.FIGURES["00_cross_attention"].make()
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert rows[:6] == ["three", "hundred", "and", "fifty", "-", "four"]
    assert cols[:5] == ["drei", "hundert", "vier", "und", "fünfzig"]
    w = cells(ax)
    # The caption's claim: 'fifty' reads 'fünfzig' and 'four' reads 'vier' (the order flips).
    assert cols[w[rows.index("fifty")].argmax()] == "fünfzig"
    assert cols[w[rows.index("four")].argmax()] == "vier"
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")


def test_draw_demo_says_whether_the_translation_is_right_and_refuses_bad_numbers(translator):
    fig = draw_demo(translator, 17, layer=0)
    title = fig.axes[0].get_title()
    assert "'seventeen' (correct)" in title and "layer 0 of 2" in title
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["siebzehn"]
    with pytest.raises(ValueError, match="0 to 999,999"):
        draw_demo(translator, 1_000_000)
    plt.close("all")


def test_demo_explorer_redraws_fast_when_the_number_or_layer_changes(translator):
    w = demo_explorer(translator)
    number, layer = w.children[:2]
    first = w.result.axes[0].get_title()
    times = []
    for value in (21, 354_782, 100_000):
        start = time.perf_counter()
        number.value = value
        times.append(time.perf_counter() - start)
        assert f"{value:,} ->" in w.result.axes[0].get_title()
    assert w.result.axes[0].get_title() != first
    layer.value = 0
    assert "layer 0 of 2" in w.result.axes[0].get_title()
    assert sorted(times)[1] < 0.5, times  # median; the notebook target is well under 0.2 s
    plt.close("all")


def test_check_data_flow():
    assert check_data_flow(data_flow).passed

    def not_yet(B, S, T, D, V):
        ...

    assert "Not attempted yet" in check_data_flow(not_yet).message

    def memory_has_target_length(B, S, T, D, V):
        return data_flow(B, S, T, D, V) | {"memory": (B, T, D)}

    r = check_data_flow(memory_has_target_length)
    assert not r.passed and "'memory'" in r.message and "SOURCE" in r.message

    def logits_width_d(B, S, T, D, V):
        return data_flow(B, S, T, D, V) | {"log_probs": (B, T, D)}

    r = check_data_flow(logits_width_d)
    assert not r.passed and "vocabulary" in r.message

    def missing_key(B, S, T, D, V):
        return {"src": (B, S)}

    assert "has no 'src_vectors'" in check_data_flow(missing_key).message
    assert "not a dict" in check_data_flow(lambda *a: [1]).message
    assert "raised ZeroDivisionError" in check_data_flow(lambda *a: 1 / 0).message
    assert "no parentheses" in check_data_flow(data_flow(1, 2, 3, 4, 5)).message


def test_check_align():
    assert check_align(align).passed

    def not_yet(weights, source):
        raise NotImplementedError

    assert "Not attempted yet" in check_align(not_yet).message
    wrong_axis = check_align(lambda w, s: [s[i] for i in w.argmax(dim=0).tolist()])
    assert not wrong_axis.passed and "dim=0" in wrong_axis.message
    positions = check_align(lambda w, s: w.argmax(dim=-1).tolist())
    assert not positions.passed and "positions" in positions.message
    smallest = check_align(lambda w, s: [s[i] for i in w.argmin(dim=-1).tolist()])
    assert not smallest.passed and "argmax" in smallest.message

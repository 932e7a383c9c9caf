"""Chapter 4: the per-head figure, the head picker widget and the split/merge graders."""

import time

import matplotlib.pyplot as plt
import pytest
import torch

from annotated.attention_maps import AttentionMaps
from annotated.exercises import check_merge_heads, check_split_heads
from annotated.viz import figures
from annotated.viz.draw import draw_attention
from annotated.viz.measure import HEADS_SENTENCE, untrained_heads
from annotated.viz.widgets import head_explorer

TOKENS = HEADS_SENTENCE


def test_untrained_heads_are_distributions_that_differ_per_head():
    w = untrained_heads()
    assert w.shape == (8, 5, 5)
    torch.testing.assert_close(w.sum(-1), torch.ones(8, 5))
    # The heads do not all look at the same key: per query, several distinct favourites.
    distinct = [len(set(w[:, q].argmax(-1).tolist())) for q in range(5)]
    assert min(distinct) >= 2
    assert torch.equal(w, untrained_heads())  # seeded: the README figure is stable


def test_heads_figure_has_one_panel_per_head():
    fig = figures.FIGURES["04_heads"].make()
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in panels] == [f"head {i}" for i in range(8)]
    assert [t.get_text() for t in panels[4].get_xticklabels()] == TOKENS  # bottom row
    assert [t.get_text() for t in panels[0].get_yticklabels()] == TOKENS  # left column
    assert fig.axes[-1].get_ylabel() == "attention weight"  # one shared colour bar
    plt.close("all")


def test_draw_attention_one_head_of_a_stack_of_layers():
    w = torch.rand(3, 2, 5, 5).softmax(-1)  # (L, H, S, S)
    maps = AttentionMaps.of_heads(w, TOKENS)
    fig = draw_attention(maps, "self", layer=2, head=1)
    assert "layer 2 (last of 3), head 1" in fig.axes[0].get_title()
    # The cells show the chosen layer and head: the heatmap's data is w[2, 1].
    shown = fig.axes[0].collections[0].get_array().reshape(5, 5)
    torch.testing.assert_close(torch.tensor(shown, dtype=torch.float32), w[2, 1])
    fig = draw_attention(maps, "self", layer=-1, head="mean")
    shown = fig.axes[0].collections[0].get_array().reshape(5, 5)
    torch.testing.assert_close(torch.tensor(shown, dtype=torch.float32), w[2].mean(0))
    plt.close("all")


def test_draw_attention_rejects_bad_input():
    maps = AttentionMaps.of_heads(torch.rand(2, 4, 4), list("abcd"))
    with pytest.raises(ValueError, match="head 5 out of range"):
        draw_attention(maps, "self", head=5)
    with pytest.raises(ValueError, match="layer 1 out of range"):
        draw_attention(maps, "self", layer=1)
    with pytest.raises(ValueError, match="unknown part 'cross'; choose one of self"):
        draw_attention(maps)
    with pytest.raises(ValueError, match="pick one batch element"):
        AttentionMaps.of_heads(torch.rand(1, 1, 2, 4, 4), list("abcd"))
    with pytest.raises(ValueError, match="4 query and 4 key labels"):
        AttentionMaps.of_heads(torch.rand(2, 4, 5), list("abcd"), list("abcd"))


def test_head_explorer_moves_between_heads_and_layers_quickly():
    w = torch.rand(2, 8, 5, 5).softmax(-1)
    widget = head_explorer(w, TOKENS)
    layer, head = widget.children[0], widget.children[1]
    widget.update()
    assert len([a for a in widget.result.axes if a.get_title().startswith("head")]) == 8
    start = time.perf_counter()
    head.value = 3
    single = time.perf_counter() - start
    assert "layer 0 (first of 2), head 3" in widget.result.axes[0].get_title()
    layer.value = 1
    assert "layer 1 (last of 2), head 3" in widget.result.axes[0].get_title()
    assert single < 0.2, f"one update took {single:.3f} s"
    # One layer's weights give no layer control.
    assert len(head_explorer(w[0], TOKENS).children) == 2  # the dropdown and the output
    plt.close("all")


def test_split_heads_grader():
    def right(x, h):
        B, S, D = x.shape
        return x.view(B, S, h, D // h).transpose(1, 2)

    def scrambled(x, h):
        B, S, D = x.shape
        return x.view(B, h, S, D // h)

    def forgot_transpose(x, h):
        B, S, D = x.shape
        return x.view(B, S, h, D // h)

    def interleaved(x, h):
        B, S, D = x.shape
        return x.view(B, S, D // h, h).permute(0, 3, 1, 2)

    def unwritten(x, h):
        ...

    assert check_split_heads(right).passed
    r = check_split_heads(scrambled)
    assert not r.passed and "transpose(1, 2)" in r.message and "scrambled" in r.message
    r = check_split_heads(forgot_transpose)
    assert not r.passed and "shape (2, 5, 2, 4), expected (2, 2, 5, 4)" in r.message
    r = check_split_heads(interleaved)
    assert not r.passed and "every h-th number" in r.message
    r = check_split_heads(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet") and "slices" in r.message
    assert "transpose" not in r.message  # a hint, not the answer


def test_merge_heads_grader():
    def right(x):
        B, H, S, d_k = x.shape
        return x.transpose(1, 2).contiguous().view(B, S, H * d_k)

    def no_transpose(x):
        B, H, S, d_k = x.shape
        return x.reshape(B, S, H * d_k)

    def unwritten(x):
        raise NotImplementedError

    assert check_merge_heads(right).passed
    r = check_merge_heads(no_transpose)
    assert not r.passed and "transpose(1, 2)" in r.message
    r = check_merge_heads(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")

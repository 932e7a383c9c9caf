"""Chapter 5: the mask figures, the masking widget and the causal-mask/masked-softmax graders."""

import time

import matplotlib.pyplot as plt
import pytest
import torch

from annotated import subsequent_mask
from annotated.attention import masked_fill_value
from annotated.exercises import check_causal_mask, check_masked_softmax
from annotated.viz import figures
from annotated.viz.draw import draw_masking, pad_tokens
from annotated.viz.widgets import masking_explorer


def cells(ax) -> torch.Tensor:
    """The matrix a heatmap panel shows."""
    mesh = ax.collections[0]
    n_rows = len(ax.get_yticks())
    return torch.tensor(mesh.get_array(), dtype=torch.float32).reshape(n_rows, -1)


def test_masks_figure_shows_padding_causal_and_both():
    fig = figures.FIGURES["05_masks"].make()
    src, causal, both = [cells(ax) for ax in fig.axes]
    assert src[:, :2].eq(1).all() and src[:, 2:].eq(0).all()  # the two <pad> keys hidden
    assert torch.equal(causal.bool(), subsequent_mask(5)[0])
    assert torch.equal(both.bool(), subsequent_mask(5)[0] & torch.tensor([1, 1, 1, 1, 0]).bool())
    plt.close("all")


def test_masked_softmax_figure_zeroes_pads_only_with_the_mask():
    fig = figures.FIGURES["05_masked_softmax"].make()
    without, with_mask = [cells(ax) for ax in fig.axes]
    assert (without[:, 2:] > 0).all()  # without the mask, the pads get weight
    assert with_mask[:, 2:].eq(0).all()
    torch.testing.assert_close(with_mask.sum(-1), torch.ones(4))
    plt.close("all")


def test_pad_tokens():
    assert pad_tokens([["a"], ["b", "c"]], extra=1) == [["a", "<pad>", "<pad>"],
                                                         ["b", "c", "<pad>"]]


@pytest.mark.parametrize("causal", [False, True])
def test_draw_masking_panels_agree(causal):
    fig = draw_masking(len_a=5, len_b=3, extra=1, causal=causal)
    pad_mask, mask, weights = [cells(ax) for ax in fig.axes[:3]]
    assert pad_mask.shape == (2, 6)  # longest sentence (5) + 1 extra pad
    assert pad_mask.sum(-1).tolist() == [5.0, 3.0]
    assert mask[:, 3:].eq(0).all()  # sentence 2's pads are hidden from every query
    assert torch.equal(weights == 0, mask == 0)  # weight exactly where the mask allows
    torch.testing.assert_close(weights.sum(-1), torch.ones(6))
    assert (mask.triu(1).eq(0).all()) == causal
    plt.close("all")


def test_draw_masking_keeps_the_real_words_weights_when_padding_grows():
    fig = draw_masking(len_a=4, len_b=2, extra=0)
    before = cells(fig.axes[2])[:2, :2]  # 'I', 'sleep' attending to each other
    fig = draw_masking(len_a=4, len_b=2, extra=3)
    torch.testing.assert_close(cells(fig.axes[2])[:2, :2], before)
    plt.close("all")


def test_draw_masking_rejects_bad_lengths():
    with pytest.raises(ValueError, match="len_b must be 1 to 6"):
        draw_masking(len_b=0)
    with pytest.raises(ValueError, match="extra padding"):
        draw_masking(extra=-1)


def test_masking_explorer_follows_its_controls_quickly():
    w = masking_explorer()
    len_a, len_b, extra, causal = w.children[:4]
    w.update()
    start = time.perf_counter()
    extra.value = 2
    took = time.perf_counter() - start
    assert cells(w.result.axes[0]).shape == (2, 6)  # 4 words + 2 extra pads
    len_b.value = 6
    causal.value = True
    assert cells(w.result.axes[1]).triu(1).eq(0).all()
    assert took < 0.5, f"one update took {took:.3f} s"
    plt.close("all")


def test_causal_mask_grader():
    assert check_causal_mask(lambda n: torch.tril(torch.ones(1, n, n)).bool()).passed
    r = check_causal_mask(lambda n: torch.triu(torch.ones(1, n, n, dtype=torch.bool), 1))
    assert not r.passed and "positions to hide" in r.message
    r = check_causal_mask(lambda n: torch.tril(torch.ones(1, n, n, dtype=torch.bool), -1))
    assert not r.passed and "look at itself" in r.message
    r = check_causal_mask(lambda n: torch.tril(torch.ones(n, n)).bool())
    assert not r.passed and "shape (1, 1), expected (1, 1, 1)" in r.message
    for dtype in (torch.float32, torch.int64):  # the right values, but not a mask
        r = check_causal_mask(lambda n, dtype=dtype: torch.tril(torch.ones(1, n, n, dtype=dtype)))
        assert not r.passed and "dtype is not bool" in r.message

    def unwritten(size):
        ...

    r = check_causal_mask(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet") and "tril" in r.message
    assert ".bool()" not in r.message  # the hint, not the answer


def test_masked_softmax_grader():
    def uniform(scores, mask):  # a row with every key hidden comes out uniform
        return scores.masked_fill(mask == 0, masked_fill_value(scores.dtype)).softmax(-1)

    def right(scores, mask):
        return uniform(scores, mask).masked_fill(~mask.any(-1, keepdim=True), 0.0)

    def upcast(scores, mask):  # float32 inside, the scores' dtype out: right too
        return right(scores.float(), mask).to(scores.dtype)

    def with_inf(scores, mask):
        return scores.masked_fill(~mask, float("-inf")).softmax(-1)

    def over_queries(scores, mask):
        return scores.masked_fill(mask == 0, masked_fill_value(scores.dtype)).softmax(-2)

    def article(scores, mask):
        return scores.masked_fill(mask == 0, -1e9).softmax(-1)

    def after(scores, mask):
        return scores.softmax(-1) * mask

    def unwritten(scores, mask):
        raise NotImplementedError

    assert check_masked_softmax(right).passed
    assert check_masked_softmax(upcast).passed
    r = check_masked_softmax(uniform)
    assert not r.passed and "comes out uniform" in r.message
    r = check_masked_softmax(with_inf)
    assert not r.passed and "has NaN" in r.message
    r = check_masked_softmax(over_queries)
    assert not r.passed and "dim=-2" in r.message
    r = check_masked_softmax(article)  # right in float32, an overflow in float16
    assert not r.passed and "raised RuntimeError" in r.message and "not -1e9" in r.message
    r = check_masked_softmax(after)
    assert not r.passed and "before the softmax" in r.message
    r = check_masked_softmax(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")

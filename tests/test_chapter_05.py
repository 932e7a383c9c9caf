"""Chapter 5: the mask figures, the masking widgets and the chapter's graders."""

import time

import matplotlib.pyplot as plt
import pytest
import torch

from annotated import subsequent_mask
from annotated.attention import masked_fill_value
from annotated.exercises import (
    check_causal_mask,
    check_fixed_mask,
    check_masked_softmax,
    check_zero_rows,
)
from annotated.viz import figures
from annotated.viz.draw import draw_decoder_masked, draw_masking, pad_tokens
from annotated.viz.widgets import decoder_mask_explorer, masking_explorer


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
    without, with_mask = [cells(ax) for ax in fig.axes[:2]]  # the third: its colour bar
    assert len(fig.axes) == 3
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


# --- The teaching pass: where the masks go, the trained decoder, two new exercises ---

def test_where_masks_go_figure_connects_each_mask_to_its_attentions():
    fig = figures.FIGURES["05_where_masks_go"].make()
    ax = fig.axes[0]
    arrows = {a.get_gid() for a in ax.texts if a.get_gid()}
    assert arrows == {"src_mask->encoder self-attention", "src_mask->cross-attention",
                      "tgt_mask->masked self-attention"}
    words = " ".join(t.get_text() for t in ax.texts)
    for label in ("Encoder", "Decoder", "src_mask (B, 1, S)", "tgt_mask (B, T, T)",
                  "feed-forward", "encoder output"):
        assert label in words
    src_icon, tgt_icon = [torch.tensor(a.images[0].get_array()) for a in ax.child_axes]
    assert src_icon[:, :2].eq(1).all() and src_icon[:, 2:].eq(0).all()  # I sleep <pad> <pad>
    real = torch.tensor([1, 1, 1, 1, 0]).bool()  # <s> ich schlafe </s> <pad>
    assert torch.equal(tgt_icon.bool(), subsequent_mask(5)[0] & real)
    plt.close("all")


@pytest.fixture(scope="module")
def records():
    from annotated import pretrained
    from annotated.viz.measure import trained_and_untrained
    return trained_and_untrained(pretrained.load("numbers"), ("einundzwanzig", "neunhunderteins"))


def test_trained_and_untrained_differ_only_in_weights_and_both_hide_the_future(records):
    for pair in records.values():
        trained, untrained = pair["trained"], pair["untrained"]
        assert trained.target == untrained.target and trained.source == untrained.source
        T = trained.decoder.shape[-1]
        future = ~subsequent_mask(T)[0]
        assert trained.decoder[..., future].eq(0).all()
        assert untrained.decoder[..., future].eq(0).all()
        assert not torch.allclose(trained.decoder, untrained.decoder)
    assert records["einundzwanzig"]["trained"].translation == "twenty-one"


def test_trained_and_untrained_leaves_the_global_generator_alone():
    from annotated import pretrained
    from annotated.viz.measure import trained_and_untrained
    translator = pretrained.load("numbers")
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    trained_and_untrained(translator, ("einundzwanzig",))
    torch.testing.assert_close(torch.rand(2), expected)


def test_draw_decoder_masked_draws_the_chosen_model(records):
    fig = draw_decoder_masked(records, "einundzwanzig", "untrained", layer=1, head=2)
    shown = cells(fig.axes[0])
    torch.testing.assert_close(shown, records["einundzwanzig"]["untrained"].decoder[1, 2])
    assert "untrained model" in fig.axes[0].get_title() and "twenty-one" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="trained"):
        draw_decoder_masked(records, "einundzwanzig", "half")
    with pytest.raises(ValueError, match="no record"):
        draw_decoder_masked(records, "zwei")
    plt.close("all")


def test_decoder_mask_explorer_follows_its_controls():
    from annotated import pretrained
    w = decoder_mask_explorer(pretrained.load("numbers"), ("einundzwanzig", "neunhunderteins"))
    text, weights, layer, head = w.children[:4]
    w.update()
    first = cells(w.result.axes[0])
    weights.value = "untrained"
    second = cells(w.result.axes[0])
    assert not torch.allclose(first, second)
    assert second.triu(1).eq(0).all()  # the mask holds for random weights too
    text.value = "neunhunderteins"
    assert cells(w.result.axes[0]).shape == (5, 5)
    layer.value, head.value = 1, 3
    assert "layer 1" in " ".join(a.get_title() for a in w.result.axes)
    plt.close("all")


def test_zero_rows_grader():
    from annotated.exercises.ch05 import zero_rows, zero_rows_batch
    _, batch = zero_rows_batch()
    right = zero_rows(batch.tgt_mask)
    assert right == [[4], [], [3, 4]]
    assert check_zero_rows(right).passed
    assert check_zero_rows([(4,), [], [4, 3]]).passed  # any iterables, any order
    for wrong, named in (([[4, 5], [], [3, 4, 5]], "full target"),
                         ([[3, 4], [], [2, 3, 4]], "each sentence's </s>"),
                         ([[], [], []], "make_std_mask alone"),
                         ([[5], [], [4, 5]], "count from 0")):
        r = check_zero_rows(wrong)
        assert not r.passed and named in r.message, r.message
    r = check_zero_rows(...)
    assert not r.passed and r.message.startswith("Not attempted yet")
    assert "[4]" not in r.message and "[3, 4]" not in r.message  # the hint, not the answer
    assert "one list per sentence" in check_zero_rows([[4]]).message
    assert "Give a list" in check_zero_rows(5).message
    assert not check_zero_rows([[1], [], []]).passed


def test_fixed_mask_grader():
    from annotated import make_std_mask
    from annotated.exercises.ch05 import buggy_std_mask

    def tril(T, diagonal=0):
        return torch.tril(torch.ones(1, T, T, dtype=torch.bool), diagonal=diagonal)

    from annotated.exercises.solutions import solution
    assert check_fixed_mask(solution("check_fixed_mask")).passed
    for copied, name in ((make_std_mask, "make_std_mask"),
                         (lambda t, p: make_std_mask(t, p), "make_std_mask"),
                         (lambda t, p: (t != p).unsqueeze(-2) & subsequent_mask(t.size(-1)),
                          "subsequent_mask")):
        r = check_fixed_mask(copied)  # the package's answer is not a fix of the bug
        assert not r.passed and f"calls {name}" in r.message, r.message
    for attempt, named in (
            (buggy_std_mask, "still the buggy mask"),
            (lambda t, p: (t != p).unsqueeze(-2) & tril(t.size(-1), -1), "look at itself"),
            (lambda t, p: tril(t.size(-1)).expand(t.size(0), -1, -1), "pads are not"),
            (lambda t, p: (t != p).unsqueeze(-1) & tril(t.size(-1)), "pad queries (rows)"),
            (lambda t, p: (t != p).unsqueeze(-2) & ~tril(t.size(-1)), "wrong one")):
        r = check_fixed_mask(attempt)
        assert not r.passed and named in r.message, r.message

    def unwritten(tgt, pad):
        ...

    r = check_fixed_mask(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")
    assert "diagonal" not in r.message  # the hint names the idea, not the fix

"""Chapter 4: the lookup task, the split/concat and cost figures, the trained-heads widget and
the graders."""


import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from annotated import pretrained
from annotated.attention_maps import AttentionMaps
from annotated.exercises import (
    check_cost_prediction,
    check_merge_heads,
    check_reading_head,
    check_split_heads,
)
from annotated.exercises.ch04 import diagonal_weight, previous_word_weight
from annotated.viz import figures
from annotated.viz.draw import (
    COST_LENGTHS,
    COST_SIZES,
    HEAD_COLORS,
    MIXED_COLOR,
    draw_attention,
    draw_attention_cost,
)
from annotated.viz.measure import (
    LookupModel,
    attention_cost,
    lookup_batch,
    train_lookup,
    trained_and_untrained,
)
from annotated.viz.widgets import trained_heads_explorer

TOKENS = ["She", "gave", "him", "her", "book"]


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


def test_lookup_batch_answers_first_and_last():
    ids, answer = lookup_batch(5, torch.Generator().manual_seed(0))
    assert ids.shape == (5, 7) and (ids[:, -1] == 8).all()  # "?" is id 8, after 6 symbols
    assert torch.equal(answer, ids[:, [0, 5]])
    assert LookupModel(2)(ids).shape == (5, 2, 8)
    # Equal width: one head of 16 and two heads of 8 have the same parameters.
    count = [sum(p.numel() for p in LookupModel(h).parameters()) for h in (1, 2)]
    assert count[0] == count[1]


def test_two_heads_do_the_two_lookups_one_head_does_not():
    one, two = train_lookup(1, seed=0), train_lookup(2, seed=0)
    assert two["both"] > 0.95 > one["both"]
    assert two["losses"][-1] < one["losses"][-1]
    assert one["weights"].shape == (1, 7) and two["weights"].shape == (2, 7)
    torch.testing.assert_close(two["weights"].sum(-1), torch.ones(2))


def test_heads_split_concat_shows_every_shape_and_one_colour_per_head():
    fig = figures.FIGURES["04_heads_split_concat"].make()
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts)
    for shape in ("(B, S, D)", "(B, H, S, d_k)", "W_o", ".view", ".reshape"):
        assert shape in texts
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    S, H, d_k = 4, 4, 2
    # Q, two stacks of heads and the concatenation: S x d_k cells of each head's colour in
    # each of the four; the output after W_o is all one mixed colour.
    for colour in HEAD_COLORS:
        assert colours.count(colour) == 4 * S * d_k
    assert colours.count(MIXED_COLOR) == S * H * d_k
    assert "H = 4 heads of d_k = 2" in ax.get_title()
    plt.close("all")


def test_attention_cost_is_exact():
    cost = attention_cost([64, 128], d_model=128, h=8, d_ff=512)
    assert cost["attention bytes"] == [4 * 8 * 64 * 64, 4 * 8 * 128 * 128]
    assert cost["feed-forward bytes"] == [4 * 64 * 512, 4 * 128 * 512]
    assert cost["attention FLOPs"][0] == 8 * 64 * 128**2 + 4 * 64**2 * 128
    assert cost["feed-forward FLOPs"][1] == 4 * 128 * 128 * 512
    att, ffn = cost["attention bytes"], cost["feed-forward bytes"]
    ratio = [a / f for a, f in zip(att, ffn, strict=True)]
    assert ratio[1] == 2 * ratio[0]  # the ratio doubles with S


def test_attention_cost_figure_draws_the_timings_given_and_the_exact_bytes():
    timings = {"self-attention": [float(i + 1) for i in range(len(COST_LENGTHS))],
               "feed-forward": [0.5] * len(COST_LENGTHS)}
    fig = draw_attention_cost(timings)
    left, right = fig.axes
    assert list(left.lines[0].get_ydata()) == timings["self-attention"]
    assert list(left.lines[0].get_xdata()) == COST_LENGTHS
    assert [t.get_text() for t in left.get_legend().get_texts()] == list(timings)
    mib = [b / 2**20 for b in attention_cost(COST_LENGTHS, **COST_SIZES)["attention bytes"]]
    assert list(right.lines[0].get_ydata()) == mib
    assert "S" in right.get_xlabel() and "MiB" in right.get_ylabel()
    assert [t.get_text() for t in right.get_xticklabels()] == [str(n) for n in COST_LENGTHS]
    plt.close("all")


@pytest.fixture(scope="module")
def translator():
    return pretrained.load("numbers")


def untrained_maps(translator, text: str = "einundzwanzig"):
    return trained_and_untrained(translator, [text])[text]["untrained"]


def test_the_untrained_twin_reads_the_same_words_with_random_weights(translator):
    trained = translator.attention("einundzwanzig")
    fresh = untrained_maps(translator)
    assert fresh.source == trained.source and fresh.target == trained.target
    for part, w in trained.weights.items():
        assert fresh.weights[part].shape == w.shape
        # Training made the heads decisive: a larger largest weight per row.
        assert w.max(-1).values.mean() > fresh.weights[part].max(-1).values.mean() + 0.15
    again = untrained_maps(translator)  # seeded: the same twin each time
    assert torch.equal(fresh.weights["cross"], again.weights["cross"])


def test_trained_heads_explorer_switches_between_trained_and_untrained(translator):
    w = trained_heads_explorer(translator, "einundzwanzig")
    weights, part, layer, head = w.children[:4]
    assert list(weights.options) == ["trained", "untrained"]
    part.value, layer.value, head.value = "cross", 1, 2
    trained = w.result.axes[0].collections[0].get_array().copy()
    assert "head 2" in w.result.axes[0].get_title()
    weights.value = "untrained"
    untrained = w.result.axes[0].collections[0].get_array()
    assert trained.shape == untrained.shape and abs(trained - untrained).max() > 0.1
    expected = untrained_maps(translator).weights["cross"][1, 2]
    torch.testing.assert_close(torch.tensor(untrained, dtype=torch.float32).reshape(
        expected.shape), expected)
    plt.close("all")


def test_cost_prediction_grader_names_each_mistake():
    assert check_cost_prediction({"crossover": 256}).passed
    cases = {
        ...: "Not attempted yet",
        2048: "its own S x S table",
        16384: "a division",
        64: "small model",
        512: "d_model does not appear",
        45.25: "no square root",
        16: "no square root",
        128: "fewer bytes",
        1024: "already keeps more",
    }
    for S, words in cases.items():
        r = check_cost_prediction({"crossover": S})
        assert not r.passed and words in r.message, (S, r.message)
    assert "no 'crossover'" in check_cost_prediction({"attention": 16}).message
    assert "give a dict" in check_cost_prediction(256).message


def test_the_crossover_answer_is_where_attention_cost_says():
    cost = attention_cost([128, 256, 512], d_model=512, h=8, d_ff=2048)
    ratio = [a / f for a, f in zip(cost["attention bytes"], cost["feed-forward bytes"],
                                   strict=True)]
    assert ratio == [0.5, 1.0, 2.0]


def test_reading_head_grader_names_each_mistake():
    stats = previous_word_weight()
    layer, head = divmod(int(stats.argmax()), stats.shape[1])
    assert (layer, head) == (1, 1)
    assert check_reading_head((layer, head)).passed
    assert check_reading_head((..., ...)).message.startswith("Not attempted yet")
    assert "counted from 0" in check_reading_head((9, 9)).message
    assert "count layers and heads from 0" in check_reading_head((layer + 1, head + 1)).message
    diag = divmod(int(diagonal_weight().argmax()), stats.shape[1])
    assert diag != (layer, head)
    assert "main diagonal" in check_reading_head(diag).message
    other = (0, 0)
    assert "one head gives more" in check_reading_head(other).message
    assert "whole numbers" in check_reading_head("one").message

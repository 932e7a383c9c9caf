"""Chapter 0: the shipped translator's attention, the figures and widget, the graders."""

import time

import matplotlib.pyplot as plt
import pytest
import torch

from annotated import pretrained
from annotated.exercises import check_align, check_data_flow, check_reading
from annotated.exercises.ch00 import READING, align, data_flow
from annotated.exercises.solutions.ch00 import SOLUTIONS
from annotated.tasks import number_words
from annotated.viz import figures
from annotated.viz.draw import DEMO_NUMBER, RNN_SOURCE, RNN_TARGET, RNN_WEIGHTS, draw_demo
from annotated.viz.measure import (
    forced_attention,
    number_batch,
    strongest_reads,
    untrained_twin,
)
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
    assert "'seventeen' (correct)" in title and "layer 0 (first of 2)" in title
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
    assert "layer 0 (first of 2)" in w.result.axes[0].get_title()
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


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_rnn_vs_transformer_names_the_additive_score_and_reads_english_into_french():
    fig = figures.FIGURES["00_rnn_vs_transformer"].make()
    left, right = fig.axes
    assert "RNN" in left.get_title() and "Bahdanau" in left.get_title()
    assert "Transformer" in right.get_title() and "at once" in right.get_title()
    words = texts(left)
    # English source words at the bottom, French output words at the top of the RNN side.
    assert all(w in words for w in RNN_SOURCE) and all(w in words for w in RNN_TARGET)
    assert all(w in texts(right) for w in RNN_SOURCE)
    # The scoring function is named, in Bahdanau's additive form.
    score = next(t for t in words if "score" in t)
    assert "tanh" in score and "v^" in score and "W s + U h_j" in score
    # One encoder state per source word on the left, read one step after another.
    assert [f"step {j}" for j in range(1, 5)] == [t for t in words if t.startswith("step")]
    assert sum(t.startswith("$h_") for t in words) == len(RNN_SOURCE)
    # The drawn attention weights sum to 1, and the thickest line goes to 'Economic'.
    weights = [float(t) for t in words if t.replace(".", "").isdigit()]
    assert weights == RNN_WEIGHTS and abs(sum(weights) - 1) < 1e-9
    assert RNN_SOURCE[max(range(4), key=weights.__getitem__)] == "Economic"
    # The Transformer side connects every position to every position in each layer.
    assert len(right.lines) == 2 * len(RNN_SOURCE) ** 2
    plt.close("all")


def test_number_batch_shapes_masks_and_the_teacher_forced_guesses(translator):
    src, tgt, src_mask, tgt_mask = number_batch(translator, [21, 354_782, 1_000])
    B, S, T = 3, len(translator.task.source_tokens(number_words(354_782, "de"))), tgt.size(1)
    assert src.shape == (B, S) and src_mask.shape == (B, 1, S) and tgt_mask.shape == (B, T, T)
    assert src_mask[0, 0].tolist() == [True] * 3 + [False] * (S - 3)  # 21 is padded
    assert tgt[:, 0].eq(translator.tgt_vocab.bos).all()  # shifted right by <s>
    model = translator.model.eval()
    with torch.no_grad():
        memory = model.encoder(model.src_embed(src), src_mask)
        out = model.decoder(model.tgt_embed(tgt), memory, src_mask, tgt_mask)
        log_probs = model.generator(out)
    assert memory.shape == (B, S, 128) and log_probs.shape == (B, T, len(translator.tgt_vocab))
    guess = [translator.tgt_vocab.itos[j] for j in log_probs[0].argmax(-1)[:4].tolist()]
    assert guess == ["twenty", "-", "one", "</s>"]


def test_strongest_reads_and_the_reading_answer_come_from_the_model(translator):
    reads = strongest_reads(translator.attention(number_words(354_782, "de")))
    assert [r[1] for r in reads[3:6:2]] == ["fünfzig", "vier"]  # fifty, four: crossed
    att = translator.attention("二十一")
    assert [r[1] for r in strongest_reads(att)] == align(att.cross[-1].mean(0), att.source)
    for text, expected in READING.items():
        reads = {w: tok for w, tok, _ in strongest_reads(translator.attention(text))}
        assert {w: reads[w] for w in ("twenty", "one")} == expected


def test_check_reading_names_each_mistake():
    assert check_reading(SOLUTIONS["check_reading"]).passed
    blank = {"einundzwanzig": {"twenty": ..., "one": ...}, "二十一": {"twenty": ..., "one": ...}}
    r = check_reading(blank)
    assert not r.passed and "Not attempted yet" in r.message
    assert not any(v in r.message for v in ("zwanzig'", "'二'", "二 ", "ein'"))  # no answer

    def with_(de=None, ja=None):
        return {"einundzwanzig": de or READING["einundzwanzig"], "二十一": ja or READING["二十一"]}

    in_order = check_reading(with_(de={"twenty": "ein", "one": "und"}))
    assert not in_order.passed and "reading order" in in_order.message
    joiner = check_reading(with_(de={"twenty": "zwanzig", "one": "und"}))
    assert not joiner.passed and "'und' only joins" in joiner.message
    ten = check_reading(with_(ja={"twenty": "十", "one": "一"}))
    assert not ten.passed and "cannot tell twenty" in ten.message
    other = check_reading(with_(ja={"twenty": "二", "one": "十"}))
    assert not other.passed and "Japanese" in other.message
    assert "not a token" in check_reading(with_(ja={"twenty": "two", "one": "一"})).message
    assert "two keys" in check_reading({"21": {}}).message
    assert "'twenty' and 'one'" in check_reading(with_(de={"twenty": "zwanzig"})).message


def test_check_align_and_data_flow_name_their_other_mistakes():
    tensor = check_align(lambda w, s: w.argmax(dim=-1))
    assert not tensor.passed and "tensor of positions" in tensor.message
    values = check_align(lambda w, s: w.max(dim=-1).values)
    assert not values.passed and "largest weights themselves" in values.message

    def letters(B, S, T, D, V):
        return data_flow(B, S, T, D, V) | {"src": ("B", "S")}

    assert "strings" in check_data_flow(letters).message
    assert "Not attempted yet" in check_data_flow(lambda *a: (_ for _ in ()).throw(
        NotImplementedError)).message


def test_demo_explorer_switches_to_the_untrained_model_whose_attention_is_spread(translator):
    w = demo_explorer(translator)
    number, layer, weights = w.children[:3]
    assert weights.options == ("trained", "untrained") and weights.value == "trained"
    number.value = DEMO_NUMBER
    trained = cells(w.result.axes[0])
    weights.value = "untrained"
    title = w.result.axes[0].get_title()
    assert "untrained" in title and f"{DEMO_NUMBER:,}" in title
    untrained = cells(w.result.axes[0])
    # Same rows (the right English) and columns; no untrained weight reaches 0.5, while the
    # trained rows' largest weights average above it: training made the alignment.
    assert untrained.shape == trained.shape
    assert untrained.max() < 0.5 < trained.max(-1).values.mean()
    layer.value = 0
    assert "layer 0 (first of 2)" in w.result.axes[0].get_title()
    plt.close("all")


def test_untrained_twin_is_the_same_design_with_other_weights(translator):
    twin = untrained_twin(translator)
    assert twin.model is not translator.model
    assert twin.model.config == translator.model.config
    a, b = next(translator.model.parameters()), next(twin.model.parameters())
    assert a.shape == b.shape and not torch.equal(a, b)
    torch.testing.assert_close(next(untrained_twin(translator).model.parameters()), b)  # seeded
    maps = forced_attention(twin, 21)
    assert maps.written == ["twenty", "-", "one", "</s>"] and maps.source == ["ein", "und",
                                                                             "zwanzig"]

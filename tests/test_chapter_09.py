"""Chapter 9: padding shares, the bucketing figure, the translation widget and the graders."""

import time

import matplotlib.pyplot as plt
import pytest
import torch

from annotated import multi30k
from annotated.data import bucket_batches, padding_counts, padding_share
from annotated.exercises import check_detokenize, check_padding_share
from annotated.exercises.ch09 import detokenize
from annotated.pretrained import Translator
from annotated.registry import make_data
from annotated.training import TrainConfig, train
from annotated.viz.draw import bucketing_figure, draw_attention
from annotated.viz.measure import pair_padding
from annotated.viz.widgets import translation_explorer


def cells(ax) -> torch.Tensor:
    mesh = ax.collections[0]
    return torch.tensor(mesh.get_array(), dtype=torch.float32).reshape(len(ax.get_yticks()), -1)


def test_padding_share_counts_each_batch_to_its_own_longest():
    lengths = [3, 5, 4, 4]
    assert padding_counts(lengths, [[0, 1], [2, 3]]) == (16, 18)
    assert padding_share(lengths, [[0, 1], [2, 3]]) == pytest.approx(2 / 18)
    assert padding_share(lengths, [[0, 2], [1, 3]]) == pytest.approx(1 - 16 / 18)
    assert padding_share([4, 4], [[0, 1]]) == 0.0
    with pytest.raises(ValueError, match="no tokens"):
        padding_share([1], [[]])


def test_bucketing_saves_padding_and_the_figure_says_how_much():
    g = torch.Generator().manual_seed(0)
    src = torch.randint(3, 40, (2000,), generator=g).tolist()
    tgt = [s + int(d) for s, d in zip(src, torch.randint(-2, 3, (2000,), generator=g), strict=True)]
    key = [s + t for s, t in zip(src, tgt, strict=True)]
    random = pair_padding(src, tgt, bucket_batches(key, 64, seed=0, pool=1))
    bucketed = pair_padding(src, tgt, bucket_batches(key, 64, seed=0))
    assert random > 0.4 and bucketed < 0.1
    fig = bucketing_figure((src, tgt, "made-up lengths"), batch_size=64)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == [
        f"random batches: {100 * random:.1f}% padding overall",
        f"bucketed: {100 * bucketed:.1f}% padding overall"]
    assert all(list(ln.get_ydata()) == sorted(ln.get_ydata()) for ln in lines)
    plt.close("all")


def test_find_corpus_takes_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no download cache
    sample = multi30k.write_sample(tmp_path / "sample", n_train=5, n_val=2, n_test=2)
    monkeypatch.setenv(multi30k.ENV, str(sample))
    assert multi30k.find_corpus() == sample
    assert multi30k.find_corpus(tmp_path / "sample") == sample
    monkeypatch.setenv(multi30k.ENV, str(tmp_path / "empty"))
    assert multi30k.find_corpus() is None


@pytest.fixture(scope="module")
def translator(tmp_path_factory):
    sample = multi30k.write_sample(tmp_path_factory.mktemp("sample"))
    data = make_data("multi30k", folder=sample, vocab_size=150)
    config = TrainConfig(steps=30, batch_size=32, warmup=10, valid_every=30, valid_decode=5,
                         progress=False)
    result = train(data, config, {"N": 2, "d_model": 32, "d_ff": 64, "h": 2, "dropout": 0.0})
    task = multi30k.Multi30kTask(multi30k.Subwords(data.assets["subwords"]))
    return Translator(result.model, data.src_vocab, data.tgt_vocab, task, 20, {})


def test_translation_attention_matches_the_translation(translator):
    text = "Ein Hund läuft im Park."
    maps = translator.attention(text)
    assert maps.source == translator.task.source_tokens(text) and maps.text == text
    assert maps.written[-1] == "</s>"
    assert maps.translation == translator.translate([text])[0]
    T, S = len(maps.written), len(maps.source)
    assert maps.cross.shape == (2, 2, T, S)  # (L, H, T, S)
    torch.testing.assert_close(maps.cross.sum(-1), torch.ones(2, 2, T))
    assert translator.model.decoder.layers[0].src_attn.keep_attn is False  # switched back
    fig = draw_attention(maps, "cross", layer=-1, head="mean")
    torch.testing.assert_close(cells(fig.axes[0]), maps.cross[-1].mean(0), atol=1e-6, rtol=0)
    fig = draw_attention(maps, "cross", layer=0, head=1)
    torch.testing.assert_close(cells(fig.axes[0]), maps.cross[0, 1], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="layer 2 out of range"):
        draw_attention(maps, "cross", layer=2)
    plt.close("all")


def test_translation_explorer_follows_its_controls_quickly(translator):
    texts = ["Ein Hund läuft im Park.", "Eine junge Frau schläft am Strand."]
    w = translation_explorer(translator, texts)
    sentence, layer, head = w.children[:3]
    w.update()
    assert len(w.result.axes[0].get_xticklabels()) == len(translator.task.source_tokens(texts[0]))
    start = time.perf_counter()
    sentence.value = texts[1]
    took = time.perf_counter() - start
    assert len(w.result.axes[0].get_xticklabels()) == len(translator.task.source_tokens(texts[1]))
    layer.value, head.value = 0, 1
    assert "layer 0 (first of 2), head 1" in w.result.axes[0].get_title()
    assert took < 0.5, f"one update took {took:.3f} s"
    plt.close("all")


def test_detokenize_grader():
    def stub(pieces):
        ...

    assert check_detokenize(detokenize).passed
    assert "Not attempted yet" in repr(check_detokenize(stub))
    assert "strip it" in repr(check_detokenize(lambda p: "".join(p).replace("▁", " ")))
    assert "cuts words apart" in repr(check_detokenize(lambda p: " ".join(p)))
    assert "still there" in repr(check_detokenize(lambda p: "".join(p)))


def test_padding_share_grader():
    def stub(lengths, batches):
        ...

    assert check_padding_share(padding_share).passed
    assert "Not attempted yet" in repr(check_padding_share(stub))
    whole = check_padding_share(lambda n, b: 1 - sum(n) / (len(n) * max(n)))
    assert "its own longest sentence" in repr(whole)
    ratio = check_padding_share(
        lambda n, b: (sum(len(x) * max(n[i] for i in x) for x in b) - sum(n)) / sum(n))
    assert "divide it by all positions" in repr(ratio)

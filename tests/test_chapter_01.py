"""Chapter 1: the scale figure's numbers, the embedding widget and the graders."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from timing import update_seconds

from annotated import Embeddings, make_model
from annotated.embeddings import nearest_neighbours
from annotated.examples import WORDS
from annotated.exercises import check_embed, check_nearest
from annotated.viz.draw import draw_embedding
from annotated.viz.measure import embedding_scales
from annotated.viz.widgets import embedding_explorer


def test_scale_numbers_behind_the_figure():
    s = embedding_scales([64, 512], vocab=1000)
    assert s["positional encoding"] == pytest.approx([math.sqrt(0.5)] * 2, abs=1e-3)
    assert s["N(0,1) init x sqrt(D)"] == pytest.approx([8.0, math.sqrt(512)], rel=0.02)
    # The Xavier curve is the init make_model really applies: std sqrt(2 / (V + D)).
    model = make_model(1000, 1000, N=1, d_model=64, d_ff=64, h=2)
    measured = model.src_embed[0].lut.weight.std().item()
    assert measured == pytest.approx(math.sqrt(2 / (1000 + 64)), rel=0.02)
    assert s["Xavier init"][0] == pytest.approx(measured, rel=0.02)
    assert 0.5 < s["Xavier init x sqrt(D)"][1] / s["positional encoding"][1] < 2


def test_widget_shows_the_words_nearest_neighbours():
    table = Embeddings(32, len(WORDS)).lut.weight
    fig = draw_embedding(table, WORDS, "cat", k=4)
    ids, _ = nearest_neighbours(table, WORDS.index("cat"), 4)
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]  # axes: strip, sims, cbars
    assert labels == [WORDS[i] for i in ids]
    plt.close("all")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        draw_embedding(table, WORDS, "zebra")


def test_widget_follows_the_dropdown_quickly():
    table = Embeddings(512, len(WORDS)).lut.weight
    w = embedding_explorer(table, WORDS)
    w.children[0].value = "milk"
    assert "'milk'" in w.result.axes[0].get_title()
    seconds = update_seconds(w, 0, ["cat", "she", "book"])
    assert seconds < 0.5, f"one update took {seconds:.3f} s"


def embed_right(ids, table):
    return table[ids] * table.size(1) ** 0.5


def test_check_embed():
    assert check_embed(embed_right).passed
    assert "forgot to multiply" in check_embed(lambda ids, t: t[ids]).message
    assert "square root" in check_embed(lambda ids, t: t[ids] * t.size(1)).message
    assert "you divided" in check_embed(lambda ids, t: t[ids] / t.size(1) ** 0.5).message
    assert "table.size(1)" in check_embed(lambda ids, t: t[ids] * t.size(0) ** 0.5).message
    assert "(6, 16)" in check_embed(lambda ids, t: t[ids] * 512 ** 0.5).message  # hard-coded D
    assert "sqrt" not in check_embed(lambda ids, t: None).message  # a hint, not the answer

    def stub(ids, table):
        ...

    assert check_embed(stub).message.startswith("Not attempted yet")


def test_check_nearest():
    def right(table, index, k):
        unit = torch.nn.functional.normalize(table, dim=-1)
        sims = unit @ unit[index]
        sims[index] = -1e9
        return sims.topk(k).indices

    def dot(table, index, k):
        sims = table @ table[index]
        sims[index] = -1e9
        return sims.topk(k).indices

    assert check_nearest(right).passed
    assert "normalise" in check_nearest(dot).message
    assert "itself" in check_nearest(
        lambda t, i, k: (torch.nn.functional.normalize(t, dim=-1)
                         @ torch.nn.functional.normalize(t, dim=-1)[i]).topk(k).indices).message
    assert check_nearest(lambda t, i, k: None).message.startswith("Not attempted yet")

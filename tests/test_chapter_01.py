"""Chapter 1: the scale figure's numbers, the trained-embedding picture, the widget, the graders."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from timing import update_seconds

from annotated import make_model, pretrained
from annotated.embeddings import nearest_neighbours
from annotated.exercises import check_nearest, check_scale_prediction
from annotated.exercises.solutions import solution
from annotated.viz.draw import SCALE_LINES, clusters, draw_number_embeddings, embedding_scale
from annotated.viz.figures import FIGURES
from annotated.viz.measure import (
    NUMBER_GROUPS,
    embedding_scales,
    group_cosines,
    init_table,
    number_tables,
    project_2d,
    word_group,
)
from annotated.viz.widgets import number_embedding_explorer


@pytest.fixture(scope="module")
def numbers():
    return pretrained.load("numbers")


def test_scale_numbers_behind_the_figure():
    s = embedding_scales([64, 512], vocab=1000)
    assert s["positional encoding"] == pytest.approx([math.sqrt(0.5)] * 2, abs=1e-3)
    assert s["N(0,1) init x sqrt(D)"] == pytest.approx([8.0, math.sqrt(512)], rel=0.02)
    # Tensor2Tensor's start, N(0, 1/D), times sqrt(D): one at every width.
    assert s["Tensor2Tensor init x sqrt(D)"] == pytest.approx([1.0, 1.0], rel=0.02)
    assert s["Tensor2Tensor init"] == pytest.approx([64**-0.5, 512**-0.5], rel=0.02)
    # The Xavier curve is the init make_model really applies: std sqrt(2 / (V + D)).
    model = make_model(1000, 1000, N=1, d_model=64, d_ff=64, h=2)
    measured = model.src_embed[0].lut.weight.std().item()
    assert measured == pytest.approx(math.sqrt(2 / (1000 + 64)), rel=0.02)
    assert s["Xavier init"][0] == pytest.approx(measured, rel=0.02)
    assert 0.5 < s["Xavier init x sqrt(D)"][1] / s["positional encoding"][1] < 2
    with pytest.raises(ValueError, match="unknown init"):
        init_table("orthogonal", 4, 4)


def test_scale_figure_draws_the_measured_lines():
    fig = embedding_scale()
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels == list(SCALE_LINES.values())
    d_models = [64, 128, 256, 512, 1024, 2048]
    measured = embedding_scales(d_models)
    for line, key in zip(ax.lines, SCALE_LINES, strict=True):
        assert list(line.get_xdata()) == d_models
        assert list(line.get_ydata()) == pytest.approx(measured[key])
    assert ax.lines[-1].get_linestyle() == "--"  # the unscaled start
    plt.close(fig)


def test_trained_table_groups_its_number_words(numbers):
    tables = number_tables(numbers)
    words = list(numbers.tgt_vocab.itos)
    trained, random = group_cosines(tables["trained"], words), group_cosines(tables["random"],
                                                                             words)
    for group in ("units", "teens", "tens"):
        inside, outside = trained[group]
        assert inside > 0.4 > outside, group
        assert abs(random[group][0]) < 0.05, group
    # Every unit, teen and tens word has its nearest neighbour in its own group.
    for group in ("units", "teens", "tens"):
        for word in NUMBER_GROUPS[group]:
            ids, _ = nearest_neighbours(tables["trained"], words.index(word), 1)
            assert word_group(words[ids[0]]) == group, word
    assert tables["random"].shape == tables["trained"].shape


def test_projection_keeps_the_main_directions():
    table = torch.zeros(4, 3)
    table[:, 0] = torch.tensor([-3.0, -1.0, 1.0, 3.0])  # all the spread on one axis
    points, share = project_2d(table)
    assert share == pytest.approx(1.0)
    assert points[:, 0].abs().tolist() == pytest.approx([3.0, 1.0, 1.0, 3.0])
    assert points[:, 0].abs().argmax() in (0, 3) and points.abs().max() == points.max()


def test_trained_embeddings_figure_labels_every_word(numbers):
    fig = FIGURES["01_trained_embeddings"].make()
    before, after = fig.axes
    words = list(numbers.tgt_vocab.itos)
    tables = number_tables(numbers)
    for ax, name in ((before, "random"), (after, "trained")):
        points, share = project_2d(tables[name])
        assert f"{share:.0%}" in ax.get_title()
        found = clusters(points, words)
        named = [t.get_text() for t in ax.texts]
        # Every word is named once: on its own, or in its cluster's label.
        assert [f"{g}: {len(rows)} words" for g, rows in found.items()] == [
            t for t in named if t.endswith(" words")]
        alone = [t for t in named if not t.endswith(" words")]
        assert sorted(alone + [words[r] for rows in found.values() for r in rows]) == sorted(words)
        zero = ax.texts[named.index("zero")]
        assert zero.xy == pytest.approx(tuple(points[words.index("zero")].tolist()))
    assert "before training" in before.get_title() and "after training" in after.get_title()
    # After training the tens, units and teens are tight clusters, the joiners never one; the
    # random table has none.
    points, _ = project_2d(tables["trained"])
    assert sorted(clusters(points, words)) == ["teens", "tens", "units"]
    assert len(clusters(points, words)["tens"]) == 8
    assert clusters(project_2d(tables["random"])[0], words) == {}
    tens = points[[words.index(w) for w in NUMBER_GROUPS["tens"]]]
    units = points[[words.index(w) for w in NUMBER_GROUPS["units"]]]
    assert torch.cdist(tens, tens).mean() < torch.cdist(tens, units).mean() / 3
    plt.close(fig)


def test_draw_number_embeddings_marks_the_nearest(numbers):
    tables = number_tables(numbers)
    words = list(numbers.tgt_vocab.itos)
    fig = draw_number_embeddings(tables, words, "trained", "twenty", k=4)
    ids, sims = nearest_neighbours(tables["trained"], words.index("twenty"), 4)
    right = fig.axes[1]
    assert [t.get_text() for t in right.get_yticklabels()] == [words[i] for i in ids]
    assert "trained" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].texts] == ["twenty"]  # the others on the right
    plt.close("all")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        draw_number_embeddings(tables, words, "trained", "zebra")
    with pytest.raises(ValueError, match="unknown table"):
        draw_number_embeddings(tables, words, "pretrained", "one")


def test_widget_switches_between_trained_and_random(numbers):
    w = number_embedding_explorer(numbers)
    table, word = w.children[0], w.children[1]
    assert table.value == "trained" and word.value == "twenty"
    assert "zero" in word.options and "<pad>" not in word.options
    word.value = "three"
    assert "'three'" in w.result.axes[1].get_title()
    table.value = "random"
    assert w.result.axes[0].get_title().startswith("random table")
    seconds = update_seconds(w, 1, ["one", "forty", "twelve"])
    assert seconds < 0.5, f"one update took {seconds:.3f} s"


def test_check_scale_prediction():
    right = solution("check_scale_prediction")
    assert check_scale_prediction(right).passed
    assert check_scale_prediction({"scaled": 1.22, "unscaled": 0.86}).passed  # rounded is fine
    assert check_scale_prediction({"scaled": ..., "unscaled": ...}).message.startswith(
        "Not attempted yet")
    message = check_scale_prediction({"scaled": ..., "unscaled": ...}).message
    assert "0.86" not in message and "1.22" not in message  # a hint, not the answer
    r2 = math.sqrt(2)
    u = math.sqrt(1512 / 2024)  # Xavier, V = 1000: std sqrt(2 / (V + D)), D 512 -> 1024

    def says(scaled, unscaled):
        return check_scale_prediction({"scaled": scaled, "unscaled": unscaled}).message

    assert "swapped" in says(u, u * r2)
    assert "Tensor2Tensor" in says(1.0, 1 / r2)
    assert "how much does V + d_model grow" in says(1.2, 1 / r2)
    assert "square root of your ratio" in says(1.2, 1512 / 2024)
    assert "d_model is part of V + d_model" in says(1.0, 1.0)
    assert "smaller start" in says(1.0, r2)
    assert "shrinks by less" in says(1.0, u)
    assert "without the factor" in says(u, u)
    assert "not by 2" in says(2 * u, u)
    assert "give a dict" in check_scale_prediction(1.0).message
    assert "no 'unscaled'" in check_scale_prediction({"scaled": 1.0}).message
    assert "must be a number" in says("one", u)


def test_check_nearest():
    def dot(table, index, k):
        sims = table @ table[index]
        sims[index] = -1e9
        return sims.topk(k).indices

    assert check_nearest(solution("check_nearest")).passed
    assert "normalise" in check_nearest(dot).message
    assert "itself" in check_nearest(
        lambda t, i, k: (torch.nn.functional.normalize(t, dim=-1)
                         @ torch.nn.functional.normalize(t, dim=-1)[i]).topk(k).indices).message
    assert check_nearest(lambda t, i, k: None).message.startswith("Not attempted yet")

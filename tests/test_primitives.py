import tomllib
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch

from annotated.viz.primitives import curves, fixed_margins, grid, heatmap, label_inches


def test_heatmap_labels_rows_and_columns():
    ax = heatmap(torch.eye(3), ["she", "gave", "him"], ["a", "b", "c"], title="t",
                 xlabel="key", ylabel="query")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["she", "gave", "him"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "key" and ax.get_title() == "t"
    plt.close("all")


def test_heatmap_refuses_wrong_shapes_and_label_counts():
    with pytest.raises(ValueError, match="2-D matrix"):
        heatmap(torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match="2 row labels for 3 rows"):
        heatmap(torch.zeros(3, 3), ["a", "b"])


def test_curves_draws_one_line_per_label():
    ax = curves(range(4), {"a": [0, 1, 2, 3], "b": torch.arange(4.0)}, logy=False)
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    fig, axes = grid(5, cols=4)
    assert len(axes) == 5 and sum(ax.get_visible() for ax in fig.axes) == 5
    plt.close("all")


def test_interactive_figure_redraws_when_a_control_moves():
    import ipywidgets as widgets

    from annotated.viz.widgets import interactive_figure

    def draw(n=2):
        fig, ax = plt.subplots()
        ax.plot(range(n))
        return fig

    w = interactive_figure(draw, n=widgets.IntSlider(value=2, min=1, max=5))
    w.update()
    assert len(w.result.axes[0].get_lines()[0].get_xdata()) == 2
    w.children[0].value = 4
    assert len(w.result.axes[0].get_lines()[0].get_xdata()) == 4
    plt.close("all")


def test_heatmap_without_ticks_draws_no_tick_labels():
    ax = heatmap(torch.zeros(30, 40), ticks=False)
    assert ax.get_xticklabels() == [] and ax.get_yticklabels() == []
    ax = heatmap(torch.zeros(2, 2), ["a", "b"], ticks=False)  # given labels are still drawn
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    plt.close("all")


def test_kanji_labels_draw_with_the_shipped_font_inside_with_kanji(caplog):
    from annotated.viz.primitives import KANJI_FONT, with_kanji

    assert KANJI_FONT.is_file() and KANJI_FONT.stat().st_size < 10_000
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "fonts/*.ttf" in meta["tool"]["setuptools"]["package-data"]["annotated"]  # shipped
    before = list(plt.rcParams["font.family"])
    with with_kanji():
        ax = heatmap(torch.eye(3), list("三十万"), ["零", "百", "千"], title="三十万 → 300,000")
        ax.figure.suptitle("bold too: 一二", weight="bold")
    assert plt.rcParams["font.family"] == before  # the setting is back as it was
    with caplog.at_level("WARNING", logger="matplotlib.font_manager"):
        ax.figure.canvas.draw()  # a missing glyph would warn (an error under pytest here)
    assert not caplog.records  # no "findfont: Failed to find font weight bold"
    plt.close("all")


def test_interactive_figure_in_a_kernel_shows_one_uncropped_png_per_update():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import struct\n"
        "import ipywidgets as widgets\n"
        "import matplotlib.pyplot as plt\n"
        "from annotated.viz.widgets import interactive_figure\n"
        "def draw(n=2):\n"
        "    fig, ax = plt.subplots(figsize=(4, 3), dpi=50)\n"
        "    ax.plot(range(n))\n"
        "    return fig\n"
        "w = interactive_figure(draw, n=widgets.IntSlider(value=2, min=1, max=5))\n"
        "w.children[0].value = 4"),
        # The Output widget's outputs are filled in by the front end (here nbclient).
        nbformat.v4.new_code_cell(
        "pngs = [o['data']['image/png'] for o in w.out.outputs if 'image/png' in o['data']]\n"
        "import base64\n"
        "size = struct.unpack('>II', base64.b64decode(pngs[0])[16:24])\n"
        "print(len(w.out.outputs), len(pngs), size, len(plt.get_fignums()))")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    # One picture, the figure's full 200 x 150 pixels (the inline backend would crop it),
    # and no figure left open for the backend to show a second time.
    assert printed.strip() == "1 1 (200, 150) 0", printed


def test_label_inches_grows_with_the_longest_label():
    from annotated.viz.primitives import CHAR_INCHES

    assert label_inches(["<s>", "vierzig", "und"]) == pytest.approx(7 * CHAR_INCHES)
    assert label_inches(["vierzig"], slant=0.7) == pytest.approx(0.7 * 7 * CHAR_INCHES)
    assert label_inches([]) == 0.0


def test_fixed_margins_make_room_for_the_longest_labels():
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    fixed_margins(fig, ["a"], ["b"])
    narrow = fig.subplotpars.left, fig.subplotpars.bottom
    fixed_margins(fig, ["a much longer row label"], ["a long column label"], title_lines=3)
    assert fig.subplotpars.left > narrow[0] and fig.subplotpars.bottom > narrow[1]
    assert fig.subplotpars.top < 1 - 3 * 0.25 / 4.0  # three title lines of room above
    # The labels fit: after drawing, no tick label sticks out of the figure.
    heatmap(torch.eye(2), ["a much longer row label", "x"], ["a long column label", "y"], ax=ax)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for label in ax.get_yticklabels() + ax.get_xticklabels():
        box = label.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0, label.get_text()
    plt.close("all")


def test_figures_after_a_kanji_figure_are_still_shown_in_a_kernel():
    """with_kanji must not undo what the inline backend set up inside it (its first figure)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in (
        "import matplotlib.pyplot as plt\n"
        "from annotated.viz.primitives import with_kanji\n"
        "with with_kanji():\n"
        "    fig, ax = plt.subplots(figsize=(2, 2), dpi=30)\n"
        "    ax.set_title('三十万')",
        "fig, ax = plt.subplots(figsize=(2, 2), dpi=30)")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    shown = [sum("image/png" in o.get("data", {}) for o in cell.outputs) for cell in nb.cells]
    assert shown == [1, 1], shown

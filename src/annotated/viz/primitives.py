"""The drawing primitives: a labelled heatmap, a set of curves, a grid, fixed margins, fonts.

Every picture of the course is built from these (through `viz.draw`), so the plotting
conventions live in one place.

Why fixed margins and no layout engine: widget figures are redrawn on every move of a
control, and matplotlib's constrained (or tight) layout lays out every label once more per
draw; seaborn draws a figure once per heatmap, so a layout engine doubled the time of an
update (benchmarks/widgets.py measures the widgets). `fixed_margins` gives each figure the
room its longest labels need, computed once from their lengths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import seaborn.matrix
import torch
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def to_numpy(x) -> np.ndarray:
    """A float numpy array from a tensor (any device or dtype), list or array."""
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


CHAR_INCHES = 0.085  # about one character of a tick label at the default font size
AXIS_INCHES = 0.55  # an axis name, the tick marks and the gap between them
LINE_INCHES = 0.25  # one line of a title


def label_inches(labels: Sequence[str] | None, slant: float = 1.0) -> float:
    """Room the longest label takes, in inches (`slant` < 1 for labels turned 45 degrees)."""
    return slant * CHAR_INCHES * max(map(len, labels)) if labels else 0.0


def fixed_margins(fig: Figure, rows: Sequence[str] | None = None,
                  cols: Sequence[str] | None = None, *, title_lines: int = 1,
                  slant: float = 0.7, right: float = 0.1, **space: float) -> None:
    """Margins from the longest row labels (left), column labels (bottom) and title lines.

    `right` is the room in inches kept on the right (a colour bar); `space` passes
    wspace/hspace on. See the module's docstring for why there is no layout engine.
    """
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=min(0.45, (AXIS_INCHES + label_inches(rows)) / width),
                        bottom=min(0.45, (AXIS_INCHES + label_inches(cols, slant)) / height),
                        right=1 - right / width,
                        top=1 - (0.1 + LINE_INCHES * title_lines) / height, **space)


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Use `ax` if given, else make a figure with one Axes."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


@contextlib.contextmanager
def _skip_seaborn_redraw() -> Iterator[None]:
    """Stop seaborn drawing the whole figure inside every heatmap call.

    seaborn 0.13 draws the figure once per heatmap only to decide whether to rotate the tick
    labels, which `heatmap` below sets itself anyway; in a grid of 8 heatmaps those draws
    took 2.4 s of a 2.5 s update. The picture is pixel-for-pixel the same without them.
    """
    saved = getattr(seaborn.matrix, "_draw_figure", None)
    if saved is None:  # another seaborn version: nothing to skip
        yield
        return
    seaborn.matrix._draw_figure = lambda fig: None
    try:
        yield
    finally:
        seaborn.matrix._draw_figure = saved


def heatmap(
    matrix,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    cmap: str = "viridis",
    annot: bool | None = None,
    fmt: str = ".2f",
    vmin: float | None = None,
    vmax: float | None = None,
    center: float | None = None,
    cbar: bool = True,
    figsize: tuple[float, float] = (5.0, 4.0),
    ticks: bool = True,
) -> Axes:
    """Draw a 2-D matrix with token labels on its rows (queries) and columns (keys).

    `ticks=False` draws no tick labels: several times faster for big matrices in widgets.
    """
    data = to_numpy(matrix)
    if data.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D matrix, got shape {data.shape}; "
                         "select one batch element and head first, e.g. attn[0, 0]")
    for labels, size, what in ((row_labels, data.shape[0], "row"),
                               (col_labels, data.shape[1], "column")):
        if labels is not None and len(labels) != size:
            raise ValueError(f"{len(labels)} {what} labels for {size} {what}s")
    _, ax = new_axes(ax, figsize)
    if annot is None:
        annot = data.size <= 100  # numbers in the cells only while they stay readable
    auto = "auto" if ticks else False
    with _skip_seaborn_redraw():
        sns.heatmap(data, ax=ax, cmap=cmap, annot=annot, fmt=fmt, vmin=vmin, vmax=vmax,
                    center=center, cbar=cbar, square=False,
                    xticklabels=list(col_labels) if col_labels is not None else auto,
                    yticklabels=list(row_labels) if row_labels is not None else auto)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=0 if col_labels is None else 45)
    ax.tick_params(axis="y", labelrotation=0)
    return ax


def curves(
    x,
    ys: Mapping[str, object],
    *,
    ax: Axes | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    logy: bool = False,
    marker: str | None = None,
    figsize: tuple[float, float] = (6.0, 3.5),
) -> Axes:
    """Draw one labelled line per entry of `ys` against the shared `x`."""
    _, ax = new_axes(ax, figsize)
    xs = to_numpy(x)
    for label, y in ys.items():
        ax.plot(xs, to_numpy(y), label=label, marker=marker)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if len(ys) > 1:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def grid(n: int, cols: int = 4, size: float = 3.0,
         layout: str | None = "constrained") -> tuple[Figure, np.ndarray]:
    """A figure with `n` Axes in rows of `cols` (for one heatmap per head, say).

    `layout=None` leaves the margins to the caller (fixed margins draw about twice as fast).
    """
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, min(n, cols), figsize=(size * min(n, cols), size * rows),
                             layout=layout, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


KANJI_FONT = Path(__file__).parents[1] / "fonts" / "kanji-numerals.ttf"


def kanji_font_name() -> str:
    """Register the shipped kanji subset with matplotlib (once) and return its family name.

    Registering changes no setting: `with_kanji()` uses the font where a figure needs it.
    """
    manager = font_manager.fontManager
    if not any(e.fname == str(KANJI_FONT) for e in manager.ttflist):
        manager.addfont(str(KANJI_FONT))  # (this also empties findfont's cache)
        entry = next(e for e in manager.ttflist if e.fname == str(KANJI_FONT))
        # The same glyphs for every weight: else each bold title would log "Failed to find
        # font weight bold" (on stderr, which notebooks store).
        manager.ttflist += [dataclasses.replace(entry, weight=w) for w in range(100, 1000, 100)
                            if w != entry.weight]
    return font_manager.FontProperties(fname=KANJI_FONT).get_name()


@contextlib.contextmanager
def with_kanji() -> Iterator[None]:
    """Inside the block, text falls back to the shipped kanji font: Japanese numbers, no boxes.

    Latin text keeps matplotlib's own font (it comes first); only glyphs it lacks come from
    ours. Text takes its font when it is created, so draw the whole figure inside the block.
    Only `font.family` is changed and put back: `plt.rc_context` would also put back
    `interactive`, which the inline backend may switch on inside the block (on the first
    figure of a kernel), and then no later figure would be shown.
    """
    before = plt.rcParams["font.family"]
    plt.rcParams["font.family"] = [*before, kanji_font_name()]
    try:
        yield
    finally:
        plt.rcParams["font.family"] = before


def figure_png(fig: Figure) -> bytes:
    """`fig` as PNG bytes, as drawn (no tight cropping), compressed lightly for speed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    return buf.getvalue()

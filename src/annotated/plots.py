"""The course's two kinds of picture: a labelled heatmap and a set of curves.

Every figure in the notebooks and in figures/ is drawn by these functions (or by figures.py,
which calls them), so the plotting code lives in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def to_numpy(x) -> np.ndarray:
    """A float numpy array from a tensor (any device or dtype), list or array."""
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


CHAR_INCHES = 0.085  # about one character of a tick label at the default font size


def label_inches(labels: Sequence[str], slant: float = 1.0) -> float:
    """Room the longest label takes, in inches (`slant` < 1 for labels turned 45 degrees).

    Widget figures use it for fixed margins: a layout engine would double each redraw.
    """
    return slant * CHAR_INCHES * max(map(len, labels))


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
    import seaborn.matrix

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


# --- Chapter 8 ---
KANJI_FONT = Path(__file__).parent / "fonts" / "kanji-numerals.ttf"


def use_kanji_font() -> str:
    """Add the shipped kanji subset as a fallback font: Japanese numbers draw, not boxes.

    Latin text keeps matplotlib's own font (it comes first); only glyphs that font lacks
    are taken from ours. Returns the fallback's family name.
    """
    import dataclasses

    from matplotlib import font_manager

    manager = font_manager.fontManager
    if not any(e.fname == str(KANJI_FONT) for e in manager.ttflist):
        manager.addfont(str(KANJI_FONT))  # (this also empties findfont's cache)
        entry = next(e for e in manager.ttflist if e.fname == str(KANJI_FONT))
        # The same glyphs for every weight: else each bold title would log "Failed to find
        # font weight bold" (on stderr, which notebooks store).
        manager.ttflist += [dataclasses.replace(entry, weight=w) for w in range(100, 1000, 100)
                            if w != entry.weight]
    name = font_manager.FontProperties(fname=KANJI_FONT).get_name()
    families = list(plt.rcParams["font.family"])
    if name not in families:
        plt.rcParams["font.family"] = [*families, name]
    return name


use_kanji_font()

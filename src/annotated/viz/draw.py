"""Drawing functions: data in, a matplotlib Figure out, one per picture of the course.

Chapters call them directly, `viz.figures` registers the ones saved to figures/, and
`viz.widgets` wraps them in controls. Attention of every kind is drawn by one function,
`draw_attention`, from one record, `annotated.attention_maps.AttentionMaps`.
"""

from __future__ import annotations

import contextlib
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from .. import pretrained
from ..attention import attention
from ..attention_maps import AttentionMaps, describe_part
from ..data import bucket_batches
from ..embeddings import nearest_neighbours
from ..examples import she_gave_him_her_book
from ..losses import smoothed_targets
from ..masks import make_std_mask, padding_mask, subsequent_mask
from ..positional import shift_matrix, sinusoidal_table
from ..tasks import MAX_NUMBER, number_words
from ..training import rate
from .measure import (
    HEADS_SENTENCE,
    NUMBER_GROUPS,
    PAPER_SCHEDULE,
    SMOOTHING_TARGET,
    SMOOTHING_TOKENS,
    best_line,
    corpus_lengths,
    descent_path,
    dot_product_stats,
    embedding_scales,
    layer_gradient_norms,
    loss_surface,
    number_attention,
    number_tables,
    pair_padding,
    project_2d,
    schedule_curves,
    schedule_steps,
    smoothing_penalty,
    source_positions_off,
    symmetric_offsets,
    untrained_heads,
    word_group,
)
from .primitives import (
    AXIS_INCHES,
    LINE_INCHES,
    curves,
    fixed_margins,
    grid,
    heatmap,
    label_inches,
    with_kanji,
)

# --- Attention, every chapter ---
CELL_INCHES = 0.38  # one cell of a single-panel attention map
PANEL_INCHES = 2.6  # one panel of the all-heads grid
COLORBAR_INCHES = 0.9


def heading(maps: AttentionMaps) -> list[str]:
    """What was translated and how well: the title lines a translation's pictures share."""
    lines = [maps.text] if maps.text else []
    if maps.translation is not None:
        mark = {True: "\u00a0✓", False: "\u00a0✗", None: ""}[maps.correct]  # kept on its line
        lines.append(f"→ {maps.translation}{mark}")
        if maps.correct is False:
            lines.append(f"right: {maps.reference}")
    return [wrapped for line in lines for wrapped in textwrap.wrap(line, 70)]


def draw_attention(maps: AttentionMaps, part: str = "cross", layer: int = -1,
                   head: int | str = "all", *, arrows: bool = False, ax: Axes | None = None,
                   title: str | None = None, numbers: bool | None = None,
                   colorbar: bool = True) -> Figure:
    """One part of `maps`: one head (an int), the mean of the heads ("mean") or every head.

    Rows are the queries, columns the keys; layers and heads count from 0, as the tensors
    do (layer=-1 is the last). `arrows` labels decoder rows 'read → written'. `title`
    replaces the heading made from the record; `ax` draws one panel into a given Axes.
    `numbers` writes the weights in the cells (default: while there are few). Kanji labels
    need the Axes `ax` made inside `primitives.with_kanji()`.
    """
    if part not in maps.weights:
        raise ValueError(f"unknown part {part!r}; choose one of {', '.join(maps.weights)}")
    w = maps.weights[part]  # (L, H, Tq, Tk)
    L, H = w.shape[:2]
    if not -L <= layer < L:
        raise ValueError(f"layer {layer} out of range: there are {L} layer(s), 0 to {L - 1}")
    if not (head in ("all", "mean") or (isinstance(head, int) and 0 <= head < H)):
        raise ValueError(f"head {head!r} out of range: use 0 to {H - 1}, 'mean' or 'all'")
    if head == "all" and ax is not None:
        raise ValueError("every head needs a figure of its own: pass head=0..H-1 or 'mean' "
                         "with ax, or leave ax out")
    layer %= L
    rows, keys = maps.labels(part, arrows)
    where = f"layer {layer} of {L}" if L > 1 else ""
    lines = heading(maps) if title is None else title.split("\n")
    with with_kanji():
        if head == "all":
            return _all_heads(w[layer], rows, keys, [*lines, ", ".join(
                filter(None, [describe_part(part, short=True), where]))], bool(numbers))
        matrix = w[layer].mean(0) if head == "mean" else w[layer, head]  # (Tq, Tk)
        which = f"mean of {H} heads" if head == "mean" else f"head {head}"
        if ax is None:
            Tq, Tk = matrix.shape
            width = max(4.5, AXIS_INCHES + label_inches(rows) + CELL_INCHES * Tk
                        + COLORBAR_INCHES)
            # Title lines wrapped to the figure's width (about 0.1 inch a character), the
            # description only between its parts.
            chars = int(width / 0.1)
            lines = [w for line in lines for w in textwrap.wrap(line, chars)]
            lines += _join_within([describe_part(part, short=True), where, which], chars)
            height = max(3.5, AXIS_INCHES + label_inches(keys, 0.7) + CELL_INCHES * Tq
                         + LINE_INCHES * len(lines) + 0.2)
            fig = plt.figure(figsize=(width, height))
            ax = fig.add_subplot()
            fixed_margins(fig, rows, keys, title_lines=len(lines),
                          right=COLORBAR_INCHES if colorbar else 0.1)
        cells = matrix.shape[0] * matrix.shape[1]
        heatmap(matrix, rows, keys, ax=ax, vmin=0.0, vmax=1.0, cbar=colorbar,
                annot=cells <= 50 if numbers is None else numbers, ticks=False,
                title="\n".join(lines) or f"{where}, {which}".lstrip(", "),
                xlabel="key", ylabel="query")
        _turn_key_labels(ax, keys, narrow=False)
    return ax.figure


def _all_heads(w: torch.Tensor, rows: list[str], keys: list[str], lines: list[str],
               numbers: bool) -> Figure:
    """Every head of one layer, w (H, Tq, Tk), in rows of 4 panels with one colour bar."""
    H = w.shape[0]
    cols = min(H, 4)
    fig, axes = grid(H, cols=cols, size=PANEL_INCHES, layout=None)
    width, height = fig.get_size_inches()
    left, bottom = AXIS_INCHES + label_inches(rows), AXIS_INCHES + label_inches(keys, 0.75)
    top = 0.2 + LINE_INCHES * (len(lines) + 1)
    fig.set_size_inches(width + left + COLORBAR_INCHES, height + bottom + top)
    fixed_margins(fig, rows, keys, title_lines=len(lines) + 1, slant=0.75,
                  right=COLORBAR_INCHES, wspace=0.15, hspace=0.3)
    for i, ax in enumerate(axes):
        # Labels on the outer panels only: the same words on every panel slow each redraw,
        # and ticks never made cost nothing (removing them afterwards still costs).
        heatmap(w[i], rows if i % cols == 0 else None, keys if i + cols >= H else None,
                ax=ax, vmin=0.0, vmax=1.0, cbar=False, annot=numbers, title=f"head {i}",
                ticks=False)
        _turn_key_labels(ax, keys, narrow=True)
    axes[0].set_ylabel("query")
    axes[-1].set_xlabel("key")
    right_edge = fig.subplotpars.right
    bar = fig.add_axes((right_edge + 0.15 / fig.get_size_inches()[0], fig.subplotpars.bottom,
                        0.12 / fig.get_size_inches()[0],
                        fig.subplotpars.top - fig.subplotpars.bottom))
    fig.colorbar(axes[0].collections[0], cax=bar, label="attention weight")
    fig.suptitle("\n".join(lines), fontsize="medium")
    return fig


def _join_within(parts: list[str], chars: int) -> list[str]:
    """The non-empty `parts` joined by commas into as few lines of `chars` as they allow."""
    lines: list[str] = []
    for part in filter(None, parts):
        if lines and len(lines[-1]) + 2 + len(part) <= chars:
            lines[-1] += f", {part}"
        else:
            lines.append(part)
    return lines


def _turn_key_labels(ax: Axes, keys: list[str], narrow: bool) -> None:
    """Kanji keys (one character each) stand upright; words on a narrow panel stand up too."""
    if all(len(k) == 1 for k in keys):
        ax.tick_params(axis="x", labelrotation=0)
    elif narrow:
        ax.tick_params(axis="x", labelrotation=90)


# --- Primer ---
BROADCAST_A = [[0], [10], [20]]  # (3, 1)
BROADCAST_B = [[0, 1, 2, 3]]  # (1, 4)


def _cells(ax: Axes, x0: float, values, color: str, solid) -> None:
    """A grid of numbered cells with its top-left corner at (x0, 0); `solid(i, j)` says which
    cells hold data (the others are the copies broadcasting makes, drawn faded)."""
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            real = solid(i, j)
            ax.add_patch(FancyBboxPatch((x0 + j + 0.06, -i - 0.94), 0.88, 0.88,
                                        boxstyle="round,pad=0.02", facecolor=color,
                                        alpha=1.0 if real else 0.25, edgecolor="0.3",
                                        linestyle="-" if real else "--"))
            ax.text(x0 + j + 0.5, -i - 0.5, f"{v:g}", ha="center", va="center", fontsize=11,
                    color="black" if real else "0.45")


def broadcasting_figure() -> Figure:
    """(3, 1) + (1, 4) -> (3, 4): each size-1 axis is stretched (faded copies) to match."""
    a, b = torch.tensor(BROADCAST_A), torch.tensor(BROADCAST_B)
    total = a + b  # (3, 4)
    rows, cols = total.shape
    fig, ax = plt.subplots(figsize=(9.0, 3.0))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.8)
    panels = [(0.0, a.expand(rows, cols), "#9ecae1", lambda i, j: j == 0,
               f"a: shape {tuple(a.shape)}"),
              (5.5, b.expand(rows, cols), "#fdae6b", lambda i, j: i == 0,
               f"b: shape {tuple(b.shape)}"),
              (11.0, total, "#a1d99b", lambda i, j: True,
               f"a + b: shape {tuple(total.shape)}")]
    for x0, values, color, solid, title in panels:
        _cells(ax, x0, values.tolist(), color, solid)
        ax.text(x0 + cols / 2, 0.35, title, ha="center", va="bottom", fontsize=11,
                family="monospace")
    for x, sign in ((4.75, "+"), (10.25, "=")):
        ax.text(x, -rows / 2, sign, ha="center", va="center", fontsize=20)
    ax.set_xlim(-0.2, 15.2)
    ax.set_ylim(-rows - 0.1, 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.suptitle("broadcasting: shapes are compared from the right; a size of 1 is stretched",
                 fontsize=11)
    return fig


DESCENT_VIEW = ((-2.0, 6.5), (-3.0, 4.5))  # the (w, b) window of the descent pictures


def draw_descent(lr: float = 0.1, steps: int = 30) -> Figure:
    """Gradient descent on the line problem: the path over the loss (left), the loss per step."""
    path = descent_path(lr, steps)
    (w0, w1), (b0, b1) = DESCENT_VIEW
    W, B, loss = loss_surface((w0, w1), (b0, b1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 4.0),
                                      gridspec_kw={"width_ratios": [1.15, 1]})
    fixed_margins(fig, ["1e+00"], title_lines=1, wspace=0.25)
    levels = np.geomspace(0.05, loss.max().item(), 12)
    left.contourf(W.numpy(), B.numpy(), loss.numpy(), levels=levels, cmap="Blues", alpha=0.4)
    left.contour(W.numpy(), B.numpy(), loss.numpy(), levels=levels, colors="0.55",
                 linewidths=0.8)
    left.plot(path["w"], path["b"], "o-", color="tab:red", markersize=3.5, linewidth=1.2,
              label="descent path")
    left.plot(*best_line(), "*", color="black", markersize=13, label="lowest loss")
    left.plot(path["w"][0], path["b"][0], "s", color="tab:red", markersize=7, label="start")
    left.set(xlim=(w0, w1), ylim=(b0, b1), xlabel="w (slope)", ylabel="b (intercept)")
    left.legend(fontsize="small", loc="upper right")
    left.set_title(f"lr = {lr:g}: the path over the loss's contour lines", fontsize=10)
    taken = len(path["loss"]) - 1
    right.plot(range(taken + 1), path["loss"], "o-", markersize=3)
    right.set_yscale("log")
    right.set(xlim=(0, max(steps, 1)), xlabel="step", ylabel="loss (log scale)")
    right.grid(alpha=0.3)
    first, last = path["loss"][0], path["loss"][-1]
    verdict = (f"loss {first:.3g} -> {last:.3g} after {taken} steps" if last < first
               else f"loss grows: {first:.3g} -> {last:.3g} after {taken} steps")
    right.set_title(verdict, fontsize=10)
    return fig


def descent_figure() -> Figure:
    """The descent with a learning rate that works: a zig-zag down the narrow valley."""
    return draw_descent(lr=0.2, steps=30)


# --- Chapter 0 ---

DEMO_NUMBER = 354_782  # German puts the ones before the tens: vierundfünfzig = "fifty-four"


def draw_demo(translator, number: int, layer: int = -1) -> Figure:
    """Translate `number` from German and draw the cross-attention, heads averaged."""
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"pick a whole number from 0 to {MAX_NUMBER:,}, got {number:,}")
    maps = number_attention(translator, str(number), "de")
    verdict = "correct" if maps.correct else "WRONG"
    title = f"{number:,} -> '{maps.translation}' ({verdict})"  # draw_attention wraps it
    return draw_attention(maps, "cross", layer, "mean", title=title)


def demo_attention(translator=None) -> Figure:
    """Chapter 0's picture: the shipped translator reading DEMO_NUMBER in German."""
    return draw_demo(translator or pretrained.load("numbers"), DEMO_NUMBER)


# --- Chapter 1 ---

SCALE_LINES = {  # measured series -> legend label, in the order drawn
    "N(0,1) init x sqrt(D)": "N(0, 1) start x sqrt(D)",
    "Xavier init x sqrt(D)": "Xavier start (make_model) x sqrt(D)",
    "Tensor2Tensor init x sqrt(D)": "N(0, 1/D) start (Tensor2Tensor) x sqrt(D)",
    "positional encoding": "positional encoding",
    "Tensor2Tensor init": "N(0, 1/D) start, not scaled",
}


def embedding_scale() -> Figure:
    """RMS of one embedding entry, for three starts, against the positional encoding's."""
    d_models = [64, 128, 256, 512, 1024, 2048]
    measured = embedding_scales(d_models)
    ax = curves(d_models, {label: measured[key] for key, label in SCALE_LINES.items()},
                marker="o", logy=True, figsize=(8.5, 4.2),
                title="Size of one entry: embedding vs positional encoding (V = 1000)",
                xlabel="d_model", ylabel="RMS of one entry (log scale)")
    ax.lines[-1].set_linestyle("--")
    ax.lines[list(SCALE_LINES).index("positional encoding")].set_color("black")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0.01, 100)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax.figure


GROUP_COLOURS = {"units": "tab:blue", "teens": "tab:green", "tens": "tab:red",
                 "joiners": "tab:purple", "other": "tab:gray"}


CLUSTER_RADIUS = 0.1  # a group's words this close to their centre (share of the view) are one


def clusters(points: torch.Tensor, words: list[str]) -> dict[str, list[int]]:
    """Number groups (units, teens, tens) whose words, 3 or more, sit within CLUSTER_RADIUS of
    the view's span from their centre: the rows of each, labelled once rather than word by
    word. The joiners are never one: each has its own job."""
    span = (points.max(0).values - points.min(0).values).max().item()
    found = {}
    for group in ("units", "teens", "tens"):
        members = NUMBER_GROUPS[group]
        rows = [words.index(w) for w in members if w in words]
        centre = points[rows].mean(0)
        close = [r for r in rows if (points[r] - centre).norm().item() < CLUSTER_RADIUS * span]
        if len(close) >= 3:
            found[group] = close
    return found


def _scatter_words(ax: Axes, points: torch.Tensor, words: list[str], title: str,
                   marked: tuple[str, list[str]] | None = None) -> None:
    """Each word as a dot at its 2-D point, coloured by its group. A tight cluster of one group
    gets one label ('tens: 8 words'), the other words one each. `marked` = (word, neighbours)
    labels that word alone, joins it to its neighbours and fades the rest."""
    xy = points.tolist()
    shown = None if marked is None else {marked[0], *marked[1]}
    for word, (x, y) in zip(words, xy, strict=True):
        ax.plot(x, y, "o", color=GROUP_COLOURS[word_group(word)], markersize=4,
                alpha=0.3 if shown is not None and word not in shown else 1.0)
    if marked is not None:
        word, near = marked
        i = words.index(word)
        for other in near:
            j = words.index(other)
            ax.plot([xy[i][0], xy[j][0]], [xy[i][1], xy[j][1]], color="black", linewidth=0.8)
        ax.plot(*xy[i], "o", color="black", markersize=7, fillstyle="none")
        ax.annotate(word, xy[i], xytext=(5, 4), textcoords="offset points", fontsize=9,
                    fontweight="bold", color=GROUP_COLOURS[word_group(word)])
    else:
        grouped = clusters(points, words)
        centres = {g: points[rows].mean(0) for g, rows in grouped.items()}
        span = (points.max(0).values - points.min(0).values).max().item()
        for group, rows in grouped.items():
            others = [c for g, c in centres.items() if g != group] or [points.mean(0)]
            nearest = min(others, key=lambda c: (c - centres[group]).norm().item())
            up = nearest[1].item() < centres[group][1].item()  # label away from the neighbour
            edge = points[rows, 1].max() if up else points[rows, 1].min()
            ax.text(centres[group][0].item(), edge.item() + (0.04 if up else -0.04) * span,
                    f"{group}: {len(rows)} words", ha="center", va="bottom" if up else "top",
                    color=GROUP_COLOURS[group], fontsize=8, fontweight="bold")
        in_cluster = {words[r] for rows in grouped.values() for r in rows}
        for word, (x, y) in zip(words, xy, strict=True):
            if word not in in_cluster:
                ax.annotate(word, (x, y), xytext=(3, 2), textcoords="offset points",
                            fontsize=7, color=GROUP_COLOURS[word_group(word)])
    ax.set_title(title, fontsize="medium")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.margins(0.12)


def _group_legend(fig: Figure) -> None:
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=c, label=g)
               for g, c in GROUP_COLOURS.items()]
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), fontsize="small",
               frameon=False)


def trained_embeddings(translator=None) -> Figure:
    """The translator's English embedding table on its two main directions, before and after
    training."""
    translator = translator or pretrained.load("numbers")
    tables = number_tables(translator)
    words = list(translator.tgt_vocab.itos)
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.8))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.1, wspace=0.08)
    for ax, name in zip(axes, ("random", "trained"), strict=True):
        points, share = project_2d(tables[name])
        when = "before training (random)" if name == "random" else "after training"
        _scatter_words(ax, points, words, f"{when}: {share:.0%} of the spread shown")
    fig.suptitle(f"The number translator's {len(words)} English word vectors "
                 f"({tables['trained'].size(1)} numbers each), projected to 2-D")
    _group_legend(fig)
    return fig


def draw_number_embeddings(tables: dict[str, torch.Tensor], words: list[str],
                           table: str = "trained", word: str = "twenty", k: int = 4) -> Figure:
    """One table in 2-D with `word` and its `k` nearest neighbours (cosine in all D numbers)
    marked, and their cosines beside it."""
    if table not in tables:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(tables)}")
    if word not in words:
        raise ValueError(f"{word!r} is not in the vocabulary; pick one of {words}")
    weights = tables[table]
    index = words.index(word)
    ids, sims = nearest_neighbours(weights, index, k)
    near = [words[i] for i in ids.tolist()]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 4.4), width_ratios=[3, 1])
    fig.subplots_adjust(left=0.02, right=0.97, top=0.9, bottom=0.14, wspace=0.45)
    points, _ = project_2d(weights)
    _scatter_words(left, points, words, f"{table} table, 2-D view: {word!r} and its "
                   f"{k} nearest", marked=(word, near))
    heatmap(sims.unsqueeze(1), near, ["cosine"], ax=right, vmin=-1.0, vmax=1.0,
            cmap="RdBu_r", fmt=".2f", cbar=False, title=f"nearest to {word!r}")
    right.tick_params(axis="x", labelrotation=0)
    _group_legend(fig)
    return fig


# --- Chapter 2 ---

def pe_heatmap() -> Figure:
    """The sinusoidal table for 100 positions and d_model = 128."""
    ax = heatmap(sinusoidal_table(100, 128), cmap="RdBu_r", vmin=-1.0, vmax=1.0,
                 figsize=(7.0, 4.5),
                 title="PE[p, i]: sin on even i, cos on odd i",
                 xlabel="dimension i", ylabel="position p")
    ax.set_xticks(range(0, 128, 16), range(0, 128, 16))
    ax.set_yticks(range(0, 100, 10), range(0, 100, 10))
    return ax.figure


def pe_similarity() -> Figure:
    """PE(p)·PE(q) as a heatmap, and PE(p)·PE(p + k) against the offset k, negative k too."""
    pe = sinusoidal_table(50, 512)  # (L, D)
    fig, (left, right) = grid(2, cols=2, size=4.2)
    heatmap(pe @ pe.T, ax=left, cmap="viridis", title="PE(p)·PE(q)",
            xlabel="position q", ylabel="position p")
    left.set_xticks(range(0, 50, 10), range(0, 50, 10))
    left.set_yticks(range(0, 50, 10), range(0, 50, 10))
    offsets, dots = symmetric_offsets(512, p=60, reach=60)
    curves(offsets, {"PE(60)·PE(60 + k)": dots}, ax=right,
           title="PE(60)·PE(60 + k): the same at +k and -k",
           xlabel="offset k (negative: before)",
           ylabel="dot product")
    right.axvline(0, color="grey", linewidth=0.8)
    return fig


def pe_rotation(pair: int = 24, offset: int = 2, positions: int = 10,
                d_model: int = 512) -> Figure:
    """One sin/cos pair of PE(p) on the unit circle, and shift_matrix(offset) applied to it."""
    n = positions + offset
    pe = sinusoidal_table(n, d_model)  # (n, D)
    moved = pe[:positions] @ shift_matrix(offset, d_model).T  # (P, D): M @ PE(p) for each p
    cols = slice(2 * pair, 2 * pair + 2)
    turn = torch.linspace(0, 2 * np.pi, 200)
    ax = curves(torch.sin(turn), {"unit circle": torch.cos(turn)}, figsize=(5.2, 5.2),
                title=f"dimensions {2 * pair} and {2 * pair + 1}: "
                f"M_{offset} @ PE(p) = PE(p + {offset})",
                xlabel=f"PE[p, {2 * pair}] (sin)", ylabel=f"PE[p, {2 * pair + 1}] (cos)")
    ax.get_lines()[0].set(color="lightgrey", linestyle="--", linewidth=1)
    ax.plot(*pe[:, cols].T, "o", color="tab:blue", label=f"PE(p), p = 0..{n - 1}")
    ax.plot(*moved[:, cols].T, "x", color="tab:orange", markersize=11, markeredgewidth=2,
            label=f"M_{offset} @ PE(p), p = 0..{positions - 1}")
    ax.annotate("", pe[offset, cols].tolist(), pe[0, cols].tolist(),
                arrowprops={"arrowstyle": "->", "color": "tab:orange",
                            "connectionstyle": "arc3,rad=-0.3"})
    for p in range(n):
        ax.annotate(str(p), pe[p, cols].tolist(), textcoords="offset points", xytext=(6, 4),
                    fontsize="small")
    ax.set_aspect("equal")
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.25, 1.25)
    ax.legend(fontsize="small", loc="center")
    return ax.figure


def draw_positional(position: int, dims: tuple[int, int], max_len: int = 100,
                    d_model: int = 512, curves_shown: int = 4) -> Figure:
    """Curves of a few dimensions of PE over positions, and the heatmap of the chosen dimensions."""
    lo, hi = dims
    if not 0 <= lo < hi <= d_model or not 0 <= position < max_len:
        raise ValueError(f"need 0 <= position < {max_len} and 0 <= lo < hi <= {d_model}, "
                         f"got position={position}, dims={dims}")
    pe = sinusoidal_table(max_len, d_model)  # (L, D)
    step = max(curves_shown - 1, 1)
    shown = sorted({lo + (hi - 1 - lo) * i // step for i in range(curves_shown)})  # spread out
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    fixed_margins(fig, ["+1.0"], wspace=0.2)  # numbers on the axes: short labels
    curves(range(max_len), {f"dim {d}": pe[:, d] for d in shown}, ax=left,
           title=f"PE[p, i] at p = {position}: "
                 + ", ".join(f"{pe[position, d].item():+.2f}" for d in shown),
           xlabel="position p", ylabel="value")
    left.axvline(position, color="black", linestyle="--", linewidth=1)
    left.set_ylim(-1.1, 1.6)
    left.legend(fontsize="small", ncols=len(shown), loc="upper center")  # above the curves
    heatmap(pe[:, lo:hi], ax=right, cmap="RdBu_r", vmin=-1.0, vmax=1.0, annot=False, cbar=False,
            ticks=False, title=f"dimensions {lo} to {hi - 1} (red +1, blue -1)",
            xlabel="dimension i",
            ylabel="position p")
    right.axhline(position + 0.5, color="black", linewidth=1.5)
    right.set_yticks(range(0, max_len, 10), range(0, max_len, 10))
    xt = range(0, hi - lo, max((hi - lo) // 8, 1))
    right.set_xticks([x + 0.5 for x in xt], [str(lo + x) for x in xt])
    return fig


def draw_positions_switch(translator, number: int, lang: str = "ja",
                          positions: bool = True) -> Figure:
    """The trained translator's cross-attention, with the encoder's positions on or off."""
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"pick a whole number from 0 to {MAX_NUMBER:,}, got {number:,}")
    text = number_words(number, lang)
    switch = contextlib.nullcontext() if positions else source_positions_off(translator.model)
    with switch:
        maps = translator.attention(text)
    state = "on" if positions else "OFF"
    return draw_attention(maps, "cross", -1, "mean", numbers=False,
                          title=f"{text} -> {maps.translation}\nsource positions {state}")


# --- Chapter 3 ---

def attention_she() -> Figure:
    """The hand-made attention weights of "She gave him her book"."""
    tokens, q, k, v = she_gave_him_her_book()
    _, weights = attention(q, k, v)  # (S, S)
    ax = heatmap(weights, tokens, tokens, title="softmax(QK^T / sqrt(d_k))",
                 xlabel="key (looked at)", ylabel="query (asking)", vmin=0.0, vmax=1.0)
    return ax.figure


def softmax_saturation() -> Figure:
    """The score's variance and the largest softmax weight against d_k, scaled or not."""
    d_ks = [1, 4, 16, 64, 256, 1024]
    stats = dot_product_stats(d_ks)
    fig, (left, right) = grid(2, cols=2, size=4.2)
    curves(d_ks, {k: stats[k] for k in ("var(q·k)", "var(q·k / sqrt(d_k))")}, ax=left,
           logy=True, marker="o", title="Variance of the score", xlabel="d_k",
           ylabel="variance (log scale)")
    curves(d_ks, {k: stats[k] for k in ("max weight, q·k", "max weight, q·k / sqrt(d_k)")},
           ax=right, marker="o", title="Largest softmax weight (10 keys)", xlabel="d_k",
           ylabel="mean largest weight")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
    right.set_ylim(0, 1.05)
    return fig


def draw_attention_query(tokens, query, key, value, word: str, temperature: float = 1.0,
                         features=None) -> Figure:
    """One query's attention weights at a temperature, and its output next to the values."""
    if word not in tokens:
        raise ValueError(f"{word!r} is not in the sentence; pick one of {list(tokens)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    i = list(tokens).index(word)
    # Dividing the query by T divides every score by T: softmax(q·k / (sqrt(d_k) T)).
    out, weights = attention(query[i:i + 1] / temperature, key, value)  # (1, d_v), (1, S)
    rows = [f"v({t})" for t in tokens] + [f"output of {word!r}"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 5.0), height_ratios=[1, 3])
    fixed_margins(fig, rows, hspace=0.75)
    heatmap(weights, [word], list(tokens), ax=top, vmin=0.0, vmax=1.0, fmt=".2f", cbar=False,
            title=f"weights of {word!r} at temperature {temperature:.2f}", xlabel="key")
    heatmap(torch.cat([value, out]), rows, features, ax=bottom, cmap="Blues", fmt=".2f", cbar=False,
            title="values, and their mix weighted as above", xlabel="value dimension")
    bottom.axhline(len(tokens), color="black", linewidth=2)
    for ax in (top, bottom):
        ax.tick_params(axis="x", labelrotation=0)
    return fig


# --- Chapter 4 ---

def heads_figure() -> Figure:
    """Every head of an untrained multi-head attention on five words."""
    return draw_attention(AttentionMaps.of_heads(untrained_heads(), HEADS_SENTENCE), "self",
                          numbers=True)


# --- Chapter 5 ---

MASK_SOURCE = ["I", "sleep", "<pad>", "<pad>"]


MASK_TARGET = ["<s>", "ich", "schlafe", "</s>", "<pad>"]


def masks_figure(source: list[str] = MASK_SOURCE, target: list[str] = MASK_TARGET,
                 pad: str = "<pad>") -> Figure:
    """Source (padding), causal and combined target masks for one sentence pair."""
    def ids(tokens):  # pad -> 0, any other word -> 1: all a mask needs to know
        return torch.tensor([[0 if t == pad else 1 for t in tokens]])

    S, T = len(source), len(target)
    panels = [
        (padding_mask(ids(source), 0)[0].expand(S, S), source,
         "source mask: padding (B, 1, S)"),
        (subsequent_mask(T)[0], target, "causal mask (1, T, T)"),
        (make_std_mask(ids(target), 0)[0], target, "target mask: both (B, T, T)"),
    ]
    fig, axes = grid(3, cols=3, size=3.6)
    for ax, (mask, tokens, title) in zip(axes, panels, strict=True):
        heatmap(mask.int(), tokens, tokens, ax=ax, cmap="Blues", vmin=-0.5, vmax=1.5,
                fmt=".0f", cbar=False, title=title, xlabel="key", ylabel="query")
    return fig


def masked_softmax_figure(tokens: list[str] = MASK_SOURCE, pad: str = "<pad>",
                          seed: int = 0) -> Figure:
    """Attention weights of one padded sentence, computed without and with its padding mask."""
    S = len(tokens)
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, S, 8, generator=g)  # stand-in queries and keys, (S, 8) each
    keep = torch.tensor([t != pad for t in tokens]).expand(S, S)  # (S, S)
    fig, axes = grid(2, cols=2, size=3.8)
    for ax, mask, title in zip(axes, (None, keep), ("without the mask", "with the mask"),
                               strict=True):
        _, weights = attention(q, k, k, mask=mask)  # (S, S)
        heatmap(weights, tokens, tokens, ax=ax, vmin=0.0, vmax=1.0, cbar=False, title=title,
                xlabel="key", ylabel="query")
    return fig


MASK_SENTENCES = (["the", "cat", "drinks", "milk", "every", "morning"],
                  ["I", "sleep", "late", "on", "long", "Sundays"])


PAD = "<pad>"


def pad_tokens(sentences, extra: int = 0, pad: str = PAD) -> list[list[str]]:
    """Pad token lists to the longest one plus `extra` pads, so they stack into one batch."""
    S = max(len(s) for s in sentences) + extra
    return [list(s) + [pad] * (S - len(s)) for s in sentences]


def draw_masking(len_a: int = 4, len_b: int = 2, extra: int = 0, causal: bool = False,
                 seed: int = 0) -> Figure:
    """Two sentences padded into one batch: the padding mask, sentence 2's mask, its weights."""
    for name, n in (("len_a", len_a), ("len_b", len_b)):
        if not 1 <= n <= len(MASK_SENTENCES[0]):
            raise ValueError(f"{name} must be 1 to {len(MASK_SENTENCES[0])} words, got {n}")
    if extra < 0:
        raise ValueError(f"extra padding must be 0 or more, got {extra}")
    batch = pad_tokens([MASK_SENTENCES[0][:len_a], MASK_SENTENCES[1][:len_b]], extra)
    real = torch.tensor([[t != PAD for t in s] for s in batch])  # (B, S): the padding mask
    S = real.shape[1]
    mask = real[1].expand(S, S)  # sentence 2: every query row hides the same pad keys
    if causal:
        mask = mask & subsequent_mask(S)[0]
    g = torch.Generator().manual_seed(seed)
    # Stand-in queries and keys, (S, 8) each. Each word keeps its vectors whatever the
    # padding: they are drawn for the longest sentence first, the pads' after them.
    words = torch.randn(2, len(MASK_SENTENCES[1]), 8, generator=g)[:, :len_b]
    pads = torch.randn(2, S - len_b, 8, generator=g)
    q, k = torch.cat([words, pads], dim=1)
    _, weights = attention(q, k, k, mask=mask)  # (S, S)

    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8),
                             gridspec_kw={"width_ratios": [1.1, 1, 1]})
    fixed_margins(fig, ["sentence 1"], batch[1], wspace=0.35)
    heatmap(real.int(), ["sentence 1", "sentence 2"], [str(i) for i in range(S)], ax=axes[0],
            cmap="Blues", vmin=-0.5, vmax=1.5, annot=False, cbar=False, xlabel="position",
            title="padding mask (B, S)")
    for r, sentence in enumerate(batch):  # the words in their cells: pads stand out
        for c, word in enumerate(sentence):
            axes[0].text(c + 0.5, r + 0.5, word, ha="center", va="center", fontsize=8,
                         color="tab:red" if word == PAD else "white")
    what = "padding & causal" if causal else "padding"
    heatmap(mask.int(), batch[1], batch[1], ax=axes[1], cmap="Blues", vmin=-0.5, vmax=1.5,
            annot=S <= 5, fmt=".0f", cbar=False, xlabel="key", ylabel="query",
            title=f"sentence 2: {what} mask")
    heatmap(weights, batch[1], batch[1], ax=axes[2], vmin=0.0, vmax=1.0, xlabel="key",
            annot=S <= 5, title="masked attention weights")
    return fig


# --- Chapter 6 ---

def _box(ax, x: float, y: float, w: float, h: float, text: str, color: str,
         size: float = 9.0) -> None:
    """A rounded box centred at (x, y) with its label."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.08",
                                facecolor=color, edgecolor="0.25", linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str = "",
           color: str = "0.2") -> None:
    """An arrow from `start` to `end`, with the tensor shape written beside its middle."""
    ax.annotate("", xy=end, xytext=start,
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.4,
                            "shrinkA": 0, "shrinkB": 0})
    if label:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        ax.text(mx + 0.15, my, label, ha="left", va="center",
                fontsize=8.5, color="tab:red", family="monospace")


def architecture_figure() -> Figure:
    """Boxes and arrows: embeddings, encoder and decoder stacks, generator, with shapes."""
    fig, ax = plt.subplots(figsize=(9.0, 7.6), layout="constrained")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 12.2)
    ax.axis("off")
    enc, dec = 2.6, 7.4  # the two columns
    emb, sub = "#cfe3f6", "#fde3c4"

    for x, ids, shape, mask in ((enc, "source ids  'I sleep <pad>'", "(B, S)",
                                 "src_mask (B, 1, S)"),
                                (dec, "target ids  '<s> ich schlafe'", "(B, T)",
                                 "tgt_mask (B, T, T)")):
        _box(ax, x, 0.6, 3.2, 0.6, ids, "white")
        _box(ax, x, 2.2, 3.4, 0.8, "Embeddings x √D\n+ positional encoding", emb)
        _arrow(ax, (x, 0.9), (x, 1.75), shape)
        _arrow(ax, (x, 2.65), (x, 3.7), shape[:-1] + ", D)")
        ax.text(x - 0.15, 3.1, mask, ha="right", va="center", fontsize=8, color="0.35")

    # Encoder: N x [self-attention, feed-forward], each as x + sublayer(LayerNorm(x)):
    # the default pre-norm model, with one more LayerNorm on top of each stack.
    ax.add_patch(plt.Rectangle((enc - 2.0, 3.45), 4.0, 2.75, fill=False, ls="--", lw=1.2))
    ax.text(enc + 1.95, 6.24, "Encoder layer  x N = 6", fontsize=9, va="bottom", ha="right",
            weight="bold")
    _box(ax, enc, 4.1, 3.2, 0.7, "LayerNorm -> self-attention\n(8 heads) -> + residual", sub)
    _box(ax, enc, 5.3, 3.2, 0.7, "LayerNorm -> feed-forward\nD -> d_ff = 4D -> D -> + residual",
         sub, size=8.5)
    _arrow(ax, (enc, 4.5), (enc, 4.9), "(B, S, D)")
    _arrow(ax, (enc, 5.7), (enc, 6.5))
    _box(ax, enc, 6.75, 2.6, 0.45, "final LayerNorm", sub, size=8.5)
    _arrow(ax, (enc, 7.0), (enc, 7.42), "(B, S, D)")
    _box(ax, enc, 7.7, 2.6, 0.5, "memory", "#d9f2d9")

    # Decoder: N x [masked self-attention, cross-attention, feed-forward].
    ax.add_patch(plt.Rectangle((dec - 2.0, 3.45), 4.0, 4.35, fill=False, ls="--", lw=1.2))
    ax.text(dec + 1.95, 7.84, "Decoder layer  x N = 6", fontsize=9, va="bottom", ha="right",
            weight="bold")
    _box(ax, dec, 4.1, 3.2, 0.7, "LayerNorm -> masked\nself-attention -> + residual", sub)
    _box(ax, dec, 5.45, 3.2, 0.9, "LayerNorm -> cross-attention:\nQ from here, K, V from "
         "memory\n-> + residual", sub)
    _box(ax, dec, 6.85, 3.2, 0.6, "LayerNorm -> feed-forward\n-> + residual", sub, size=8.5)
    for y0, y1 in ((4.5, 4.95), (5.95, 6.5)):  # shapes on the left: the + sits on the right
        _arrow(ax, (dec, y0), (dec, y1))
        ax.text(dec - 0.2, (y0 + y1) / 2, "(B, T, D)", ha="right", va="center", fontsize=8.5,
                color="tab:red", family="monospace")
    # The memory feeds every decoder layer's cross-attention, as its keys and values.
    ax.plot([enc + 1.38, 4.9, 4.9], [7.7, 7.7, 5.45], color="tab:green", lw=1.6)
    _arrow(ax, (4.9, 5.45), (dec - 1.68, 5.45), color="tab:green")
    ax.text(4.05, 7.85, "memory (B, S, D)\nto every decoder layer\n(with src_mask)",
            fontsize=8.5, color="tab:green", family="monospace", ha="left", va="bottom")

    # The residual paths: each sublayer's input skips around it and is added to its output.
    for y_from, y_to in ((3.58, 4.7), (4.78, 5.95)):
        _residual_bypass(ax, enc, y_from, y_to, -1.85, size=8)
    for y_from, y_to in ((3.58, 4.72), (4.8, 6.24), (6.32, 7.55)):
        _residual_bypass(ax, dec, y_from, y_to, 1.85, size=8)
    ax.text(enc - 1.85, 3.3, "residual", ha="center", va="center", fontsize=8,
            color=RESIDUAL)

    _box(ax, dec, 8.45, 2.6, 0.45, "final LayerNorm", sub, size=8.5)
    _arrow(ax, (dec, 7.2), (dec, 8.2))
    _box(ax, dec, 9.75, 3.2, 0.8, "Generator\nlinear D -> V, log-softmax", "#e6dcf5")
    _arrow(ax, (dec, 8.7), (dec, 9.3), "(B, T, D)")
    _box(ax, dec, 11.3, 3.4, 0.6, "log-probabilities of the next word", "white")
    _arrow(ax, (dec, 10.2), (dec, 10.95), "(B, T, V)")
    return fig


RESIDUAL = "tab:blue"  # the colour of every residual path in chapter 6's diagrams


def _residual_bypass(ax, x: float, y_from: float, y_to: float, side: float,
                     label: str = "", size: float = 11.0) -> None:
    """A residual path: leaves the column at y_from, runs beside it, rejoins at y_to with +."""
    ax.plot([x, x + side, x + side], [y_from, y_from, y_to], color=RESIDUAL, lw=1.8)
    ax.annotate("", xy=(x, y_to), xytext=(x + side, y_to),
                arrowprops={"arrowstyle": "-|>", "color": RESIDUAL, "lw": 1.8,
                            "shrinkA": 0, "shrinkB": 7})
    ax.text(x, y_to, "+", ha="center", va="center", fontsize=size, weight="bold",
            color=RESIDUAL, bbox={"boxstyle": "circle,pad=0.1", "fc": "white",
                                  "ec": RESIDUAL, "lw": 1.4})
    if label:
        ax.text(x + side + (0.1 if side > 0 else -0.1), (y_from + y_to) / 2, label,
                ha="left" if side > 0 else "right", va="center", fontsize=8.5,
                color=RESIDUAL, rotation=90)


def _residual_block(ax, x: float, y: float, inside: list[tuple[str, str]],
                    after: list[tuple[str, str]] = (), side: float = -1.5) -> float:
    """Boxes `inside` the residual (stacked from y up), the +, then boxes `after` it.

    Each box is (text, colour). Returns the y where the block's output leaves.
    """
    step, w, h = 1.0, 2.4, 0.55
    start = y
    for text, color in inside:
        _arrow(ax, (x, y), (x, y + step - h / 2 - 0.08))
        y += step
        _box(ax, x, y, w, h, text, color)
        y += h / 2 + 0.08
    _arrow(ax, (x, y), (x, y + 0.5))
    y += 0.5
    _residual_bypass(ax, x, start + 0.25, y, side, "residual: x")
    for text, color in after:
        _arrow(ax, (x, y), (x, y + step - h / 2 - 0.08))
        y += step
        _box(ax, x, y, w, h, text, color)
        y += h / 2 + 0.08
    return y


NORM_COLOR, ATTN_COLOR, FFN_COLOR = "#fff2b3", "#fde3c4", "#d9f2d9"


def layers_residual_figure() -> Figure:
    """An encoder layer and a decoder layer (pre-norm), each sublayer with its residual path."""
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 7.4), layout="constrained")
    layers = {
        "encoder layer": [("self-attention", ATTN_COLOR), ("feed-forward", FFN_COLOR)],
        "decoder layer": [("masked self-attention", ATTN_COLOR),
                          ("cross-attention\n(K, V from memory)", ATTN_COLOR),
                          ("feed-forward", FFN_COLOR)],
    }
    for ax, (name, sublayers) in zip(axes, layers.items(), strict=True):
        ax.set_xlim(0, 5)
        ax.set_ylim(-0.4, 11.6)
        ax.axis("off")
        ax.set_title(f"{name} (pre-norm)", fontsize=11, weight="bold")
        x, y = 2.9, 0.2
        stream = "(B, S, D)" if name.startswith("encoder") else "(B, T, D)"
        ax.text(x, y - 0.25, f"x {stream}", ha="center", va="center", fontsize=9,
                family="monospace")
        for sublayer, color in sublayers:
            y = _residual_block(ax, x, y, [("LayerNorm", NORM_COLOR), (sublayer, color)])
        _arrow(ax, (x, y), (x, y + 0.5))
        ax.text(x, y + 0.75, f"out {stream}: same width", ha="center", va="center",
                fontsize=9, family="monospace")
    return fig


def pre_post_norm_figure() -> Figure:
    """One sublayer connection both ways: pre-norm (the article's code), post-norm (the paper)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 5.0), layout="constrained")
    orders = {
        "pre-norm (the article's code)\nx + Sublayer(LayerNorm(x))":
            ([("LayerNorm", NORM_COLOR), ("Sublayer", ATTN_COLOR)], []),
        "post-norm (the paper)\nLayerNorm(x + Sublayer(x))":
            ([("Sublayer", ATTN_COLOR)], [("LayerNorm", NORM_COLOR)]),
    }
    for ax, (title, (inside, after)) in zip(axes, orders.items(), strict=True):
        ax.set_xlim(0, 4.5)
        ax.set_ylim(-0.5, 5.2)
        ax.axis("off")
        ax.set_title(title, fontsize=10.5)
        x = 2.6
        ax.text(x, -0.1, "x (from the layer below)", ha="center", va="center", fontsize=9)
        y = _residual_block(ax, x, 0.15, inside, after)
        _arrow(ax, (x, y), (x, y + 0.45))
        ax.text(x, y + 0.65, "to the next sublayer", ha="center", va="center", fontsize=9)
    return fig


def grad_norms_figure(norms: dict[str, dict[str, list[float]]] | None = None) -> Figure:
    """Pre-norm vs post-norm gradient norms per layer, encoder and decoder side by side."""
    if norms is None:
        norms = {n: layer_gradient_norms(n) for n in ("pre", "post")}
    fig, axes = grid(2, cols=2, size=4.2)
    for ax, part in zip(axes, ("encoder", "decoder"), strict=True):
        ys = {f"{n}-norm": norms[n][part] for n in ("pre", "post")}
        layers = range(1, len(ys["pre-norm"]) + 1)
        curves(layers, ys, ax=ax, logy=True, marker=".", title=f"{part} layers",
               xlabel="layer (1 = nearest the input)", ylabel="gradient norm")
    return fig


# --- Chapter 7 ---

SCHEDULES = [(512, 4000, 1.0), (512, 8000, 1.0), (256, 4000, 1.0)]  # (d_model, warmup, factor)


def label_smoothing_figure(smoothing: float = 0.1,
                           epsilons: tuple[float, ...] = (0.0, 0.1, 0.3)) -> Figure:
    """The smoothed target distribution as a heatmap, and the loss against p for a few epsilons."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.2), layout="constrained",
                                      gridspec_kw={"width_ratios": [1, 1.2]})
    q = smoothed_targets(SMOOTHING_TARGET, len(SMOOTHING_TOKENS), 0, smoothing)  # (N, V)
    rows = [f"target {SMOOTHING_TOKENS[t]}" for t in SMOOTHING_TARGET]
    heatmap(q, rows, SMOOTHING_TOKENS, ax=left, vmin=0.0, vmax=1.0, fmt=".3f", cmap="Blues",
            title=f"smoothed targets, epsilon = {smoothing:g}", xlabel="vocabulary",
            ylabel="position")
    p = np.linspace(0.02, 0.999, 300)
    losses = {f"epsilon = {e:g}": smoothing_penalty(p, e) for e in epsilons}
    curves(p, losses, ax=right, title="loss of one position (KL divergence)",
           xlabel="probability p given to the right token", ylabel="loss")
    for y, line in zip(losses.values(), right.get_lines(), strict=True):
        i = int(np.argmin(y))
        right.plot(p[i], y[i], "o", color=line.get_color())
    right.set_ylim(0, 3)
    return fig


def schedule_figure() -> Figure:
    """The paper's learning rate for a few (d_model, warmup) settings."""
    ax = curves(range(1, 20_001), schedule_curves(SCHEDULES), figsize=(7.0, 4.0),
                title="lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)",
                xlabel="optimizer step", ylabel="learning rate")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    return ax.figure


def draw_schedule(d_model: int = 512, warmup: int = 4000, factor: float = 1.0,
                  steps: int = 20_000) -> Figure:
    """The warm-up learning-rate curve for these settings, next to the paper's base model's."""
    if d_model <= 0 or warmup <= 0 or factor <= 0 or steps <= 1:
        raise ValueError(f"d_model, warmup and factor must be positive and steps above 1, "
                         f"got {d_model}, {warmup}, {factor}, {steps}")
    chosen = (d_model, warmup, factor)
    # The paper's curve first, as a grey reference; the chosen one drawn over it.
    settings = [chosen] if chosen == PAPER_SCHEDULE else [PAPER_SCHEDULE, chosen]
    x = schedule_steps(steps, [w for _, w, _ in settings])
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    fixed_margins(fig, ["1.0e-3"])  # the axis shows numbers
    peak = (f"peak {rate(warmup, d_model, factor, warmup):.2e} at step {warmup}"
            if warmup <= steps else f"still warming up: the peak comes at step {warmup}")
    curves(x, schedule_curves(settings, at=x), ax=ax, xlabel="optimizer step",
           ylabel="learning rate", title=peak)
    *reference, line = ax.get_lines()
    line.set(color="tab:blue", linewidth=2)
    for ref in reference:
        ref.set(color="0.6", linestyle="--", label=f"paper base: {ref.get_label()}")
    if reference:
        ax.legend(fontsize="small")
    ax.axvline(min(warmup, steps), color="tab:blue", linestyle=":", linewidth=1)
    ax.set_xlim(0, steps)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    return fig


def draw_history(history) -> Figure:
    """Training loss per step and validation loss (left), validation exact match (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.6),
                                      gridspec_kw={"width_ratios": [1.6, 1]})
    fixed_margins(fig, ["1.0"], title_lines=2, wspace=0.22)
    curves(history.step, {"training (label-smoothed)": history.loss}, ax=left, logy=True,
           xlabel="optimizer step", ylabel="loss per target token (log scale)")
    left.plot(history.valid_step, history.valid_loss, "o-", label="validation (cross-entropy)")
    left.legend(fontsize="small")
    curves(history.valid_step, {"exact match": history.valid_exact}, ax=right, marker="o",
           xlabel="optimizer step", ylabel="share of sequences exactly right")
    right.set_ylim(-0.03, 1.03)
    right.set_xlim(left.get_xlim())
    if history.valid_step:
        right.set_title(f"validation exact match: {history.valid_exact[-1]:.3f}")
        left.set_title(f"step {history.step[-1]}: training loss {history.loss[-1]:.3f}")
    return fig


# --- Chapter 8 ---

ALIGN_LAYER, ALIGN_HEAD = 1, 3


def numbers_cross_attention(number: int = 345_678, layer: int = ALIGN_LAYER,
                            head: int = ALIGN_HEAD, translator=None) -> Figure:
    """One cross-attention head of the numbers model, on `number` in German and in Japanese."""
    translator = translator or pretrained.load("numbers")
    views = [number_attention(translator, str(number), lang) for lang in ("de", "ja")]
    rows = views[0].labels("cross", arrows=True)[0]
    with with_kanji():  # axes made outside would pass their font on to the kanji ticks
        fig, axes = plt.subplots(1, 2, figsize=(10.5, 5.0))
        fixed_margins(fig, rows, views[0].source, title_lines=2, right=0.6, wspace=0.45)
        for ax, view in zip(axes, views, strict=True):
            draw_attention(view, "cross", layer, head, arrows=True, ax=ax, title=view.text,
                           colorbar=ax is axes[-1])
    axes[0].set_ylabel("query: read → written")
    axes[1].set_ylabel("")
    fig.suptitle(f"cross-attention, layer {layer}, head {head}: {number:,} → "
                 f"{views[0].translation}", fontsize="medium")
    return fig


# --- Chapter 9 ---

def bucketing_figure(lengths: tuple[list[int], list[int], str] | None = None,
                     batch_size: int = 128) -> Figure:
    """Padding per batch: random batches against `bucket_batches`, as training makes them."""
    src, tgt, name = lengths if lengths is not None else corpus_lengths()
    key = [s + t for s, t in zip(src, tgt, strict=True)]  # what training's batches sort by
    random_batches = bucket_batches(key, batch_size, seed=0, pool=1)  # a pool of 1: no sorting
    bucketed = bucket_batches(key, batch_size, seed=0)
    ys = {}
    for label, batches in (("random batches", random_batches), ("bucketed", bucketed)):
        overall = pair_padding(src, tgt, batches)
        ys[f"{label}: {100 * overall:.1f}% padding overall"] = sorted(
            100 * pair_padding(src, tgt, [b]) for b in batches)
    ax = curves(range(len(random_batches)), ys, title=f"{name}: padding per batch of {batch_size}",
                xlabel="batch (sorted by padding)", ylabel="% of the batch that is <pad>",
                figsize=(6.5, 3.6))
    ax.set_ylim(0, 100)
    return ax.figure

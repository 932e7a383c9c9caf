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
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch, FancyBboxPatch, Rectangle

from .. import pretrained
from ..attention import attention
from ..attention_maps import AttentionMaps, describe_part
from ..data import EOS, bucket_batches
from ..embeddings import nearest_neighbours
from ..examples import FEATURES, line_loss, she_gave_him_her_book
from ..losses import smoothed_targets
from ..masks import make_std_mask, padding_mask, subsequent_mask
from ..model import ATTENTION_PARTS
from ..modern import ablation_results, cache_bytes_formula
from ..positional import shift_matrix, sinusoidal_table
from ..tasks import MAX_NUMBER, number_words
from ..training import rate
from .measure import (
    NUMBER_GROUPS,
    PAPER_SCHEDULE,
    QKV_SENTENCE,
    SMOOTHING_TARGET,
    SMOOTHING_TOKENS,
    attention_cost,
    attention_steps,
    beam_tree,
    best_line,
    cache_growth,
    corpus_lengths,
    descent_path,
    dot_product_stats,
    embedding_scales,
    ffn_parameters,
    forced_attention,
    layer_gradient_norms,
    loss_surface,
    norm_outputs,
    number_attention,
    number_tables,
    pair_frequency,
    pair_padding,
    project_2d,
    qkv_example,
    relative_scores,
    rope_track,
    schedule_curves,
    schedule_steps,
    smoothing_penalty,
    source_positions_off,
    symmetric_offsets,
    time_attention_cost,
    untrained_twin,
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


def layer_name(layer: int, L: int) -> str:
    """'layer 1 (last of 2)': counted from 0 as the tensors are, with its place said in words."""
    if L == 1:
        return ""
    place = "first" if layer == 0 else "last" if layer == L - 1 else f"{layer + 1}th"
    return f"layer {layer} ({place} of {L})"


def heading(maps: AttentionMaps) -> list[str]:
    """What was translated and how well: the title lines a translation's pictures share."""
    lines = [maps.text] if maps.text else []
    if maps.translation is not None:
        mark = {True: "\u00a0✓", False: "\u00a0✗", None: ""}[maps.correct]  # kept on its line
        lines.append(f"→ {maps.translation}{mark}")
        if maps.correct is False:
            lines.append(f"right: {maps.reference}")
    # Never break inside "seventy-eight": a number word stays on one line.
    return [wrapped for line in lines
            for wrapped in textwrap.wrap(line, 70, break_on_hyphens=False)]


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
    where = layer_name(layer, L)
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


def _descent_axes() -> tuple[Figure, tuple[Axes, Axes]]:
    """A figure for descent pictures: the loss's contour lines on the left (darker = higher),
    an empty panel on the right for the loss per step."""
    (w0, w1), (b0, b1) = DESCENT_VIEW
    W, B, loss = loss_surface((w0, w1), (b0, b1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 4.0),
                                      gridspec_kw={"width_ratios": [1.15, 1]})
    fixed_margins(fig, ["1e+00"], title_lines=1, wspace=0.25)
    levels = np.geomspace(0.05, loss.max().item(), 12)
    left.contourf(W.numpy(), B.numpy(), loss.numpy(), levels=levels, cmap="Blues", alpha=0.4)
    left.contour(W.numpy(), B.numpy(), loss.numpy(), levels=levels, colors="0.55",
                 linewidths=0.8)
    left.set(xlim=(w0, w1), ylim=(b0, b1), xlabel="w (slope)", ylabel="b (intercept)")
    left.plot(*best_line(), "*", color="black", markersize=13, label="lowest loss")
    return fig, (left, right)


def draw_descent(lr: float = 0.1, steps: int = 30) -> Figure:
    """Gradient descent on the line problem: the path over the loss (left), the loss per step."""
    path = descent_path(lr, steps)
    fig, (left, right) = _descent_axes()
    left.plot(path["w"], path["b"], "o-", color="tab:red", markersize=3.5, linewidth=1.2,
              label="descent path")
    left.plot(path["w"][0], path["b"][0], "s", color="tab:red", markersize=7, label="start")
    left.legend(fontsize="small", loc="upper right")
    left.set_title(f"lr = {lr:g}: the path over the loss's contour lines", fontsize=10)
    taken = len(path["loss"]) - 1
    right.plot(range(taken + 1), path["loss"], "o-", markersize=3)
    right.axhline(line_loss(*best_line()).item(), color="black", linestyle="--", linewidth=1,
                  label="lowest possible loss")
    right.legend(fontsize="small", loc="upper right")
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


def draw_rates(rates: tuple[float, ...] = (0.05, 0.25), steps: int = 12) -> Figure:
    """Descent with several learning rates side by side: the paths (left), the losses (right)."""
    fig, (left, right) = _descent_axes()
    for lr, color in zip(rates, ("tab:green", "tab:red", "tab:purple", "tab:orange"),
                         strict=False):
        path = descent_path(lr, steps)
        left.plot(path["w"], path["b"], "o-", color=color, markersize=3, linewidth=1.1,
                  label=f"lr = {lr:g}")
        right.plot(range(len(path["loss"])), path["loss"], "o-", color=color, markersize=3,
                   label=f"lr = {lr:g}: {path['loss'][0]:.3g} -> {path['loss'][-1]:.3g}")
    left.legend(fontsize="small", loc="upper right")
    left.set_title("the paths over the loss's contour lines", fontsize=10)
    right.set_yscale("log")
    right.set(xlim=(0, max(steps, 1)), xlabel="step", ylabel="loss (log scale)")
    right.legend(fontsize="small", loc="upper left")
    right.grid(alpha=0.3)
    right.set_title(f"the loss over {steps} steps", fontsize=10)
    return fig


# --- Chapter 0 ---

DEMO_NUMBER = 354_782  # German puts the ones before the tens: vierundfünfzig = "fifty-four"


def draw_demo(translator, number: int, layer: int = -1, weights: str = "trained",
              untrained=None) -> Figure:
    """Translate `number` from German and draw the cross-attention, heads averaged. With
    weights="untrained", draw `untrained` (the same model before training) fed the right
    English instead, so its rows match the trained picture's."""
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"pick a whole number from 0 to {MAX_NUMBER:,}, got {number:,}")
    if weights == "untrained":
        maps = forced_attention(untrained or untrained_twin(translator), number)
        title = f"{number:,}, untrained: random weights, fed the right English"
        return draw_attention(maps, "cross", layer, "mean", title=title)
    maps = number_attention(translator, str(number), "de")
    verdict = "correct" if maps.correct else "WRONG"
    title = f"{number:,} -> '{maps.translation}' ({verdict})"  # draw_attention wraps it
    return draw_attention(maps, "cross", layer, "mean", title=title)


def demo_attention(translator=None) -> Figure:
    """Chapter 0's picture: the shipped translator reading DEMO_NUMBER in German."""
    return draw_demo(translator or pretrained.load("numbers"), DEMO_NUMBER)


# Bahdanau et al. translated English into French; their alignment figure has this phrase.
RNN_SOURCE = ["the", "European", "Economic", "Area"]
RNN_TARGET = ["la", "zone", "économique", "européenne"]
RNN_WEIGHTS = [0.05, 0.15, 0.7, 0.1]  # an illustration: writing 'économique' reads 'Economic'
ADDITIVE_SCORE = r"score$(s, h_j) = v^\top \tanh(W s + U h_j)$"


def _state_row(ax, xs, y: float, names: list[str], color: str, chained: bool) -> None:
    """One box per state; `chained` draws the recurrence arrow from each state to the next."""
    for x, name in zip(xs, names, strict=True):
        _box(ax, x, y, 1.3, 0.7, name, color, size=10)
    if chained:
        for a, b in zip(xs, xs[1:], strict=False):
            _arrow(ax, (a + 0.75, y), (b - 0.75, y))


def rnn_vs_transformer() -> Figure:
    """Left: an RNN encoder read word by word, the decoder attending over all its states with
    Bahdanau's additive score. Right: the Transformer's layers read all positions at once."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 6.0), layout="constrained")
    xs = [1.4, 3.6, 5.8, 8.0]
    for ax in (left, right):
        ax.set_xlim(0, 9.6)
        ax.set_ylim(-0.2, 10.4)
        ax.axis("off")
        for x, word in zip(xs, RNN_SOURCE, strict=True):
            ax.text(x, 0.2, word, ha="center", va="center", fontsize=10, style="italic")
            _arrow(ax, (x, 0.5), (x, 1.3))
    enc, dec, att = "#cfe3f6", "#e6dcf5", "#fde3c4"

    # Left: the encoder RNN, one step per word, then attention over every state h_j.
    left.set_title("RNN with attention (Bahdanau et al., 2014):\nreads the source one word "
                   "per step", fontsize=11)
    _state_row(left, xs, 1.7, [f"$h_{j + 1}$" for j in range(4)], enc, chained=True)
    for j, x in enumerate(xs):
        left.text(x + 0.12, 0.9, f"step {j + 1}", ha="left", fontsize=8, color="0.35")
    node = (4.7, 4.6)
    _box(left, *node, 5.6, 1.3, ADDITIVE_SCORE + "\n" + r"weights $\alpha_j$ = softmax of "
         r"the scores" + "\n" + r"context = $\sum_j \alpha_j h_j$", att, size=9.5)
    for x, a in zip(xs, RNN_WEIGHTS, strict=True):
        left.plot([x, node[0]], [2.05, node[1] - 0.75], color="tab:orange", lw=0.8 + 8 * a,
                  alpha=0.8, solid_capstyle="round")
        side = -1 if x < node[0] else 1  # the label away from the line
        left.text(x + 0.68 * side, 2.25, f"{a:.2f}", fontsize=8, color="tab:orange",
                  ha="left" if side < 0 else "right")
    _state_row(left, xs, 7.2, [f"$s_{t + 1}$" for t in range(4)], dec, chained=True)
    _arrow(left, (node[0] + 1.4, node[1] + 0.75), (xs[2], 6.8), color="tab:orange")
    left.annotate("", xy=(node[0] - 1.4, node[1] + 0.75), xytext=(xs[1], 6.8),
                  arrowprops={"arrowstyle": "-|>", "color": "0.4", "ls": "--", "lw": 1.1})
    left.text(1.0, 6.0, "s: the decoder's\nstate so far", fontsize=8, color="0.35",
              ha="center")
    for x, word in zip(xs, RNN_TARGET, strict=True):
        _arrow(left, (x, 7.6), (x, 8.4))
        left.text(x, 8.7, word, ha="center", va="center", fontsize=10, style="italic")
    left.text(4.7, 9.7, "decoder RNN: one French word per step", ha="center", fontsize=9)

    # Right: every layer connects every position to every other, all at once.
    right.set_title("Transformer (Vaswani et al., 2017):\nreads all positions at once",
                    fontsize=11)
    _state_row(right, xs, 1.7, [f"$x_{j + 1}$" for j in range(4)], enc, chained=False)
    for bottom, top, name in ((2.05, 3.95, "layer 1"), (4.65, 6.55, "layer N")):
        for a in xs:
            for b in xs:
                right.plot([a, b], [bottom, top], color="tab:blue", lw=0.7, alpha=0.45)
        names = [f"$m_{j + 1}$" for j in range(4)] if name == "layer N" else [""] * 4
        _state_row(right, xs, top + 0.35, names, enc, chained=False)
        right.text(9.45, (bottom + top) / 2, f"{name}:\nself-\nattention", fontsize=8,
                   ha="right", va="center", color="tab:blue")
    for x in xs:
        _arrow(right, (x, 7.25), (x, 8.05))
    _box(right, 4.7, 8.45, 7.2, 0.8, "decoder: cross-attention over all memory vectors $m_j$;\n"
         "still writes one French word per step", dec, size=9)
    right.text(4.7, 9.7, "N steps in a row (one per layer), whatever the length S",
               ha="center", fontsize=9)
    return fig


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


LABEL_SPOTS = ((3, 2, "left"), (3, -9, "left"), (-3, 2, "right"), (-3, -9, "right"),
               (3, 9, "left"), (3, -16, "left"), (-3, 9, "right"), (-3, -16, "right"))


def _label_apart(ax: Axes, labelled: list[tuple[str, list[float]]]) -> None:
    """Name each (word, point) beside its dot, at the first of LABEL_SPOTS (offsets in
    points) where the text overlaps no label placed before it."""
    ax.margins(0.12)
    ax.autoscale_view()  # fix the data-to-pixel transform before measuring the labels
    renderer = ax.figure.canvas.get_renderer()
    placed = []
    for word, (x, y) in labelled:
        for dx, dy, ha in LABEL_SPOTS:
            text = ax.annotate(word, (x, y), xytext=(dx, dy), textcoords="offset points",
                               ha=ha, fontsize=7, color=GROUP_COLOURS[word_group(word)])
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                break
            text.remove()
        else:  # every spot taken: keep the first
            text = ax.annotate(word, (x, y), xytext=LABEL_SPOTS[0][:2],
                               textcoords="offset points", fontsize=7,
                               color=GROUP_COLOURS[word_group(word)])
            box = text.get_window_extent(renderer)
        placed.append(box)


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
        _label_apart(ax, [(w, p) for w, p in zip(words, xy, strict=True) if w not in in_cluster])
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
                 title="PE[p, i], d_model = 128: sin on even i, cos on odd i",
                 xlabel="dimension i", ylabel="position p")
    ax.set_xticks(range(0, 128, 16), range(0, 128, 16))
    ax.set_yticks(range(0, 100, 10), range(0, 100, 10))
    return ax.figure


def pe_similarity() -> Figure:
    """PE(p)·PE(q) as a heatmap, and PE(p)·PE(p + Δ) against the offset Δ, negative Δ too."""
    pe = sinusoidal_table(50, 512)  # (L, D)
    fig, (left, right) = grid(2, cols=2, size=4.2)
    heatmap(pe @ pe.T, ax=left, cmap="viridis", title="PE(p)·PE(q)",
            xlabel="position q", ylabel="position p")
    left.set_xticks(range(0, 50, 10), range(0, 50, 10))
    left.set_yticks(range(0, 50, 10), range(0, 50, 10))
    offsets, dots = symmetric_offsets(512, p=60, reach=60)
    curves(offsets, {"PE(60)·PE(60 + Δ)": dots}, ax=right,
           title="PE(60)·PE(60 + Δ):\nthe same at +Δ and -Δ",
           xlabel="offset Δ (negative: before)",
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


QKV_COLOURS = {"q": "tab:purple", "k": "tab:orange", "v": "tab:green"}


def _matrix_panel(fig: Figure, rect_inches, data: torch.Tensor, title: str, rows=None,
                  colour: str = "black", limit: float = 2.5) -> Axes:
    """A matrix as coloured boxes with their numbers, at (left, bottom, w, h) in inches."""
    W, H = fig.get_size_inches()
    left, bottom, width, height = rect_inches
    ax = fig.add_axes((left / W, bottom / H, width / W, height / H))
    shown = (data * 10).round() / 10 + 0.0  # one decimal, and no "-0.0"
    heatmap(shown, rows, None, ax=ax, cmap="RdBu_r", vmin=-limit, vmax=limit, fmt=".1f",
            cbar=False, title=title)
    ax.set_xticks([])
    if rows is None:
        ax.set_yticks([])
    ax.title.set_color(colour)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(colour)
        spine.set_linewidth(2.5 if colour != "black" else 1.0)
    return ax


def qkv_projection() -> Figure:
    """x (S, d_model) times three matrices W_q, W_k, W_v gives Q, K, V (S, d_k)."""
    ex = qkv_example()
    S, D = ex["x"].shape
    d_k = ex["Q"].shape[1]
    c = 0.3  # inches per box
    band = D * c + 0.55  # one row of the figure: W (D x d_k) and its result
    width, height = 8.0, 3 * band + 0.4
    fig = plt.figure(figsize=(width, height))
    top = 3 * band
    x_ax = _matrix_panel(fig, (0.9, top / 2 - S * c / 2, D * c, S * c), ex["x"],
                         f"x: {S} words, d_model = {D}", QKV_SENTENCE)
    for r, name in enumerate("qkv"):
        colour = QKV_COLOURS[name]
        bottom = top - (r + 1) * band + 0.15
        w_ax = _matrix_panel(fig, (4.3, bottom, d_k * c, D * c), ex[f"W_{name}"],
                             f"W_{name} ({D}×{d_k})", colour=colour)
        out_ax = _matrix_panel(fig, (6.4, bottom + (D - S) * c / 2, d_k * c, S * c),
                               ex[name.upper()], f"{name.upper()} = x W_{name}", QKV_SENTENCE,
                               colour=colour)
        fig.add_artist(ConnectionPatch((1.0, 0.5), (0.0, 0.5), "axes fraction", "axes fraction",
                                       axesA=x_ax, axesB=w_ax, arrowstyle="-|>", color=colour,
                                       linewidth=2, mutation_scale=15))
        fig.text((4.3 + d_k * c + 0.2) / width, (bottom + D * c / 2) / height, "=",
                 ha="center", va="center", fontsize=18)
        _outline_row(out_ax, QKV_SENTENCE.index("him"), d_k, colour)
    _outline_row(x_ax, QKV_SENTENCE.index("him"), D, "black")  # the row the arrows follow
    fig.suptitle("Three learned matrices turn the same x into queries, keys and values",
                 y=1 - 0.12 / height, fontsize=11)
    fig.text(0.9 / width, (top / 2 - S * c / 2 - 0.5) / height, "colour: red positive, blue "
             "negative,\nwhite 0; full colour at ±2.5", fontsize=8, color="dimgrey", va="top")
    return fig


def _outline_row(ax: Axes, row: int, cols: int, colour: str) -> None:
    """Draw a thick frame around one row of a heatmap panel."""
    ax.add_patch(Rectangle((0, row), cols, 1, fill=False, edgecolor=colour, linewidth=3,
                           clip_on=False))


def attention_pipeline(word: str = "she") -> Figure:
    """One query's attention in five steps, on the hand-made "She gave him her book"."""
    tokens, q, k, v = she_gave_him_her_book()
    if word not in tokens:
        raise ValueError(f"{word!r} is not in the sentence; pick one of {tokens}")
    i = tokens.index(word)
    steps = attention_steps(q[i], k, v)
    d_k = q.shape[1]
    fig, ax = plt.subplots(figsize=(10.0, 4.8))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)
    ax.set_axis_off()
    blues = plt.get_cmap("Blues")
    greens = plt.get_cmap("Greens")

    def box(x, y, value, colour, width=1.0, fmt=".2f"):
        ax.add_patch(Rectangle((x, y), width, 0.9, facecolor=colour, edgecolor="grey"))
        ax.text(x + width / 2, y + 0.45, f"{value:{fmt}}", ha="center", va="center",
                fontsize=9)

    def vector(x, y, values, fmt=".2f"):
        for j, val in enumerate(values.tolist()):
            box(x + j, y, val, blues(min(abs(val), 2.0) / 2.0 * 0.7), fmt=fmt)

    cols = {"key": 0.0, "scores": 5.2, "scaled": 7.6, "weights": 10.0, "weighted": 12.6}
    heads = {"key": "key of each word (= its value)", "scores": "1. q·k", "scaled": f"2. ÷ √{d_k}",
             "weights": "3. softmax", "weighted": "4. weight × value"}
    vector(cols["key"], 2.2, q[i], fmt=".0f")
    for j, feature in enumerate(FEATURES):
        ax.text(cols["key"] + j + 0.3, 3.15, feature, ha="left", va="bottom", fontsize=8,
                rotation=25)
    ax.text(-0.3, 2.65, f"query of {word!r}", ha="right", va="center", fontsize=10,
            color=QKV_COLOURS["q"], fontweight="bold")
    for name, x in cols.items():
        ax.text(x + (2.0 if name in ("key", "weighted") else 0.6), 1.35, heads[name],
                ha="center", va="center", fontsize=10, fontweight="bold")
    for j, token in enumerate(tokens):
        y = -j * 1.1
        ax.text(-0.3, y + 0.45, token, ha="right", va="center", fontsize=10)
        vector(cols["key"], y, k[j], fmt=".0f")
        box(cols["scores"], y, steps["scores"][j].item(), "#fde0c5", width=1.2, fmt=".0f")
        box(cols["scaled"], y, steps["scaled"][j].item(), "#fde0c5", width=1.2)
        box(cols["weights"], y, steps["weights"][j].item(),
            greens(0.15 + 0.7 * steps["weights"][j].item()), width=1.2)
        vector(cols["weighted"], y, steps["weighted"][j])
        for a, b in (("key", "scores"), ("scores", "scaled"), ("scaled", "weights"),
                     ("weights", "weighted")):
            start = cols[a] + (4.0 if a == "key" else 1.2)
            ax.annotate("", (cols[b] - 0.1, y + 0.45), (start + 0.1, y + 0.45),
                        arrowprops={"arrowstyle": "->", "color": "grey"})
    y_sum = -len(tokens) * 1.1 - 0.5
    ax.plot([cols["weighted"], cols["weighted"] + 4], [y_sum + 1.15] * 2, color="black", lw=2)
    vector(cols["weighted"], y_sum, steps["output"])
    ax.text(cols["weighted"] - 0.3, y_sum + 0.45, f"5. sum = output of {word!r}", ha="right",
            va="center", fontsize=10, fontweight="bold")
    ax.set_xlim(-3.2, 17.0)
    ax.set_ylim(y_sum - 0.3, 4.4)
    ax.set_aspect("equal")
    ax.set_title(f"Attention for {word!r}, step by step (d_k = {d_k})", fontsize=11)
    return fig


def draw_training_switch(maps: dict[str, AttentionMaps], model: str = "trained",
                         head: int | str = "mean", part: str = "cross") -> Figure:
    """The same attention of the number translator, before or after training."""
    if model not in maps:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(maps)}")
    title = f"{model} model\n{maps['trained'].text}\n→ {maps['trained'].translation}"
    return draw_attention(maps[model], part, -1, head, title=title, numbers=True)


def trained_beside_untrained(maps: dict[str, AttentionMaps], head: int = 3,
                             layer: int = -1) -> Figure:
    """One cross-attention head of the number translator, untrained beside trained."""
    fig = None
    with with_kanji():
        fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.6))
        for ax, model in zip(axes, ("untrained", "trained"), strict=True):
            where = layer_name(layer % maps[model].cross.shape[0], maps[model].cross.shape[0])
            draw_attention(maps[model], "cross", layer, head, ax=ax, numbers=True,
                           title=f"{model}: {where}, head {head}")
        fig.suptitle(f"{maps['trained'].text} → {maps['trained'].translation}", fontsize=11)
        fig.tight_layout()
    return fig


# --- Chapter 4 ---

HEAD_COLORS = ["#4c9be8", "#f28e2b", "#59a14f", "#b07aa1"]  # one colour per head
MIXED_COLOR = "#8c8c8c"  # after W_o every number mixes every head


def _matrix(ax, x: float, y: float, rows: int, colors: list[str], cell: float = 0.22) -> None:
    """A rows x len(colors) grid of cells, top-left corner at (x, y); column j in colors[j]."""
    for r in range(rows):
        for c, color in enumerate(colors):
            ax.add_patch(plt.Rectangle((x + c * cell, y - (r + 1) * cell), cell, cell,
                                       facecolor=color, edgecolor="white", linewidth=0.8))


def heads_split_concat(S: int = 4, H: int = 4, d_k: int = 2) -> Figure:
    """Boxes for one sentence (B = 1): project, split into heads, attend, concatenate, W_o."""
    D, cell = H * d_k, 0.22
    fig, ax = plt.subplots(figsize=(13.5, 3.4))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.02)
    ax.set_xlim(0, 19.6)
    ax.set_ylim(-1.5, 1.6)
    ax.axis("off")
    split = [HEAD_COLORS[i // d_k] for i in range(D)]
    top, step = 0.45, 0.32  # the stacks: each head behind the previous one, up and right
    flat = {"x": 0.2, "Q": 3.7, "concat": 14.3, "out": 17.6}
    _matrix(ax, flat["x"], top, S, ["#d9d9d9"] * D)
    _matrix(ax, flat["Q"], top, S, split)
    for x0 in (7.2, 11.1):  # the heads as a stack of (S, d_k) matrices, head 0 in front
        for i in reversed(range(H)):
            _matrix(ax, x0 + step * i, top + step * i, S, [HEAD_COLORS[i]] * d_k)
    _matrix(ax, flat["concat"], top, S, split)
    _matrix(ax, flat["out"], top, S, [MIXED_COLOR] * D)
    below = top - S * cell - 0.2
    wide, narrow = D * cell / 2, (d_k * cell + step * (H - 1)) / 2
    labels = [(flat["x"] + wide, "x\n(B, S, D)"),
              (flat["Q"] + wide, "Q = W_q(x)\n(B, S, D)\nD = H slices of d_k"),
              (7.2 + narrow, "H heads\n(B, H, S, d_k)"),
              (11.1 + narrow, "each head's output\n(B, H, S, d_k)"),
              (flat["concat"] + wide, "heads side by side\n(B, S, D)"),
              (flat["out"] + wide, "W_o mixes the heads\n(B, S, D)")]
    for x, text in labels:
        ax.text(x, below, text, ha="center", va="top", fontsize=9, family="monospace")
    arrows = [(2.2, 3.5, "W_q (and\nW_k, W_v)"), (5.7, 7.0, ".view\n.transpose"),
              (8.85, 10.9, "attention per head\nsoftmax(QK^T/√d_k) V"),
              (12.75, 14.1, ".transpose\n.reshape"), (16.3, 17.4, "W_o")]
    mid = top - S * cell / 2
    for start, end, text in arrows:
        ax.annotate("", xy=(end, mid), xytext=(start, mid),
                    arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 1.4})
        ax.text((start + end) / 2, mid + 0.12, text, ha="center", va="bottom", fontsize=8.5,
                color="tab:red")
    ax.set_title(f"One sentence through multi-head attention: S = {S} words, D = {D}, "
                 f"H = {H} heads of d_k = {d_k} (the paper: D = 512, H = 8, d_k = 64)",
                 fontsize=10)
    return fig


COST_LENGTHS = [32, 64, 128, 256, 512, 1024]
COST_SIZES = {"d_model": 128, "h": 8, "d_ff": 512}


def draw_attention_cost(timings: dict[str, list[float]] | None = None,
                        lengths: list[int] = COST_LENGTHS) -> Figure:
    """Time (measured) and memory (exact) of self-attention and the feed-forward block vs S."""
    if timings is None:
        timings = time_attention_cost(lengths, **COST_SIZES)
    cost = attention_cost(lengths, **COST_SIZES)
    fig, (left, right) = grid(2, cols=2, size=4.4)
    sizes = ", ".join(f"{k} = {v}" for k, v in COST_SIZES.items())
    curves(lengths, timings, ax=left, marker="o", logy=True, xlabel="sequence length S",
           ylabel="milliseconds (log scale)", title=f"Time of one layer on this CPU\n{sizes}")
    curves(lengths, {"self-attention: weights (B, H, S, S)":
                     [b / 2**20 for b in cost["attention bytes"]],
                     "feed-forward: hidden layer (B, S, d_ff)":
                     [b / 2**20 for b in cost["feed-forward bytes"]]},
           ax=right, marker="o", logy=True, xlabel="sequence length S",
           ylabel="MiB, float32 (log scale)", title=f"Memory each layer keeps\n{sizes}")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.minorticks_off()
    return fig


def attention_cost_figure() -> Figure:
    """The registered figure: draw_attention_cost with a fresh measurement."""
    return draw_attention_cost()


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
         "source mask: padding (B, 1, S),\ncopied to every query"),
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
        heatmap(weights, tokens, tokens, ax=ax, vmin=0.0, vmax=1.0, cbar=mask is not None,
                title=title, xlabel="key", ylabel="query")  # one colour bar, right
    return fig


WHERE_MASKS_GO = {  # which mask each attention of the encoder-decoder receives
    "encoder self-attention": "src_mask",
    "cross-attention": "src_mask",
    "masked self-attention": "tgt_mask",
}


def where_masks_go_figure(source: list[str] = MASK_SOURCE,
                          target: list[str] = MASK_TARGET) -> Figure:
    """The encoder and decoder as boxes, with an arrow from each mask to each attention it enters.

    Each arrow is an annotation whose gid reads 'mask->attention'; the two small pictures are
    the masks themselves for `source` and `target` (drawn as in masks_figure).
    """
    def ids(tokens):  # pad -> 0, any other word -> 1
        return torch.tensor([[0 if t == "<pad>" else 1 for t in tokens]])

    S = len(source)
    fig, ax = plt.subplots(figsize=(11, 5.6))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
    ax.set(xlim=(0, 14), ylim=(-0.2, 6.6))
    ax.axis("off")

    def box(x, y, w, h, text, color, fontsize=10, weight="normal"):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", facecolor=color,
                                    edgecolor="black", linewidth=1.2))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize,
                weight=weight)

    # The two stacks, each with its sublayers bottom-up, and the sentences they read.
    ax.add_patch(FancyBboxPatch((0.3, 1.3), 3.6, 3.6, boxstyle="round,pad=0.1",
                                facecolor="#f2f2f2", edgecolor="gray"))
    ax.text(2.1, 5.25, "Encoder (× N)", ha="center", fontsize=12, weight="bold")
    ax.add_patch(FancyBboxPatch((10.1, 0.7), 3.6, 5.0, boxstyle="round,pad=0.1",
                                facecolor="#f2f2f2", edgecolor="gray"))
    ax.text(11.9, 6.05, "Decoder (× N)", ha="center", fontsize=12, weight="bold")
    centers = {}
    for name, x, y in (("encoder self-attention", 0.6, 2.1), ("masked self-attention", 10.4, 1.2),
                       ("cross-attention", 10.4, 2.9)):
        box(x, y, 3.0, 0.9, name, "#fde9c8" if "masked" in name else "#d6e6f5")
        centers[name] = (x, y)
    box(0.6, 3.7, 3.0, 0.8, "feed-forward", "white")
    box(10.4, 4.6, 3.0, 0.8, "feed-forward", "white")
    ax.text(2.1, 0.55, "source: " + " ".join(source), ha="center", fontsize=9.5)
    ax.text(11.9, 0.0, "target: " + " ".join(target), ha="center", fontsize=9.5)
    ax.annotate("", xy=(2.1, 2.05), xytext=(2.1, 0.85),
                arrowprops={"arrowstyle": "-|>", "color": "black"})
    ax.annotate("", xy=(11.9, 1.15), xytext=(11.9, 0.3),
                arrowprops={"arrowstyle": "-|>", "color": "black"})
    # The encoder's output (memory) gives the cross-attention its keys and values.
    ax.annotate("", xy=(10.35, 3.35), xytext=(4.05, 4.1),
                arrowprops={"arrowstyle": "-|>", "color": "gray", "linestyle": "--",
                            "connectionstyle": "arc3,rad=-0.25"})
    ax.text(7.0, 3.85, "encoder output: keys and values", ha="center", fontsize=9,
            color="gray", style="italic")

    # The two masks: a tag with its name and shape, and the mask itself as a small picture.
    tags = {
        "src_mask": (5.0, 5.4, "#1f77b4", "src_mask (B, 1, S): hide source pads",
                     padding_mask(ids(source), 0)[0].expand(S, S)),
        "tgt_mask": (5.0, 1.25, "#d62728", "tgt_mask (B, T, T): hide the future and target pads",
                     make_std_mask(ids(target), 0)[0]),
    }
    anchors = {}
    for mask_name, (x, y, color, label, mask) in tags.items():
        ax.text(x + 2.0, y + 0.85, label, ha="center", fontsize=9.5, color=color, weight="bold")
        inset = ax.inset_axes([x + 1.45, y - 0.55, 1.1, 1.25], transform=ax.transData)
        inset.imshow(mask.int().numpy(), cmap="Blues", vmin=-0.5, vmax=1.5)
        inset.set_xticks([])
        inset.set_yticks([])
        for spine in inset.spines.values():
            spine.set_color(color)
            spine.set_linewidth(2)
        anchors[mask_name] = (x + 2.0, y + 0.05, color)
    for attention_name, mask_name in WHERE_MASKS_GO.items():
        mx, my, color = anchors[mask_name]
        bx, by = centers[attention_name]
        left_side = bx < mx
        start = (mx - 0.6 if left_side else mx + 0.6, my)
        end = (bx + 3.05 if left_side else bx - 0.05, by + 0.45)
        ax.annotate("", xy=end, xytext=start, gid=f"{mask_name}->{attention_name}",
                    arrowprops={"arrowstyle": "-|>", "color": color, "linewidth": 2.2,
                                "shrinkA": 2, "shrinkB": 2})
    ax.text(7.0, 2.75, "every head of every layer\ngets the same mask",
            ha="center", fontsize=9, color="dimgray")
    return fig


def draw_decoder_masked(records: dict[str, dict[str, AttentionMaps]], text: str,
                        weights: str = "trained", layer: int = 0, head: int | str = 0) -> Figure:
    """The decoder self-attention of the numbers model on `text`, trained or untrained.

    `records` is measure.trained_and_untrained's; both models read the same target under the
    same causal mask, so only the weights differ.
    """
    if text not in records:
        raise ValueError(f"no record of {text!r}; pick one of {list(records)}")
    if weights not in ("trained", "untrained"):
        raise ValueError(f"weights must be 'trained' or 'untrained', got {weights!r}")
    title = f"{text} → {records[text]['trained'].translation}\n{weights} model"
    maps = records[text][weights]
    return draw_attention(maps, "decoder", layer, head, arrows=True, title=title,
                          numbers=maps.decoder.shape[-1] <= 5)


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
        # The mask enters the stack: every layer's attention uses it.
        ax.text(x - 1.0, 2.98, mask, ha="center", va="center", fontsize=8, color="0.35")
        _arrow(ax, (x - 1.0, 3.1), (x - 1.0, 3.45), color="0.45")

    # Encoder: N x [self-attention, feed-forward], each as x + sublayer(LayerNorm(x)):
    # the default pre-norm model, with one more LayerNorm on top of each stack.
    ax.add_patch(plt.Rectangle((enc - 2.0, 3.45), 4.0, 2.75, fill=False, ls="--", lw=1.2))
    ax.text(enc + 1.95, 6.3, "Encoder layer  x N = 6", fontsize=9, va="bottom", ha="right",
            weight="bold")
    _box(ax, enc, 4.1, 3.2, 0.7, "LayerNorm -> self-attention\n(8 heads) -> + residual", sub)
    _box(ax, enc, 5.3, 3.2, 0.7, "LayerNorm -> feed-forward\nD -> d_ff = 4D -> D -> + residual",
         sub, size=8.5)
    _arrow(ax, (enc, 4.5), (enc, 4.9))
    ax.text(enc + 0.4, 4.69, "(B, S, D)", ha="left", va="center", fontsize=8.5,
            color="tab:red", family="monospace")  # right of the +, clear of it
    _arrow(ax, (enc, 5.7), (enc, 6.72))
    _box(ax, enc, 7.0, 2.6, 0.45, "final LayerNorm", sub, size=8.5)
    _arrow(ax, (enc, 7.25), (enc, 7.67), "(B, S, D)")
    _box(ax, enc, 7.95, 2.6, 0.5, "memory", "#d9f2d9")

    # Decoder: N x [masked self-attention, cross-attention, feed-forward].
    ax.add_patch(plt.Rectangle((dec - 2.0, 3.45), 4.0, 4.35, fill=False, ls="--", lw=1.2))
    ax.text(dec + 1.95, 7.9, "Decoder layer  x N = 6", fontsize=9, va="bottom", ha="right",
            weight="bold")
    _box(ax, dec, 4.1, 3.2, 0.7, "LayerNorm -> masked\nself-attention -> + residual", sub)
    _box(ax, dec, 5.45, 3.2, 0.9, "LayerNorm -> cross-attention:\nQ from here, K, V from "
         "memory\n-> + residual", sub)
    _box(ax, dec, 6.85, 3.2, 0.6, "LayerNorm -> feed-forward\n-> + residual", sub, size=8.5)
    for y0, y1 in ((4.5, 4.95), (5.95, 6.5)):  # shapes on the left: the loops are on the right
        _arrow(ax, (dec, y0), (dec, y1))
        ax.text(dec - 0.4, (y0 + y1) / 2 - 0.01, "(B, T, D)", ha="right", va="center",
                fontsize=8.5, color="tab:red", family="monospace")  # clear of the +
    # The memory feeds every decoder layer's cross-attention, as its keys and values.
    ax.plot([enc + 1.38, 4.9, 4.9], [7.95, 7.95, 5.45], color="tab:green", lw=1.6)
    _arrow(ax, (4.9, 5.45), (dec - 1.68, 5.45), color="tab:green")
    ax.text(4.05, 8.1, "memory (B, S, D)\nto every decoder layer\n(with src_mask)",
            fontsize=8.5, color="tab:green", family="monospace", ha="left", va="bottom")

    # The residual paths: each sublayer's input skips around it and is added to its output.
    # Neighbouring loops alternate between two distances from the column, so each one
    # reads as its own loop where one ends and the next begins.
    for (y_from, y_to), side in (((3.58, 4.7), -1.92), ((4.78, 5.95), -1.76)):
        _residual_bypass(ax, enc, y_from, y_to, side, size=8)
    for (y_from, y_to), side in (((3.58, 4.72), 1.92), ((4.8, 6.24), 1.76),
                                 ((6.32, 7.55), 1.92)):
        _residual_bypass(ax, dec, y_from, y_to, side, size=8)
    ax.text(enc - 1.92, 3.3, "residual", ha="center", va="center", fontsize=8,
            color=RESIDUAL)

    _box(ax, dec, 8.65, 2.6, 0.45, "final LayerNorm", sub, size=8.5)
    _arrow(ax, (dec, 7.2), (dec, 8.4))
    _box(ax, dec, 9.85, 3.2, 0.8, "Generator\nlinear D -> V, log-softmax", "#e6dcf5")
    _arrow(ax, (dec, 8.9), (dec, 9.4), "(B, T, D)")
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
    V = len(SMOOTHING_TOKENS)
    curves(p, losses, ax=right, title=f"loss of one position (KL divergence), V = {V}",
           xlabel=f"probability p of the right token (1 - p spread over the other {V - 2})",
           ylabel="loss")
    for y, line in zip(losses.values(), right.get_lines(), strict=True):
        i = int(np.argmin(y))
        # The minima are at loss 0: drawn above the axis line, not hidden under it.
        right.plot(p[i], y[i], "o", color=line.get_color(), markersize=8, clip_on=False,
                   zorder=4)
    right.set_ylim(-0.12, 3)
    return fig


def schedule_figure() -> Figure:
    """The paper's learning rate for a few (d_model, warmup) settings."""
    ax = curves(range(1, 20_001), schedule_curves(SCHEDULES), figsize=(7.0, 4.0),
                title="lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)",
                xlabel="optimizer step")
    rate_axis(ax)
    return ax.figure


def rate_axis(ax: Axes) -> int:
    """Label the y axis 'learning rate (x 10^k)' with plain tick numbers; returns k.

    Matplotlib's own offset ('1e-3' above the axis) is small and easy to miss, and the
    title sits on top of it; the scale belongs in the axis label.
    """
    top = max(float(np.max(line.get_ydata())) for line in ax.get_lines()
              if len(line.get_xdata()) > 2)
    k = int(np.floor(np.log10(top)))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v / 10**k:g}"))
    ax.set_ylabel(f"learning rate ($\\times 10^{{{k}}}$)")
    return k


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
    fixed_margins(fig, ["1.00"], right=0.3)  # room for the last step's tick label
    peak = (f"peak {rate(warmup, d_model, factor, warmup):.2e} at step {warmup}"
            if warmup <= steps else f"still warming up: the peak comes at step {warmup}")
    curves(x, schedule_curves(settings, at=x), ax=ax, xlabel="optimizer step", title=peak)
    *reference, line = ax.get_lines()
    line.set(color="tab:blue", linewidth=2)
    for ref in reference:
        ref.set(color="0.6", linestyle="--", label=f"paper base: {ref.get_label()}")
    if reference:
        ax.legend(fontsize="small")
    ax.axvline(min(warmup, steps), color="tab:blue", linestyle=":", linewidth=1)
    ax.set_xlim(0, steps)
    rate_axis(ax)
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


TEACHER_TARGET = ["<s>", "the", "cat", "drinks", "milk", "</s>"]  # the target with its markers
READ, WRITE, PASS = "#e3e3e3", "#d9f2d9", "#fde3c4"  # what the decoder reads, writes, computes


def teacher_forcing_figure(target: list[str] = TEACHER_TARGET) -> Figure:
    """Training reads the shifted true target in one pass; decoding writes one word per pass."""
    if len(target) < 3:
        raise ValueError(f"target needs <s>, a word and </s>, got {target}")
    read, write = target[:-1], target[1:]  # tgt and tgt_y: the same words, shifted by one
    T = len(read)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.8), layout="constrained",
                                      gridspec_kw={"width_ratios": [1, 1.15]})
    for ax in (left, right):
        ax.axis("off")
    # Left: one decoder pass over every position at once.
    left.set_xlim(-0.7, T - 0.3)
    left.set_ylim(-0.9, 4.3)
    left.set_title(f"training (teacher forcing): one pass, all {T} positions",
                   fontsize=10.5)
    _box(left, (T - 1) / 2, 1.75, T - 0.3, 0.7, "decoder, causal mask: position t sees "
         "0..t", PASS, size=9)
    for t in range(T):
        _box(left, t, 0.3, 0.8, 0.45, read[t], READ)
        _arrow(left, (t, 0.55), (t, 1.38))
        _arrow(left, (t, 2.12), (t, 2.95))
        _box(left, t, 3.2, 0.8, 0.45, write[t], WRITE)
    left.text(-0.6, -0.35, "reads the true words: tgt (B, T)", fontsize=9, ha="left")
    left.text(-0.6, 3.75, "predicts the next word: tgt_y (B, T)", fontsize=9, ha="left")
    # Right: one pass per written word, each output appended to the next input.
    right.set_xlim(-0.7, T + 1.6)
    right.set_ylim(-1.0, T + 0.2)
    right.set_title(f"decoding (autoregressive): {T} passes, one word each", fontsize=10.5)
    for step in range(T):
        y = T - 1 - step
        right.text(-0.6, y, f"pass {step + 1}", fontsize=9, ha="left", va="center")
        for t in range(step + 1):
            _box(right, t + 0.6, y, 0.8, 0.4, read[t], READ if t == 0 else WRITE, size=8.5)
        _arrow(right, (step + 1.1, y), (T + 0.35, y))
        _box(right, T + 0.9, y, 0.9, 0.4, write[step], WRITE, size=8.5)
        if step < T - 1:  # the word just written becomes the next pass's last input
            right.annotate("", xy=(step + 1.6, y - 0.78), xytext=(T + 0.9, y - 0.22),
                           arrowprops={"arrowstyle": "-|>", "color": "tab:green", "lw": 1.0,
                                       "linestyle": "--", "connectionstyle": "arc3,rad=-0.15"})
    right.text(T + 1.4, -0.75, "dashed: each pass's output is read by the next pass",
               fontsize=8.5, ha="right", color="tab:green")
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


CACHE_TEXT = "九百一"  # 901: greedy gets it wrong, beam search right
NEW_COLOUR, REUSED_COLOUR = "tab:orange", "#d9d9d9"  # computed this step / read from the cache


def _cache_cells(ax: Axes, x0: float, y: float, labels: list[str], new: list[bool]) -> None:
    """One row of cache entries: a box per key/value pair, orange where computed this step."""
    for i, (label, fresh) in enumerate(zip(labels, new, strict=True)):
        ax.add_patch(Rectangle((x0 + i, y - 0.4), 0.92, 0.8, linewidth=0.6, edgecolor="black",
                               facecolor=NEW_COLOUR if fresh else REUSED_COLOUR))
        ax.text(x0 + i + 0.46, y, label, ha="center", va="center", fontsize=6.5)


def kv_cache_figure(steps=None, source: list[str] | None = None) -> Figure:
    """The key/value cache during greedy decoding: one row per step, new entries in orange."""
    if steps is None:
        source, steps = cache_growth(pretrained.load("numbers"), CACHE_TEXT)
    read = [s.read for s in steps]
    width_self = max(s.self_after for s in steps)
    S = max(s.cross_after for s in steps)
    x_cross = width_self + 1.5
    with with_kanji():
        fig, ax = plt.subplots(figsize=(0.55 * (x_cross + S + 6.4), 0.75 + 0.36 * len(steps)))
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.3 / fig.get_size_inches()[1],
                            bottom=0.02)
        for t, step in enumerate(steps):
            y = -t
            ax.text(-0.3, y, f"step {t + 1}: reads {step.read!r}, writes {step.wrote!r}",
                    ha="right", va="center", fontsize=7.5)
            _cache_cells(ax, 0, y, read[:step.self_after],
                         [i >= step.self_before for i in range(step.self_after)])
            _cache_cells(ax, x_cross, y, source[:step.cross_after],
                         [i >= step.cross_before for i in range(step.cross_after)])
        top = 0.9
        ax.text(width_self / 2, top, "decoder self-attention: K, V of each word read",
                ha="center", va="bottom", fontsize=8.5)
        ax.text(x_cross + S / 2, top, "cross-attention: K, V of\nthe source, once",
                ha="center", va="bottom", fontsize=8.5)
        ax.set_xlim(-6.2, x_cross + S + 0.2)
        ax.set_ylim(-len(steps) + 0.4, top + 0.8)
        ax.axis("off")
        handles = [Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="black")
                   for c in (NEW_COLOUR, REUSED_COLOUR)]
        ax.legend(handles, ["computed this step", "read from the cache"], loc="upper left",
                  bbox_to_anchor=(0, 1.02), fontsize=8, frameon=False)
    return fig


FATE_STYLE = {"kept": ("tab:blue", "white"), "finished": ("tab:green", "white"),
              "pruned": ("#bbbbbb", "#f4f4f4")}  # edge colour, face colour
WINNER_COLOUR = "black"  # not green: green marks every finished hypothesis


def beam_tree_figure(tree=None, pruned_shown: int = 2) -> Figure:
    """Every candidate a beam search kept or finished, step by step, and the best pruned ones."""
    if tree is None:
        tree = beam_tree(pretrained.load("numbers"), CACHE_TEXT)
    steps = max(n.step for n in tree.nodes)
    rows = pruned_shown + max(sum(n.step == t and n.fate != "pruned" for n in tree.nodes)
                              for t in range(1, steps + 1))
    winner = (*tree.best_words, EOS)
    spot: dict[tuple[str, ...], tuple[float, float]] = {(): (0.0, -(rows - 1) / 2)}
    with with_kanji():
        fig, ax = plt.subplots(figsize=(1.0 * (steps + 1), 1.2 + 0.45 * rows))
        height = fig.get_size_inches()[1]
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.8 / height)
        ax.text(0, spot[()][1], "<s>", ha="center", va="center", fontsize=7.5,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "tab:blue"})
        for t in range(1, steps + 1):
            shown = [n for n in tree.nodes if n.step == t and n.fate != "pruned"]
            shown += [n for n in tree.nodes if n.step == t and n.fate == "pruned"][:pruned_shown]
            for rank, node in enumerate(shown):
                x, y = float(t), float(-rank)
                path = (*node.prefix, node.word)
                edge, face = FATE_STYLE[node.fate]
                best = path == winner[:len(path)]
                parent = spot.get(node.prefix)
                if parent is not None:
                    ax.plot([parent[0] + 0.27, x - 0.27], [parent[1], y],
                            color=WINNER_COLOUR if best else edge, zorder=1,
                            linewidth=2.4 if best else 0.8,
                            linestyle=":" if node.fate == "pruned" else "-")
                if node.fate == "kept":
                    spot[path] = (x, y)
                ax.text(x, y, f"{node.word}\n{node.log_prob:.2f}", ha="center", va="center",
                        fontsize=6.5, color="#888888" if node.fate == "pruned" else "black",
                        bbox={"boxstyle": "round,pad=0.25", "facecolor": face, "edgecolor": edge,
                              "linewidth": 1.6 if node.fate == "finished" else 0.8})
        for t in range(steps + 1):  # the step numbers the text refers to
            ax.text(t, 0.75, f"step {t}" if t else "start", ha="center", va="center",
                    fontsize=7.5, weight="bold")
        ax.set_xlim(-0.4, steps + 0.4)
        ax.set_ylim(-rows + 0.5, 1.0)
        ax.axis("off")
        handles = [Rectangle((0, 0), 1, 1, facecolor=FATE_STYLE[f][1], edgecolor=FATE_STYLE[f][0])
                   for f in FATE_STYLE]
        handles.append(plt.Line2D([0], [0], color=WINNER_COLOUR, linewidth=2.4))
        fig.legend(handles, [f"kept in the beam (K = {tree.beam_size})",
                             "finished: </s> among the K best",
                             f"dropped (the {pruned_shown} best shown)", "the winner's path"],
                   loc="upper left", bbox_to_anchor=(0.0, 1 - 0.3 / height), ncols=4,
                   fontsize=8, frameon=False)
        text, log_p, _ = tree.best[0]
        fig.suptitle(f"beam search, K = {tree.beam_size}, on {tree.text}; the black path wins: "
                     f"'{text}', log P {log_p:.2f}", x=0.01, ha="left", fontsize=9)
    return fig


GRID_TEXT = "三十四万五千六百七十八"  # 345,678: the number of the chapter's other pictures
GRID_PANEL_INCHES = 2.1


def attention_grid(maps: AttentionMaps | None = None) -> Figure:
    """Every part, layer and head of one translation: a block of L x H panels per part."""
    if maps is None:
        maps = number_attention(pretrained.load("numbers"), GRID_TEXT, "ja")
    parts = list(maps.weights)
    L, H = maps.weights[parts[0]].shape[:2]
    labels = {part: maps.labels(part) for part in parts}
    left = AXIS_INCHES + max(label_inches(rows) for rows, _ in labels.values())
    bands = {part: AXIS_INCHES + label_inches(keys, 0.75) for part, (_, keys) in labels.items()}
    header, gap, P = 0.55, 0.35, GRID_PANEL_INCHES
    width = left + H * P + (H - 1) * 0.15 + COLORBAR_INCHES
    height = 0.2 + LINE_INCHES * 3 + sum(header + L * P + (L - 1) * gap + bands[p]
                                          for p in parts)
    with with_kanji():
        fig = plt.figure(figsize=(width, height))
        y = height - 0.2 - LINE_INCHES * 3  # from the top, in inches
        for part in parts:
            rows, keys = labels[part]
            fig.text(left / width, (y - header / 2) / height,
                     f"{ATTENTION_PARTS[part].split(' (')[0]}: rows "
                     f"{'the word being written' if part != 'encoder' else 'source tokens'}"
                     f", columns {'source tokens' if part != 'decoder' else 'words read'}",
                     ha="left", va="center", fontsize=9.5, weight="bold")
            y -= header
            for layer in range(L):
                for head in range(H):
                    ax = fig.add_axes(((left + head * (P + 0.15)) / width, (y - P) / height,
                                       P / width, P / height))
                    draw_attention(maps, part, layer, head, ax=ax, colorbar=False,
                                   numbers=False, title=f"layer {layer}, head {head}")
                    ax.set_xlabel("")
                    ax.set_ylabel("")
                    ax.title.set_fontsize(8.5)
                    ax.tick_params(labelsize=7, length=0)
                    if head:
                        ax.tick_params(labelleft=False)
                    if layer < L - 1:
                        ax.tick_params(labelbottom=False)
                    else:
                        _turn_key_labels(ax, keys, narrow=True)
                y -= P + (gap if layer < L - 1 else 0)
            y -= bands[part]
        bar = fig.add_axes(((width - COLORBAR_INCHES + 0.25) / width, 0.3, 0.12 / width, 0.4))
        fig.colorbar(fig.axes[0].collections[0], cax=bar, label="attention weight")
        fig.suptitle("\n".join(heading(maps)), fontsize="medium")
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


# A sentence in the style of Multi30k's captions, not one of its test sentences.
MULTI30K_SENTENCE = "Ein Mann in einer Weste sitzt auf einem Stuhl und hält eine Zeitschrift."


def multi30k_cross_attention(text: str = MULTI30K_SENTENCE, translator=None) -> Figure:
    """The shipped Multi30k model's last-layer cross-attention, mean of its heads, on `text`."""
    translator = translator or pretrained.load("multi30k")
    maps = translator.attention(text)
    # Wrapped narrower than draw_attention would: a long German line fills the whole width.
    lines = [*textwrap.wrap(maps.text, 52), *textwrap.wrap(f"→ {maps.translation}", 52)]
    return draw_attention(maps, "cross", layer=-1, head="mean", title="\n".join(lines))


# --- Chapter 10 ---

def norms_figure() -> Figure:
    """One vector, and what LayerNorm and RMSNorm make of it: bars with their mean and RMS."""
    outs = norm_outputs()
    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.4), sharey=True, layout="constrained")
    colors = {"x": "0.55", "LayerNorm(x)": "tab:orange", "RMSNorm(x)": "tab:blue"}
    for ax, (name, v) in zip(axes, outs.items(), strict=True):
        ax.bar(range(len(v)), v.tolist(), color=colors[name])
        mean, root = v.mean().item(), v.pow(2).mean().sqrt().item()
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axhline(mean, color="tab:red", linestyle="--", linewidth=1.2)
        ax.set_title(f"{name}\nmean {mean:+.2f}, RMS {root:.2f}")
        ax.set_xlabel("dimension")
        ax.set_xticks(range(len(v)))
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("value (dashed: the mean)")
    return fig


def _gated_block(ax, x: float, hidden: int, d_model: int, gated: bool) -> None:
    """One feed-forward block drawn bottom-up: linear maps as boxes, widths on the arrows."""
    lin, act, mul = "#cfe3f6", FFN_COLOR, "#fde3c4"
    ax.text(x, 0.25, f"x  (D = {d_model})", ha="center", va="center", fontsize=9)
    if gated:
        for dx, name in ((-1.0, "W_1"), (1.0, "W_3")):
            _arrow(ax, (x, 0.5), (x + dx, 1.3))
            _box(ax, x + dx, 1.6, 1.4, 0.5, f"{name}: D -> {hidden}", lin, size=8.5)
        _box(ax, x - 1.0, 2.8, 1.2, 0.5, "SiLU", act)
        _arrow(ax, (x - 1.0, 1.9), (x - 1.0, 2.5))
        _box(ax, x, 4.0, 0.6, 0.5, "⊙", mul, size=12)
        _arrow(ax, (x - 1.0, 3.1), (x - 0.35, 3.85))
        _arrow(ax, (x + 1.0, 1.9), (x + 0.35, 3.85))
        ax.text(x - 1.75, 3.45, "gate", ha="right", va="center", fontsize=8.5,
                color="0.35")
        ax.text(x + 1.1, 2.7, "value", ha="left", va="center", fontsize=8.5, color="0.35")
        ax.text(x + 0.45, 4.0, "⊙: multiply\nentry by entry", ha="left", va="center",
                fontsize=8, color="0.35")
    else:
        _box(ax, x, 1.6, 1.6, 0.5, f"W_1: D -> {hidden}", lin, size=8.5)
        _arrow(ax, (x, 0.5), (x, 1.3))
        _box(ax, x, 2.8, 1.2, 0.5, "ReLU", act)
        _arrow(ax, (x, 1.9), (x, 2.5))
        _arrow(ax, (x, 3.1), (x, 4.9), f"({hidden})")
    if gated:
        _arrow(ax, (x, 4.3), (x, 4.9), f"({hidden})")
    _box(ax, x, 5.2, 1.6, 0.5, f"W_2: {hidden} -> D", lin, size=8.5)
    _arrow(ax, (x, 5.5), (x, 6.1))
    ax.text(x, 6.3, "out (D)", ha="center", va="center", fontsize=9)


def swiglu_figure(d_model: int = 512, d_ff: int = 2048) -> Figure:
    """The ReLU block beside SwiGLU at the same parameter count, and the activations' shapes."""
    counts = ffn_parameters(d_model, d_ff)
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 4.6), layout="constrained",
                             gridspec_kw={"width_ratios": [1, 1.3, 1]})
    for ax, name, gated in ((axes[0], "ReLU", False), (axes[1], "SwiGLU", True)):
        hidden, params = counts[name]
        ax.set_xlim(-2.2, 2.6)
        ax.set_ylim(0, 6.6)
        ax.axis("off")
        ax.set_title(f"{name} block: {params:,} parameters", fontsize=10)
        _gated_block(ax, 0.0, hidden, d_model, gated)
    z = torch.linspace(-4, 3, 200)
    curves(z, {"ReLU": z.relu(), "GELU": F.gelu(z), "SiLU = z·sigmoid(z)": F.silu(z)},
           ax=axes[2], title="the activations", xlabel="z", ylabel="activation(z)")
    return fig


def draw_rope(position: int = 5, pair: int = 8, d_k: int = 64, positions: int = 64) -> Figure:
    """RoPE on one pair: the query turned by m times its angle, and its score with a fixed key."""
    track = rope_track(pair, positions, d_k)  # (P, 2): the pair at every position
    theta = pair_frequency(pair, d_k)
    if not 0 <= position < positions:
        raise ValueError(f"position must be in 0..{positions - 1}, got {position}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 4.2),
                                      gridspec_kw={"width_ratios": [1, 1.5]})
    fixed_margins(fig, ["-1.0"], title_lines=2, wspace=0.25)
    turn = torch.linspace(0, 2 * np.pi, 200)
    left.plot(torch.cos(turn), torch.sin(turn), color="lightgrey", linestyle="--", linewidth=1)
    left.plot(*track.T, ".", color="tab:blue", alpha=0.25, label=f"positions 0..{positions - 1}")
    left.annotate("", (1.0, 0.0), (0.0, 0.0),
                  arrowprops={"arrowstyle": "-|>", "color": "0.5", "lw": 1.5})
    left.annotate("", track[position].tolist(), (0.0, 0.0),
                  arrowprops={"arrowstyle": "-|>", "color": "tab:red", "lw": 2.0})
    left.text(1.05, -0.12, "position 0", fontsize=8, color="0.4", ha="right")
    left.set_aspect("equal")
    left.set_xlim(-1.25, 1.25)
    left.set_ylim(-1.25, 1.25)
    angle = position * theta
    left.set_title(f"pair {pair}: {theta:.3g} rad per position\n"
                   f"position {position}: turned by {angle:.2f} rad")
    left.set_xlabel(f"dimension {pair}")
    left.set_ylabel(f"dimension {pair + d_k // 2}")
    left.legend(fontsize="small", loc="lower left")
    score = track[:, 0]  # the turned pair · the key (1, 0) at position 0
    curves(range(positions), {"score": score}, ax=right,
           title=f"this pair's score with the same key at position 0\n"
                 f"a cosine of the distance: one full turn every {2 * np.pi / theta:.1f} positions",
           xlabel="query position m (key at n = 0)", ylabel="q_m · k_0")
    right.plot([position], [score[position].item()], "o", color="tab:red", markersize=8)
    right.set_ylim(-1.1, 1.1)
    return fig


def rope_figure() -> Figure:
    """The RoPE widget's picture for position 5 of pair 8."""
    return draw_rope(5, 8)


def rope_relative_figure(starts: tuple[int, ...] = (0, 8, 16), reach: int = 32) -> Figure:
    """A fixed query and key, moved together: the score against their distance, per start."""
    fig, axes = grid(2, cols=2, size=4.2)
    styles = ["-", "--", ":"]
    for ax, kind, title in ((axes[0], "sinusoidal", "sinusoidal, added to the input"),
                            (axes[1], "rope", "RoPE, rotating q and k")):
        scores = relative_scores(kind, starts, reach)
        curves(range(reach), {f"key at n = {n}": s for n, s in scores.items()}, ax=ax,
               title=title, xlabel="distance m - n", ylabel="score q_m·k_n / sqrt(d_k)")
        for line, style in zip(ax.get_lines(), styles, strict=False):
            line.set(linestyle=style, linewidth=2.2)
        ax.legend(fontsize="small")  # again, so the legend shows the dashes
    axes[1].sharey(axes[0])
    return fig


def _heads_row(ax, y: float, n: int, colors: list[str], label: str, width: float = 8.0
               ) -> list[float]:
    """n small squares in a row centred on the axes, each in its colour; returns their x."""
    xs = [width * (i + 0.5) / n for i in range(n)]
    for x, c in zip(xs, colors, strict=True):
        ax.add_patch(Rectangle((x - 0.3, y - 0.3), 0.6, 0.6, facecolor=c, edgecolor="0.25"))
    ax.text(-0.2, y, label, ha="right", va="center", fontsize=9)
    return xs


def gqa_figure(h: int = 8, d_k: int = 64, layers: int = 1, bytes_per_value: int = 4) -> Figure:
    """Query heads and the key/value heads they read: MHA, GQA, MQA, with the cache per token
    (for `layers` layers of d_k-wide heads in numbers of `bytes_per_value` bytes)."""
    palette = plt.get_cmap("tab10").colors
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.6), layout="constrained")
    for ax, (name, kv) in zip(axes, (("multi-head", h), ("grouped-query", 2),
                                     ("multi-query", 1)), strict=True):
        ax.set_xlim(-2.0, 8.2)
        ax.set_ylim(-0.9, 3.2)
        ax.axis("off")
        group = h // kv
        qx = _heads_row(ax, 2.4, h, [palette[i // group] for i in range(h)], "queries")
        kx = _heads_row(ax, 0.3, kv, [palette[j] for j in range(kv)], "keys,\nvalues")
        for i, x in enumerate(qx):
            ax.plot([x, kx[i // group]], [2.1, 0.6], color="0.5", linewidth=1)
        cache = cache_bytes_formula(layers, kv, d_k, bytes_per_value)
        ax.set_title(f"{name}: {h} query heads, {kv} key/value head{'s' * (kv > 1)}",
                     fontsize=10)
        ax.text(4.0, -0.6, f"cache per token: {cache:,} bytes", ha="center", va="center",
                fontsize=9.5, color="tab:red")
    layer_word = "layer" if layers == 1 else "layers"
    fig.suptitle(f"cache counted for {layers} {layer_word}, d_k = {d_k}, "
                 f"{bytes_per_value}-byte numbers", fontsize=9.5, color="0.3")
    return fig


def decoder_only_figure(source: tuple[str, ...] = ("ein", "und", "zwanzig"),
                        target: tuple[str, ...] = ("twenty", "-", "one"),
                        sep: str = "<s>") -> Figure:
    """The encoder-decoder beside one causal stack over 'source <s> target', and its mask.

    `sep` joins source and target: the package's decoder-only model uses the start symbol.
    """
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(12.5, 4.6), layout="constrained",
                                           gridspec_kw={"width_ratios": [1, 1, 1.15]})
    stack = "#fde3c4"
    for ax in (left, mid):
        ax.set_xlim(0, 6)
        ax.set_ylim(0, 6.4)
        ax.axis("off")
    left.set_title("encoder-decoder (2017)", fontsize=10)
    _box(left, 1.5, 0.5, 2.2, 0.5, " ".join(source), "white", size=8.5)
    _box(left, 4.5, 0.5, 2.2, 0.5, "<s> " + " ".join(target), "white", size=8.5)
    _box(left, 1.5, 2.3, 2.0, 1.4, "encoder\n(sees every\nsource word)", stack)
    _box(left, 4.5, 2.9, 2.0, 2.6, "decoder\n(causal)\n+ cross-\nattention", stack)
    _arrow(left, (1.5, 0.75), (1.5, 1.55))
    _arrow(left, (4.5, 0.75), (4.5, 1.55))
    _arrow(left, (2.5, 3.0), (3.45, 3.0), color="tab:green")
    left.text(2.95, 3.25, "memory", ha="center", fontsize=8, color="tab:green")
    _arrow(left, (4.5, 4.25), (4.5, 5.3))
    left.text(4.5, 5.6, " ".join(target) + " </s>", ha="center", fontsize=8.5)
    mid.set_title("decoder-only: the encoder folded in", fontsize=10)
    joint = [*source, sep, *target]
    _box(mid, 3.0, 0.5, 5.4, 0.5, " ".join(joint), "white", size=8.5)
    _box(mid, 3.0, 2.9, 3.0, 2.6, "one decoder stack\n(causal self-attention,\nno cross-attention)",
         stack)
    _arrow(mid, (3.0, 0.75), (3.0, 1.55))
    _arrow(mid, (3.0, 4.25), (3.0, 5.3))
    mid.text(3.0, 5.6, "next token at every position;\nloss on the target part only",
             ha="center", fontsize=8.5)
    T = len(joint)
    mask = subsequent_mask(T)[0].float()  # (T, T): True where a query may look
    rows = [f"{w} -> {n}" for w, n in zip(joint, [*joint[1:], "</s>"], strict=True)]
    heatmap(mask, rows, joint, ax=right, cmap="Blues", vmin=0, vmax=1, annot=False, cbar=False,
            title="causal mask\n(dark: may look)", xlabel="key",
            ylabel="reads -> writes")
    first_target = len(source)  # the row that reads `sep` writes the first target word
    for r, label in enumerate(right.get_yticklabels()):
        label.set_color("tab:red" if r >= first_target else "0.45")
    return fig


def draw_loss_race(losses: dict[str, list[float]], every: int = 10) -> Figure:
    """Training loss per step of several models on the same batches (smoothed over `every`)."""
    smooth = {name: torch.tensor(v).unfold(0, every, 1).mean(-1) for name, v in losses.items()}
    steps = range(every, every + len(next(iter(smooth.values()))))
    ax = curves(steps, smooth, logy=True, figsize=(6.5, 3.6),
                title=f"the same batches, the same seed (mean of {every} steps)",
                xlabel="optimizer step", ylabel="training loss (log scale)")
    return ax.figure


def ablation_figure(rows: list[dict] | None = None) -> Figure:
    """The stored ablation: exact match and steps to 99% per configuration, every seed a dot."""
    rows = ablation_results() if rows is None else rows
    names = [r["name"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 0.45 * len(rows) + 1.6), sharey=True)
    fixed_margins(fig, names, title_lines=1, wspace=0.08)
    for ax, key, title in ((axes[0], "exact_match", "test exact match"),
                           (axes[1], "steps_to_99", "steps to 99% validation exact match")):
        for i, row in enumerate(rows):
            seeds = [s[key] for s in row["per_seed"].values() if s.get(key) is not None]
            if seeds:
                ax.plot(seeds, [i] * len(seeds), "o", color="tab:blue", alpha=0.6)
            if row.get(key) is not None:
                ax.plot([row[key]], [i], "|", color="black", markersize=16, markeredgewidth=2)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
        if not ax.get_lines():  # e.g. no seed reached 99% within the training budget
            ax.text(0.5, 0.5, "no run reached it\nwithin the budget", ha="center",
                    va="center", transform=ax.transAxes, color="0.4")
    axes[0].set_yticks(range(len(rows)), names)
    axes[0].invert_yaxis()
    return fig

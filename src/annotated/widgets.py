"""Interactive figures for the notebooks: core ipywidgets around a plain drawing function.

Each chapter's widget is a `draw_*` function (arguments in, Figure out: tested without a
browser) wrapped by `interactive_figure`, which adds the sliders and dropdowns.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

STYLE = {"description_width": "initial"}


def interactive_figure(draw: Callable[..., Figure], **controls) -> widgets.interactive:
    """An `ipywidgets.interactive` that redraws `draw(**values)` when a control moves.

    `.result` holds the last Figure, so tests can set `w.children[i].value` and inspect it.
    """

    def update(**values) -> Figure:
        plt.close("all")  # one live figure: an update never piles up old ones
        # ipywidgets shows (and closes) inline figures itself after each call.
        return draw(**values)

    for control in controls.values():
        if isinstance(control, widgets.Widget) and hasattr(control, "style"):
            control.style = STYLE
    return widgets.interactive(update, **controls)


# --- Chapter 4 ---
def draw_heads(weights, tokens, head: int = -1, layer: int = 0,
               query_tokens=None, numbers: bool = False) -> Figure:
    """Attention weights of one head, or of every head (`head=-1`) side by side.

    `weights` is (H, Tq, Tk) for one layer or (L, H, Tq, Tk) for a stack; `tokens` label the
    keys and `query_tokens` the queries (default: the same tokens, as in self-attention).
    `numbers` writes the weights in the cells of the all-heads grid (slower to draw).
    """
    from .plots import grid, heatmap

    w = weights.detach() if hasattr(weights, "detach") else weights
    if w.dim() == 3:
        w = w.unsqueeze(0)
    if w.dim() != 4:
        raise ValueError(f"weights must be (H, Tq, Tk) or (L, H, Tq, Tk), got shape "
                         f"{tuple(w.shape)}; pick one batch element first, e.g. attn[0]")
    L, H = w.shape[0], w.shape[1]
    if not 0 <= layer < L:
        raise ValueError(f"layer {layer} out of range: there are {L} layer(s), 0 to {L - 1}")
    if not -1 <= head < H:
        raise ValueError(f"head {head} out of range: use 0 to {H - 1}, or -1 for all heads")
    rows = tokens if query_tokens is None else query_tokens
    where = f"layer {layer}, " if L > 1 else ""
    if head >= 0:
        ax = heatmap(w[layer, head], rows, tokens, vmin=0.0, vmax=1.0, xlabel="key",
                     ylabel="query", title=f"{where}head {head}", figsize=(4.5, 3.8))
        return ax.figure
    cols = 4
    fig, axes = grid(H, cols=cols, size=2.6)
    for i, ax in enumerate(axes):
        heatmap(w[layer, i], rows, tokens, ax=ax, vmin=0.0, vmax=1.0, cbar=False,
                annot=numbers, title=f"{where}head {i}")
        # Labels on the outer panels only: the same words on every panel slow each redraw.
        if i % cols:
            ax.set_yticks([])
        if i + cols < H:
            ax.set_xticks([])
    return fig


def head_explorer(weights, tokens, query_tokens=None) -> widgets.interactive:
    """A head picker (and a layer slider for (L, H, Tq, Tk) weights) around `draw_heads`."""
    H = weights.shape[-3]
    options = [("all heads", -1)] + [(f"head {i}", i) for i in range(H)]
    controls = {"head": widgets.Dropdown(options=options, value=-1, description="head")}
    if weights.dim() == 4 and weights.shape[0] > 1:
        controls["layer"] = widgets.IntSlider(value=0, min=0, max=weights.shape[0] - 1,
                                              description="layer")

    def draw(head: int, layer: int = 0) -> Figure:
        return draw_heads(weights, tokens, head=head, layer=layer, query_tokens=query_tokens)

    return interactive_figure(draw, **controls)

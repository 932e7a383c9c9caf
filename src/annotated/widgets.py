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


# --- Chapter 1 ---

def draw_embedding(table, words, word: str, k: int = 5) -> Figure:
    """One word's vector as a strip, and its `k` nearest neighbours by cosine similarity."""
    from .embeddings import nearest_neighbours
    from .plots import heatmap

    if word not in words:
        raise ValueError(f"{word!r} is not in the vocabulary; pick one of {list(words)}")
    index = list(words).index(word)
    ids, sims = nearest_neighbours(table, index, k)
    # Fixed margins, not a layout engine: seaborn draws the figure once per heatmap, and
    # constrained layout would be solved at each of those draws (twice the update time).
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.0, 4.5), height_ratios=[1, 3],
                                      gridspec_kw=dict(left=0.12, right=0.98, top=0.93,
                                                       bottom=0.08, hspace=0.45))
    vmax = table[index].abs().max().item()  # symmetric colour range: white is 0
    heatmap(table[index:index + 1], [word], ax=top, cmap="RdBu_r", vmin=-vmax, vmax=vmax,
            annot=False,
            ticks=False, title=f"the vector of {word!r} ({table.size(1)} numbers)",
            xlabel="dimension")
    heatmap(sims.unsqueeze(1), [words[i] for i in ids], ["cosine similarity"], ax=bottom,
            vmin=-1.0, vmax=1.0, cmap="RdBu_r", fmt=".3f", cbar=False,
            title=f"nearest neighbours of {word!r}", ylabel="word")
    bottom.tick_params(axis="x", labelrotation=0)
    return fig


def embedding_explorer(table, words, k: int = 5) -> widgets.interactive:
    """Pick a word; see its vector and nearest neighbours in `table` (V, D)."""
    from functools import partial

    return interactive_figure(
        partial(draw_embedding, table.detach().float().cpu(), list(words), k=k),
        word=widgets.Dropdown(options=list(words)[1:], value=list(words)[1], description="word"),
    )


# --- Chapter 2 ---

def draw_positional(position: int, dims: tuple[int, int], max_len: int = 100,
                    d_model: int = 512, curves_shown: int = 4) -> Figure:
    """Curves of a few dimensions of PE over positions, and the heatmap of the chosen dimensions."""
    from .plots import curves, heatmap
    from .positional import sinusoidal_table

    lo, hi = dims
    if not 0 <= lo < hi <= d_model or not 0 <= position < max_len:
        raise ValueError(f"need 0 <= position < {max_len} and 0 <= lo < hi <= {d_model}, "
                         f"got position={position}, dims={dims}")
    pe = sinusoidal_table(max_len, d_model)  # (L, D)
    step = max(curves_shown - 1, 1)
    shown = sorted({lo + (hi - 1 - lo) * i // step for i in range(curves_shown)})  # spread out
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8),  # fixed margins: see above
                                      gridspec_kw=dict(left=0.07, right=0.98, top=0.9,
                                                       bottom=0.13, wspace=0.2))
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


def positional_explorer(max_len: int = 100, d_model: int = 512) -> widgets.interactive:
    """Sliders for the position and the dimension range; the curves and heatmap follow."""
    from functools import partial

    return interactive_figure(
        partial(draw_positional, max_len=max_len, d_model=d_model),
        position=widgets.IntSlider(value=10, min=0, max=max_len - 1, description="position"),
        dims=widgets.IntRangeSlider(value=(0, 128), min=0, max=d_model, step=2,
                                    description="dimensions"),
    )


# --- Chapter 3 ---

def draw_attention_query(tokens, query, key, value, word: str, temperature: float = 1.0,
                         features=None) -> Figure:
    """One query's attention weights at a temperature, and its output next to the values."""
    import torch

    from .attention import attention
    from .plots import heatmap

    if word not in tokens:
        raise ValueError(f"{word!r} is not in the sentence; pick one of {list(tokens)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    i = list(tokens).index(word)
    # Dividing the query by T divides every score by T: softmax(q·k / (sqrt(d_k) T)).
    out, weights = attention(query[i:i + 1] / temperature, key, value)  # (1, d_v), (1, S)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 5.0), height_ratios=[1, 3],
                                      gridspec_kw=dict(left=0.22, right=0.98, top=0.93,
                                                       bottom=0.1, hspace=0.75))  # see above
    heatmap(weights, [word], list(tokens), ax=top, vmin=0.0, vmax=1.0, fmt=".2f", cbar=False,
            title=f"weights of {word!r} at temperature {temperature:.2f}", xlabel="key")
    rows = [f"v({t})" for t in tokens] + [f"output of {word!r}"]
    heatmap(torch.cat([value, out]), rows, features, ax=bottom, cmap="Blues", fmt=".2f", cbar=False,
            title="values, and their mix weighted as above", xlabel="value dimension")
    bottom.axhline(len(tokens), color="black", linewidth=2)
    for ax in (top, bottom):
        ax.tick_params(axis="x", labelrotation=0)
    return fig


def attention_explorer(tokens, query, key, value, features=None) -> widgets.interactive:
    """Pick a query word and a temperature; the weights and the output follow."""
    from functools import partial

    return interactive_figure(
        partial(draw_attention_query, list(tokens), query.detach().cpu(), key.detach().cpu(),
                value.detach().cpu(), features=features),
        word=widgets.Dropdown(options=list(tokens), value=tokens[0], description="query"),
        temperature=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                           description="temperature"),
    )

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
        cells = w.shape[-2] * w.shape[-1]
        ax = heatmap(w[layer, head], rows, tokens, vmin=0.0, vmax=1.0, xlabel="key",
                     ylabel="query", title=f"{where}head {head}", figsize=(4.5, 3.8),
                     annot=cells <= 50)  # numbers while few: each one slows the redraw
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


def head_picker(H: int) -> widgets.Dropdown:
    """A dropdown of 'all heads' (value -1) and each of the H heads."""
    options = [("all heads", -1)] + [(f"head {i}", i) for i in range(H)]
    return widgets.Dropdown(options=options, value=-1, description="head")


def head_explorer(weights, tokens, query_tokens=None) -> widgets.interactive:
    """A head picker (and a layer slider for (L, H, Tq, Tk) weights) around `draw_heads`."""
    controls = {"head": head_picker(weights.shape[-3])}
    if weights.dim() == 4 and weights.shape[0] > 1:
        controls["layer"] = widgets.IntSlider(value=0, min=0, max=weights.shape[0] - 1,
                                              description="layer")

    def draw(head: int, layer: int = 0) -> Figure:
        return draw_heads(weights, tokens, head=head, layer=layer, query_tokens=query_tokens)

    return interactive_figure(draw, **controls)


# --- Chapter 5 ---
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
    import torch

    from .attention import attention
    from .masks import subsequent_mask
    from .plots import heatmap

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
    q, k = torch.randn(2, S, 8, generator=g)  # stand-in queries and keys, (S, 8) each
    _, weights = attention(q, k, k, mask=mask)  # (S, S)

    # Fixed margins, not constrained layout: the layout pass was a third of each redraw.
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8),
                             gridspec_kw={"width_ratios": [1.1, 1, 1]})
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.2, top=0.9, wspace=0.35)
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


def masking_explorer() -> widgets.interactive:
    """Sliders for two sentence lengths and extra padding, a causal switch, around draw_masking."""
    n = len(MASK_SENTENCES[0])
    return interactive_figure(
        draw_masking,
        len_a=widgets.IntSlider(value=4, min=1, max=n, description="sentence 1 length"),
        len_b=widgets.IntSlider(value=2, min=1, max=n, description="sentence 2 length"),
        extra=widgets.IntSlider(value=0, min=0, max=3, description="extra padding"),
        causal=widgets.Checkbox(value=False, description="causal (target) mask"),
    )


# --- Chapter 6 ---
ATTENTION_PARTS = {"encoder": "encoder self-attention", "decoder": "decoder self-attention",
                   "cross": "cross-attention (decoder queries, encoder keys)"}


def collect_attention(model, part: str = "encoder", index: int = 0):
    """Stack the kept weights of one kind of attention, layer by layer: (L, H, Tq, Tk).

    Run the model after `keep_attention(model)` (or with attn_backend="naive") first;
    `index` picks the batch element.
    """
    import torch

    if part not in ATTENTION_PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {', '.join(ATTENTION_PARTS)}")
    stack = model.encoder.layers if part == "encoder" else model.decoder.layers
    mods = [layer.self_attn if part != "cross" else layer.src_attn for layer in stack]
    if any(m.attn is None for m in mods):
        raise ValueError("no attention weights kept: call annotated.keep_attention(model), "
                         "then run the model once (model.encode / model.decode) before "
                         "collecting them")
    return torch.stack([m.attn[index] for m in mods]).detach().cpu()  # (L, H, Tq, Tk)


def model_attention_explorer(model, src_tokens, tgt_tokens) -> widgets.interactive:
    """Pick the kind of attention, the layer and the head of a model that has been run."""
    weights = {part: collect_attention(model, part) for part in ATTENTION_PARTS}
    L, H = weights["encoder"].shape[:2]
    tokens = {"encoder": (src_tokens, src_tokens), "decoder": (tgt_tokens, tgt_tokens),
              "cross": (src_tokens, tgt_tokens)}  # (keys, queries)

    def draw(part: str, layer: int, head: int) -> Figure:
        keys, queries = tokens[part]
        return draw_heads(weights[part], keys, head=head, layer=layer, query_tokens=queries)

    return interactive_figure(
        draw,
        part=widgets.Dropdown(options=[(v, k) for k, v in ATTENTION_PARTS.items()],
                              value="encoder", description="attention"),
        layer=widgets.IntSlider(value=0, min=0, max=L - 1, description="layer"),
        head=head_picker(H),
    )

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


# --- Chapter 9 ---

def translation_attention(translator, text: str):
    """Translate `text` greedily; return its pieces, the output pieces and the cross-attention.

    Returns (source pieces, output pieces with a final '</s>', weights (L, H, T, S)): row t
    of a layer's (T, S) map is the decoder query that wrote output piece t.
    """
    import torch

    from .data import Batch, pad_sequences
    from .decoding import translate_tokens
    from .model import keep_attention

    model, src_vocab, tgt_vocab = translator.model, translator.src_vocab, translator.tgt_vocab
    pieces = translator.task.source_tokens(text)
    out = translate_tokens(model, [pieces], src_vocab, tgt_vocab, translator.max_len)[0]
    device = next(model.parameters()).device
    src = pad_sequences([src_vocab.encode(pieces)], src_vocab.pad)  # (1, S)
    tgt = pad_sequences([tgt_vocab.encode(out, bos=True, eos=True)], tgt_vocab.pad)  # (1, T + 1)
    batch = Batch(src, tgt, src_vocab.pad).to(device)
    was = model.training
    model.eval()
    keep_attention(model)
    try:
        with torch.no_grad():  # teacher forcing on its own output: the same weights
            model(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)  # (1, T, D)
        weights = collect_attention(model, "cross")  # (L, H, T, S)
    finally:
        keep_attention(model, False)
        model.train(was)
    return pieces, list(out) + ["</s>"], weights


def draw_translation(pieces, out_pieces, weights, layer: int = -1, head: int = -1,
                     text: str = "") -> Figure:
    """Cross-attention of one translation: output pieces (rows) against source pieces (columns).

    `weights` is (L, H, T, S); `head=-1` averages the heads, `layer=-1` takes the last layer.
    """
    from .plots import heatmap

    L, H = weights.shape[:2]
    if not -1 <= layer < L or not -1 <= head < H:
        raise ValueError(f"layer must be -1..{L - 1} and head -1..{H - 1}, "
                         f"got layer={layer}, head={head}")
    w = weights[layer]  # (H, T, S)
    w = w.mean(0) if head == -1 else w[head]  # (T, S)
    T, S = w.shape
    fig, ax = plt.subplots(figsize=(1.6 + 0.42 * S, 1.3 + 0.3 * T))
    fig.subplots_adjust(left=1.1 / (1.6 + 0.42 * S), right=0.98, bottom=0.9 / (1.3 + 0.3 * T),
                        top=1 - 0.45 / (1.3 + 0.3 * T))  # fixed margins: fast redraws
    which = f"layer {layer if layer >= 0 else L - 1}, " + (
        "mean of the heads" if head == -1 else f"head {head}")
    heatmap(w, list(out_pieces), list(pieces), ax=ax, vmin=0.0, vmax=1.0, annot=False,
            cbar=False, title=f"{text[:60]}\n{which}" if text else which,
            xlabel="German pieces (keys)", ylabel="English pieces written (queries)")
    return fig


def translation_explorer(translator, texts) -> widgets.interactive:
    """Pick a sentence: see its subword pieces, its translation and the cross-attention."""
    found = {text: translation_attention(translator, text) for text in texts}
    L, H = next(iter(found.values()))[2].shape[:2]

    def draw(text: str, layer: int, head: int) -> Figure:
        pieces, out, weights = found[text]
        return draw_translation(pieces, out, weights, layer=layer, head=head,
                                text=translator.task.target_text(out[:-1]))

    return interactive_figure(
        draw,
        text=widgets.Dropdown(options=list(found), value=next(iter(found)),
                              description="sentence", layout=widgets.Layout(width="90%")),
        layer=widgets.IntSlider(value=L - 1, min=0, max=L - 1, description="layer"),
        head=head_picker(H),
    )

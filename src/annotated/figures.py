"""The key figures of each chapter, by name: the README and `python -m annotated figures` use them.

A figure function takes no arguments, returns a matplotlib Figure, and is registered with a
caption that says what to see in it:

    @figure("02_pe_heatmap", "Each row is a position, each column a dimension: ...")
    def pe_heatmap() -> Figure: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Entry:
    make: Callable[[], Figure]
    caption: str


FIGURES: dict[str, Entry] = {}


def figure(name: str, caption: str) -> Callable[[Callable[[], Figure]], Callable[[], Figure]]:
    """Register a figure function under `name` (the PNG's file name) with its caption."""

    def register(make: Callable[[], Figure]) -> Callable[[], Figure]:
        if name in FIGURES:
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES[name] = Entry(make, caption)
        return make

    return register


def save_all(out: Path | str = "figures", names: list[str] | None = None) -> list[Path]:
    """Draw the named figures (default: all) and save them as PNGs in `out`."""
    unknown = set(names or []) - FIGURES.keys()
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {sorted(FIGURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or sorted(FIGURES):
        fig = FIGURES[name].make()
        path = out / f"{name}.png"
        # No software or date metadata: the same figure gives the same bytes on every run.
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    return paths


# --- Chapter 1 ---

def embedding_scales(d_models: list[int], vocab: int = 1000, seed: int = 0) -> dict[str, list]:
    """Measured RMS of one entry of an embedding (two inits, scaled or not) and of the PE table."""
    import math

    import torch

    from .positional import sinusoidal_table

    gen = torch.Generator().manual_seed(seed)
    out: dict[str, list] = {k: [] for k in (
        "N(0,1) init x sqrt(D)", "N(0,1) init", "Xavier init x sqrt(D)", "Xavier init",
        "positional encoding")}
    for d in d_models:
        normal = torch.randn(vocab, d, generator=gen)  # nn.Embedding's own init
        xavier = torch.empty(vocab, d)
        bound = math.sqrt(6 / (vocab + d))  # nn.init.xavier_uniform_, as make_model applies it
        xavier.uniform_(-bound, bound, generator=gen)
        for name, w in (("N(0,1) init", normal), ("Xavier init", xavier)):
            rms = w.pow(2).mean().sqrt().item()
            out[name].append(rms)
            out[f"{name} x sqrt(D)"].append(rms * math.sqrt(d))
        out["positional encoding"].append(sinusoidal_table(200, d).pow(2).mean().sqrt().item())
    return out


@figure("01_embedding_scale",
        "Typical size (RMS) of one entry of the vectors added together at the model's input, "
        "for a vocabulary of 1000 words. The positional encoding stays at 0.71 for every d_model. "
        "Only Xavier-initialised embeddings (what make_model uses) times sqrt(d_model) sit next "
        "to it (within 2x); without the factor they are 16-28x smaller, and nn.Embedding's own "
        "N(0,1) init times sqrt(d_model) is 11-64x larger.")
def embedding_scale() -> Figure:
    from .plots import curves

    d_models = [64, 128, 256, 512, 1024, 2048]
    ax = curves(d_models, embedding_scales(d_models), marker="o", logy=True, figsize=(6.5, 4.2),
                title="Embedding vs positional encoding scale (vocab 1000)",
                xlabel="d_model", ylabel="RMS of one entry (log scale)")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0.005, 100)
    ax.legend(fontsize="small", loc="lower right", ncols=2)  # below the curves, not over them
    return ax.figure


# --- Chapter 2 ---

@figure("02_pe_heatmap",
        "The sinusoidal positional encoding for 100 positions and d_model = 128. Each row is one "
        "position's vector. Left columns change quickly with the position (high frequency); "
        "towards the right they change so slowly that they look constant: the sin columns stay "
        "near 0 (white) and the cos columns near 1 (red), hence the stripes.")
def pe_heatmap() -> Figure:
    from .plots import heatmap
    from .positional import sinusoidal_table

    ax = heatmap(sinusoidal_table(100, 128), cmap="RdBu_r", vmin=-1.0, vmax=1.0,
                 figsize=(7.0, 4.5),
                 title="PE[p, i]: sin on even i, cos on odd i",
                 xlabel="dimension i", ylabel="position p")
    ax.set_xticks(range(0, 128, 16), range(0, 128, 16))
    ax.set_yticks(range(0, 100, 10), range(0, 100, 10))
    return ax.figure


@figure("02_pe_similarity",
        "Left: dot products PE(p)·PE(q) for d_model = 512; each diagonal band has one colour, so "
        "the similarity depends only on the distance |p - q|. Right: PE(p)·PE(p + k) against the "
        "offset k for three start positions p; the three curves coincide, so only the last one "
        "drawn (green) is visible.")
def pe_similarity() -> Figure:
    from .plots import curves, grid, heatmap
    from .positional import sinusoidal_table

    pe = sinusoidal_table(150, 512)  # (L, D)
    fig, (left, right) = grid(2, cols=2, size=4.2)
    heatmap(pe[:50] @ pe[:50].T, ax=left, cmap="viridis", title="PE(p)·PE(q)",
            xlabel="position q", ylabel="position p")
    left.set_xticks(range(0, 50, 10), range(0, 50, 10))
    left.set_yticks(range(0, 50, 10), range(0, 50, 10))
    k = range(0, 100)
    curves(k, {f"p = {p}": pe[p] @ pe[p:p + 100].T for p in (0, 20, 50)}, ax=right,
           title="PE(p)·PE(p + k)", xlabel="offset k", ylabel="dot product")
    return fig


# --- Chapter 3 ---

def dot_product_stats(d_ks: list[int], n: int = 2000, keys: int = 10,
                      seed: int = 0) -> dict[str, list]:
    """For q, k with N(0,1) entries: var(q·k), and the mean largest softmax weight over `keys`."""
    import math

    import torch

    gen = torch.Generator().manual_seed(seed)
    out: dict[str, list] = {k: [] for k in (
        "var(q·k)", "var(q·k / sqrt(d_k))", "max weight, q·k", "max weight, q·k / sqrt(d_k)")}
    for d in d_ks:
        q = torch.randn(n, 1, d, generator=gen)  # (n, 1, d_k): n independent queries
        k = torch.randn(n, keys, d, generator=gen)  # (n, keys, d_k)
        scores = (q @ k.transpose(-2, -1)).squeeze(1)  # (n, keys)
        scaled = scores / math.sqrt(d)
        out["var(q·k)"].append(scores.var().item())
        out["var(q·k / sqrt(d_k))"].append(scaled.var().item())
        out["max weight, q·k"].append(scores.softmax(-1).max(-1).values.mean().item())
        out["max weight, q·k / sqrt(d_k)"].append(scaled.softmax(-1).max(-1).values.mean().item())
    return out


@figure("03_attention_she",
        "Attention weights for \"She gave him her book\" with hand-made queries and keys (what a "
        "trained model could learn). Row = the word asking, column = the word looked at; each row "
        "sums to 1. \"she\" puts most weight on \"book\" (0.54) and \"her\" (0.33).")
def attention_she() -> Figure:
    from .attention import attention
    from .examples import she_gave_him_her_book
    from .plots import heatmap

    tokens, q, k, v = she_gave_him_her_book()
    _, weights = attention(q, k, v)  # (S, S)
    ax = heatmap(weights, tokens, tokens, title="softmax(QK^T / sqrt(d_k))",
                 xlabel="key (looked at)", ylabel="query (asking)", vmin=0.0, vmax=1.0)
    return ax.figure


@figure("03_softmax_saturation",
        "Left: for random q, k with unit-variance entries, var(q·k) grows like d_k; divided by "
        "sqrt(d_k) it stays at 1. Right: the mean largest softmax weight over 10 keys. Unscaled, "
        "softmax saturates towards 1 (one key takes everything, gradients vanish); scaled, it "
        "stays near 0.3 for every d_k.")
def softmax_saturation() -> Figure:
    from .plots import curves, grid

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


def pe_rotation(pair: int = 24, offset: int = 2, positions: int = 10,
                d_model: int = 512) -> Figure:
    """One sin/cos pair of PE(p) on the unit circle, and shift_matrix(offset) applied to it."""
    from .plots import curves
    from .positional import shift_matrix, sinusoidal_table

    n = positions + offset
    pe = sinusoidal_table(n, d_model)  # (n, D)
    moved = pe[:positions] @ shift_matrix(offset, d_model).T  # (P, D): M @ PE(p) for each p
    cols = slice(2 * pair, 2 * pair + 2)
    ax = curves(pe[:, 2 * pair], {f"PE(p), p = 0..{n - 1}": pe[:, 2 * pair + 1]}, marker="o",
                figsize=(4.8, 4.6), title=f"dimensions {2 * pair} and {2 * pair + 1}: "
                f"M_{offset} @ PE(p) = PE(p + {offset})",
                xlabel=f"PE[p, {2 * pair}] (sin)", ylabel=f"PE[p, {2 * pair + 1}] (cos)")
    ax.plot(*moved[:, cols].T, "x", markersize=11, markeredgewidth=2,
            label=f"M_{offset} @ PE(p), p = 0..{positions - 1}")
    for p in range(n):
        ax.annotate(str(p), pe[p, cols].tolist(), textcoords="offset points", xytext=(6, 4),
                    fontsize="small")
    ax.set_aspect("equal")
    ax.set_xlim(-1.2, 1.2)
    ax.set_ylim(-1.2, 1.2)
    ax.legend(fontsize="small", loc="center")
    return ax.figure


# --- Chapter 4 ---
HEADS_SENTENCE = ["She", "gave", "him", "her", "book"]


def untrained_heads(seed: int = 0, h: int = 8, d_model: int = 512):
    """Attention weights (H, S, S) of a freshly initialised MultiHeadedAttention on 5 words."""
    import torch
    from torch import nn

    from .multihead import MultiHeadedAttention

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mha = MultiHeadedAttention(h, d_model, dropout=0.0, backend="naive").eval()
        for lin in mha.linears:  # clones() starts the four maps equal; make_model redraws them
            nn.init.xavier_uniform_(lin.weight)
        x = torch.randn(1, len(HEADS_SENTENCE), d_model)  # (B, S, D) stand-in word vectors
        with torch.no_grad():
            mha(x, x, x)
    return mha.attn[0]  # (H, S, S)


@figure("04_heads", "One heatmap per head of an untrained 8-head attention on the same five "
        "words: each head spreads its weight differently, so one word can gather from several "
        "others at once.")
def heads_figure() -> Figure:
    from .widgets import draw_heads

    return draw_heads(untrained_heads(), HEADS_SENTENCE, numbers=True)


# --- Chapter 5 ---
MASK_SOURCE = ["I", "sleep", "<pad>", "<pad>"]
MASK_TARGET = ["<s>", "ich", "schlafe", "</s>", "<pad>"]


@figure("05_masks", "The three masks as images (blue 1 = may attend, white 0 = hidden). The "
        "source mask hides the pad columns for every query; the causal mask hides everything "
        "right of the diagonal (word i sees words 0..i); the decoder's mask is both at once.")
def masks_figure(source: list[str] = MASK_SOURCE, target: list[str] = MASK_TARGET,
                 pad: str = "<pad>") -> Figure:
    """Source (padding), causal and combined target masks for one sentence pair."""
    import torch

    from .masks import make_std_mask, padding_mask, subsequent_mask
    from .plots import grid, heatmap

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


@figure("05_masked_softmax", "Softmax over the same scores, without and with the mask. "
        "Without it, the real words give a share of their weight to <pad>; with the pad "
        "scores set to the dtype's minimum, the pad columns get exactly 0 and every row still "
        "sums to 1.")
def masked_softmax_figure(tokens: list[str] = MASK_SOURCE, pad: str = "<pad>",
                          seed: int = 0) -> Figure:
    """Attention weights of one padded sentence, computed without and with its padding mask."""
    import torch

    from .attention import attention
    from .plots import grid, heatmap

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


# --- Chapter 6 ---
def _box(ax, x: float, y: float, w: float, h: float, text: str, color: str,
         size: float = 9.0) -> None:
    """A rounded box centred at (x, y) with its label."""
    from matplotlib.patches import FancyBboxPatch

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


@figure("06_architecture", "The encoder-decoder Transformer with the tensor shape on each "
        "arrow (B batch, S source length, T target length, D = d_model, V vocabulary), as the "
        "course builds it by default (pre-norm: LayerNorm before each sublayer, one more on "
        "top of each stack). The encoder keeps the width D all the way up; the decoder's "
        "cross-attention takes its queries from the target side and its keys and values from "
        "the encoder's memory.")
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
    ax.text(enc - 1.9, 6.15, "Encoder layer  x N = 6", fontsize=9, va="top", weight="bold")
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
    ax.text(dec - 1.9, 7.75, "Decoder layer  x N = 6", fontsize=9, va="top", weight="bold")
    _box(ax, dec, 4.1, 3.2, 0.7, "LayerNorm -> masked\nself-attention -> + residual", sub)
    _box(ax, dec, 5.45, 3.2, 0.9, "LayerNorm -> cross-attention:\nQ from here, K, V from "
         "memory\n-> + residual", sub)
    _box(ax, dec, 6.85, 3.2, 0.6, "LayerNorm -> feed-forward\n-> + residual", sub, size=8.5)
    _arrow(ax, (dec, 4.5), (dec, 4.95), "(B, T, D)")
    _arrow(ax, (dec, 5.95), (dec, 6.5), "(B, T, D)")
    # The memory feeds every decoder layer's cross-attention, as its keys and values.
    ax.plot([enc + 1.38, 4.9, 4.9], [7.7, 7.7, 5.45], color="tab:green", lw=1.6)
    _arrow(ax, (4.9, 5.45), (dec - 1.68, 5.45), color="tab:green")
    ax.text(4.05, 7.85, "memory (B, S, D)\nto every decoder layer\n(with src_mask)",
            fontsize=8.5, color="tab:green", family="monospace", ha="left", va="bottom")

    _box(ax, dec, 8.45, 2.6, 0.45, "final LayerNorm", sub, size=8.5)
    _arrow(ax, (dec, 7.2), (dec, 8.2))
    _box(ax, dec, 9.75, 3.2, 0.8, "Generator\nlinear D -> V, log-softmax", "#e6dcf5")
    _arrow(ax, (dec, 8.7), (dec, 9.3), "(B, T, D)")
    _box(ax, dec, 11.3, 3.4, 0.6, "log-probabilities of the next word", "white")
    _arrow(ax, (dec, 10.2), (dec, 10.95), "(B, T, V)")
    return fig


def layer_gradient_norms(norm: str, N: int = 24, d_model: int = 128, d_ff: int = 512,
                         h: int = 4, vocab: int = 1000, batch: int = 16, length: int = 12,
                         seed: int = 0) -> dict[str, list[float]]:
    """Gradient norm of each encoder and decoder layer of a fresh model, after one loss.

    The loss is the usual next-word cross-entropy on random sentences: at initialisation
    the data does not matter, only how the gradient travels down the stack.
    """
    import torch
    import torch.nn.functional as F

    from .masks import make_std_mask
    from .model import make_model

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = make_model(vocab, vocab, N=N, d_model=d_model, d_ff=d_ff, h=h, dropout=0.0,
                           norm=norm)
        src = torch.randint(1, vocab, (batch, length))  # (B, S), no padding
        tgt = torch.randint(1, vocab, (batch, length + 1))  # (B, T + 1)
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]  # (B, T): input shifted right, next words
    logp = model.generator(model(src, tgt_in, None, make_std_mask(tgt_in, 0)))  # (B, T, V)
    F.nll_loss(logp.reshape(-1, vocab), tgt_out.reshape(-1)).backward()

    def grad_norm(layer) -> float:
        return torch.sqrt(sum(p.grad.square().sum() for p in layer.parameters())).item()

    return {"encoder": [grad_norm(layer) for layer in model.encoder.layers],
            "decoder": [grad_norm(layer) for layer in model.decoder.layers]}


@figure("06_grad_norms", "Gradient norm of each layer of a fresh 24-layer model (log scale). "
        "With post-norm (the paper) the decoder's gradient shrinks layer by layer towards the "
        "input, more than a thousandfold; with pre-norm (the article's code) all decoder "
        "layers stay within a factor of about 2. The encoder, fed through every decoder "
        "layer's cross-attention, varies by less than 4x with both.")
def grad_norms_figure(norms: dict[str, dict[str, list[float]]] | None = None) -> Figure:
    """Pre-norm vs post-norm gradient norms per layer, encoder and decoder side by side."""
    from .plots import curves, grid

    if norms is None:
        norms = {n: layer_gradient_norms(n) for n in ("pre", "post")}
    fig, axes = grid(2, cols=2, size=4.2)
    for ax, part in zip(axes, ("encoder", "decoder"), strict=True):
        ys = {f"{n}-norm": norms[n][part] for n in ("pre", "post")}
        layers = range(1, len(ys["pre-norm"]) + 1)
        curves(layers, ys, ax=ax, logy=True, marker=".", title=f"{part} layers",
               xlabel="layer (1 = nearest the input)", ylabel="gradient norm")
    return fig


# --- Chapter 0 ---
DEMO_NUMBER = 354_782  # German puts the ones before the tens: vierundfünfzig = "fifty-four"


def cross_attention_figure(att, layer: int = -1, title: str = "", ax=None) -> Figure:
    """One layer's cross-attention of a translation (a `pretrained.Attention`), heads averaged.

    Rows are the words the decoder wrote (its queries), columns the source tokens it read
    (the encoder's keys).
    """
    from .plots import heatmap, label_inches

    L = att.cross.shape[0]
    layer = layer % L
    if ax is None:
        # Fixed margins sized to the longest labels, not constrained layout: the layout pass
        # was 40% of each redraw of chapter 0's widget.
        width, height = 6.4, 5.2
        fig, ax = plt.subplots(figsize=(width, height))
        lines = title.count("\n") + 2  # the title, then the line about the layer
        fig.subplots_adjust(
            left=(0.55 + label_inches(att.written)) / width,
            bottom=(0.55 + label_inches(att.source, 0.7)) / height,
            right=0.98, top=1 - (0.1 + 0.25 * lines) / height)
    ax = heatmap(att.cross[layer].mean(0), att.written, att.source, ax=ax, vmin=0.0, vmax=1.0,
                 xlabel="source tokens read (keys)", ylabel="English words written (queries)",
                 title=f"{title}\ncross-attention, layer {layer + 1} of {L}, heads averaged",
                 figsize=(6.4, 5.2))
    return ax.figure


@figure("00_cross_attention", "Cross-attention of the shipped number translator while it "
        "writes 354,782 from the German 'dreihundertvierundfünfzigtausendsiebenhundert"
        "zweiundachtzig' (last layer, heads averaged). Each English digit word (three, fifty, "
        "four, seven, eighty, two) looks hardest at its German morpheme, even where the order "
        "flips: 'fifty' reads 'fünfzig' and 'four' reads 'vier', although German says 'vier "
        "und fünfzig'. Words without a German partner ('and', '-', ',') spread their weight. "
        "Nobody told the model this alignment; it learned it from 60,000 translated numbers.")
def demo_attention() -> Figure:
    """The chapter 0 demo heatmap for the README."""
    from . import pretrained
    from .tasks import number_words

    att = pretrained.load("numbers").attention(number_words(DEMO_NUMBER, "de"))
    return cross_attention_figure(att, title=f"German {DEMO_NUMBER:,} -> English")


# --- Chapter 7 ---
SMOOTHING_TOKENS = ["<pad>", "the", "cat", "drinks", "milk"]
SMOOTHING_TARGET = [1, 2, 3, 4, 0]  # "the cat drinks milk", then one padded position
SCHEDULES = [(512, 4000, 1.0), (512, 8000, 1.0), (256, 4000, 1.0)]  # (d_model, warmup, factor)


def smoothed_targets(target, size: int, padding_idx: int, smoothing: float):
    """The target distribution (N, V) that `LabelSmoothing` builds for the ids `target` (N,)."""
    import torch

    from .training import LabelSmoothing

    target = torch.as_tensor(target)
    criterion = LabelSmoothing(size, padding_idx, smoothing)
    criterion(torch.zeros(len(target), size), target)  # any log-probabilities: we want q
    return criterion.true_dist


def smoothing_penalty(p, smoothing: float, size: int = 5) -> list[float]:
    """Label-smoothed loss of one position when the model gives probability p to the right token.

    <pad> is id 0 and gets probability 0; the rest, 1 - p, is spread evenly over the V - 2
    other tokens. `p` may be a number or a sequence of them: one loss each.
    """
    import torch

    from .training import LabelSmoothing

    p = torch.as_tensor(p, dtype=torch.float32).reshape(-1)  # (N,)
    probs = ((1 - p) / (size - 2)).unsqueeze(1).repeat(1, size)  # (N, V)
    probs[:, 1] = p  # token 1 is the right one
    probs[:, 0] = 0.0  # <pad>
    criterion = LabelSmoothing(size, padding_idx=0, smoothing=smoothing)
    target = torch.ones(1, dtype=torch.long)  # (1,)
    return [criterion(row.log().unsqueeze(0), target).item() for row in probs]


def schedule_curves(settings, steps: int = 20_000, at=None) -> dict[str, list[float]]:
    """lr at optimizer steps 1..steps (or at the steps `at`) for each (d_model, warmup, factor).

    The values come from `training.rate`.
    """
    from .training import rate

    at = range(1, steps + 1) if at is None else [int(s) for s in at]
    out = {}
    for d_model, warmup, factor in settings:
        name = f"d_model={d_model}, warmup={warmup}" + (f", factor={factor:g}" if factor != 1
                                                         else "")
        out[name] = [rate(s, d_model, factor, warmup) for s in at]
    return out


@figure("07_label_smoothing",
        "Left: the targets LabelSmoothing builds for \"the cat drinks milk\" plus one padded "
        "position, with epsilon = 0.1 and a 5-token vocabulary: 0.9 on the right word, 0.1 / 3 "
        "on each other word, 0 in the <pad> column and on the padded row. Right: the loss of "
        "one position against the probability p the model gives the right word (the rest, "
        "1 - p, spread evenly over the other non-pad words). Without smoothing it falls all "
        "the way to p = 1; with epsilon it is smallest at p = 1 - epsilon (dots) and rises "
        "beyond: over-confidence is penalised.")
def label_smoothing_figure(smoothing: float = 0.1,
                           epsilons: tuple[float, ...] = (0.0, 0.1, 0.3)) -> Figure:
    """The smoothed target distribution as a heatmap, and the loss against p for a few epsilons."""
    import numpy as np

    from .plots import curves, heatmap

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


@figure("07_schedule",
        "The paper's learning rate, factor x d_model^-0.5 x min(step^-0.5, step x "
        "warmup^-1.5): it rises linearly for `warmup` steps, peaks there, then decays like "
        "1/sqrt(step). A longer warm-up peaks later and lower; a smaller d_model scales the "
        "whole curve up (256 gives sqrt(2) = 1.41 times the rate of 512).")
def schedule_figure() -> Figure:
    from .plots import curves

    ax = curves(range(1, 20_001), schedule_curves(SCHEDULES), figsize=(7.0, 4.0),
                title="lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)",
                xlabel="optimizer step", ylabel="learning rate")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    return ax.figure


# --- Chapter 8 ---
# The shipped numbers model's cross-attention head that follows the source word being
# translated (found by looking at all 8 heads; tests/test_chapter_08.py checks it still does).
ALIGN_LAYER, ALIGN_HEAD = 1, 3


@figure("08_cross_attention", "Cross-attention of the shipped numbers model (layer 1, head 3) "
        "while it translates 345,678 from German (left) and Japanese (right). Each row is the "
        "decoder position that has read the word on the left of the arrow and writes the word "
        "on its right; each column a source token. German says the units before the tens "
        "(fünf-und-vierzig), so the bright path jumps ahead to 'vierzig' to write 'forty' and "
        "back to 'fünf' for 'five'. Japanese groups by 10,000: 三十四万 is 34 x 10,000, so "
        "'hundred' is written while looking at 十 (三十万 = 300 thousand).")
def numbers_cross_attention(number: int = 345_678, layer: int = ALIGN_LAYER,
                            head: int = ALIGN_HEAD, translator=None) -> Figure:
    """One cross-attention head of the numbers model, on `number` in German and in Japanese."""
    from .plots import heatmap
    from .pretrained import load
    from .widgets import number_attention

    translator = translator or load("numbers")
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 5.0), layout="constrained")
    for ax, lang in zip(axes, ("de", "ja"), strict=True):
        view = number_attention(translator, str(number), lang)
        heatmap(view.weights["cross"][layer, head], view.query_labels, view.src_tokens, ax=ax,
                vmin=0.0, vmax=1.0, annot=False, cbar=lang == "ja", title=view.source,
                xlabel="key: source token", ylabel="query: read → written" if lang == "de" else "")
        if lang == "ja":
            ax.tick_params(axis="x", labelrotation=0)  # one character each: upright
    fig.suptitle(f"cross-attention, layer {layer}, head {head}: {number:,} → "
                 f"{view.translation}", fontsize="medium")
    return fig


# --- Chapter 9 ---

def pair_padding(src: list[int], tgt: list[int], batches: list[list[int]]) -> float:
    """The share of <pad> in the source and target tensors of `batches`, both sides together."""
    from .data import padding_counts

    (rs, ts), (rt, tt) = padding_counts(src, batches), padding_counts(tgt, batches)
    return 1.0 - (rs + rt) / (ts + tt)


def corpus_lengths(folder=None, vocab_size: int = 8000) -> tuple[list[int], list[int], str]:
    """Subword lengths of the training pairs (German, English) and what the corpus was.

    Multi30k where `multi30k.find_corpus` finds it, else the generated stand-in sample.
    """
    import tempfile

    from .multi30k import find_corpus, write_sample
    from .tasks import make_data

    found = find_corpus(folder)
    name = "Multi30k train"
    if found is None:
        found = write_sample(tempfile.mkdtemp(prefix="annotated-sample-"), n_train=3000)
        name, vocab_size = "generated sample (Multi30k not found)", 200
    data = make_data("multi30k", folder=found, vocab_size=vocab_size)
    return [len(e.src) for e in data.train], [len(e.tgt) for e in data.train], name


@figure("09_bucketing", "Share of padding in each batch of 128 sentence pairs (German and "
        "English tensors together), batches sorted from least to most padded. Random batches "
        "spend more than half of their tensors on <pad>; batches bucketed by the pair's total "
        "length, as training makes them, about a fifth (Multi30k's training split where it "
        "is found).")
def bucketing_figure(lengths: tuple[list[int], list[int], str] | None = None,
                     batch_size: int = 128) -> Figure:
    """Padding per batch: random batches against `bucket_batches`, as training makes them."""
    from .data import bucket_batches
    from .plots import curves

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

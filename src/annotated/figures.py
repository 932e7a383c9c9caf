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

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

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

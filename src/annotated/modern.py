"""Chapter 10: from 2017 to today, the switches that later models changed.

Each switch is one small module here, used by `make_model(..., norm_type=, ffn=, position=,
kv_heads=, arch=)`; the defaults keep the 2017 model.

- `RMSNorm`: LayerNorm without the mean and the bias (Zhang and Sennrich, 2019).
- `SwiGLU`: a gated feed-forward block (Shazeer, 2020), as wide in parameters as the ReLU one.
- `RotaryEmbedding`: positions as rotations of queries and keys (Su et al., 2021).
- `LearnedPositions` and `NoPositions`: the two other ways to give a model its positions.
- Grouped-query attention lives in `MultiHeadedAttention(kv_heads=...)` (annotated.multihead),
  the decoder-only model in annotated.decoder_only.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ABLATION_FILE = "ablation_numbers.json"


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight: LayerNorm without subtracting the mean, no bias."""

    def __init__(self, size: int, eps: float = 1e-6):
        super().__init__()
        if size <= 0:
            raise ValueError(f"RMSNorm needs a positive size, got {size}")
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))  # (D,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # float32 for the mean of squares: under fp16 autocast the squares can overflow.
        rms = torch.rsqrt(x.float().pow(2).mean(dim=-1, keepdim=True) + self.eps)  # (..., 1)
        return (x.float() * rms).to(x.dtype) * self.weight  # (..., D)


def swiglu_hidden(d_model: int, d_ff: int) -> int:
    """The SwiGLU hidden width whose 3 * d_model * hidden weights best match the ReLU block's.

    The ReLU block (`PositionwiseFeedForward`, with biases) has 2 * d_model * d_ff + d_ff +
    d_model parameters; SwiGLU has three bias-free matrices, 3 * d_model * hidden. The width
    is the integer nearest to their ratio, about 2/3 of d_ff (the rule of Shazeer, 2020, and
    LLaMA), so the two counts differ by at most 1.5 * d_model.
    """
    if d_model <= 0 or d_ff <= 0:
        raise ValueError(f"d_model and d_ff must be positive, got {d_model} and {d_ff}")
    relu_params = 2 * d_model * d_ff + d_ff + d_model
    return max(1, round(relu_params / (3 * d_model)))


class SwiGLU(nn.Module):
    """FFN(x) = W_2 (silu(W_1 x) * W_3 x): a gate (W_1) decides how much of W_3 x passes."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.1):
        super().__init__()
        hidden = swiglu_hidden(d_model, d_ff)
        self.w1 = nn.Linear(d_model, hidden, bias=False)  # the gate
        self.w3 = nn.Linear(d_model, hidden, bias=False)  # the value it gates
        self.w2 = nn.Linear(hidden, d_model, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gated = F.silu(self.w1(x)) * self.w3(x)  # (B, S, D) -> (B, S, hidden)
        return self.w2(self.dropout(gated))  # (B, S, hidden) -> (B, S, D)


def rotate_pair(x1: torch.Tensor, x2: torch.Tensor, angle: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate the 2-D points (x1, x2) by `angle` (radians): (x1 cos - x2 sin, x1 sin + x2 cos)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    return x1 * cos - x2 * sin, x1 * sin + x2 * cos


class RotaryEmbedding(nn.Module):
    """Rotate queries or keys by their position: RoPE (Su et al., 2021).

    Pairing convention: split halves, as GPT-NeoX and Hugging Face's LLaMA (`rotate_half`;
    Meta's original LLaMA code pairs neighbours 2i, 2i + 1 instead): dimension i is
    paired with dimension i + d_k/2, and pair i turns by position * base^(-2i / d_k). A query
    at m and a key at n then score q . k as if only m - n had been applied.
    """

    def __init__(self, d_k: int, base: float = 10000.0):
        super().__init__()
        if d_k <= 0 or d_k % 2:
            raise ValueError(f"RoPE rotates pairs of dimensions, so d_k must be even and "
                             f"positive, got {d_k}; pick d_model and h with d_model / h even")
        self.d_k = d_k
        self.base = base
        inv_freq = base ** (-torch.arange(0, d_k, 2, dtype=torch.float32) / d_k)  # (d_k/2,)
        # A buffer that checkpoints do not store: it is a function of d_k and base.
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def angles(self, length: int, offset: int = 0) -> torch.Tensor:
        """(length, d_k/2) angles: position (offset + t) times each pair's frequency."""
        positions = torch.arange(offset, offset + length, dtype=torch.float32,
                                 device=self.inv_freq.device)
        return torch.outer(positions, self.inv_freq)  # (T, d_k/2)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Rotate (B, h, T, d_k) queries or keys as positions offset, ..., offset + T - 1."""
        if x.size(-1) != self.d_k:
            raise ValueError(f"RotaryEmbedding was built for d_k={self.d_k}, got vectors of "
                             f"size {x.size(-1)}")
        half = self.d_k // 2
        angle = self.angles(x.size(-2), offset)  # (T, d_k/2), float32 for precision
        r1, r2 = rotate_pair(x[..., :half].float(), x[..., half:].float(), angle)
        return torch.cat([r1, r2], dim=-1).to(x.dtype)  # (B, h, T, d_k)


class LearnedPositions(nn.Module):
    """A trained (max_len, d_model) table of positions added to the embeddings (BERT, GPT-2)."""

    def __init__(self, d_model: int, dropout: float, max_len: int = 5000):
        super().__init__()
        self.table = nn.Embedding(max_len, d_model)
        self.max_len = max_len
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Add the rows of positions start, start+1, ... (start > 0: step-by-step decoding)."""
        end = start + x.size(1)
        if end > self.max_len:
            raise ValueError(f"sequence length {end} exceeds the learned table's max_len "
                             f"{self.max_len}; build the model with max_len >= {end}")
        positions = torch.arange(start, end, device=x.device)  # (S,)
        return self.dropout(x + self.table(positions).to(x.dtype))  # (B, S, D) + (S, D)


class NoPositions(nn.Module):
    """Dropout only: with RoPE the positions enter inside attention, not at the embeddings."""

    def __init__(self, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """`start` is accepted (and unused) so the decoders call every position module alike."""
        return self.dropout(x)


def cache_bytes_formula(n_layers: int, kv_heads: int, d_k: int, bytes_per_value: int = 4) -> int:
    """Bytes one more decoded token adds to a self-attention cache: K and V in every layer."""
    return n_layers * 2 * kv_heads * d_k * bytes_per_value


def ablation_path() -> Path:
    """Where the ablation's results live inside the installed package."""
    return Path(str(resources.files("annotated") / "models" / ABLATION_FILE))


def ablation_results(path: Path | str | None = None) -> list[dict]:
    """The rows benchmarks/ablation.py wrote: one dict per model variant (see docs/ablation.md).

    Each row has "name", "config" (the switches), "params", "step_ms", "steps_to_99",
    "exact_match", "cache_bytes_per_token", "seeds" and "per_seed" (the same values per seed).
    """
    path = Path(path) if path is not None else ablation_path()
    if not path.is_file():
        raise FileNotFoundError(f"no ablation results at {path}; run "
                                "`python benchmarks/ablation.py` to make them")
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "name" in r for r in rows):
        raise ValueError(f"{path} is not a list of ablation rows with a 'name' each")
    return rows


def steps_to_reach(steps: list[int], scores: list[float], target: float = 0.99) -> int | None:
    """The first step whose score reaches `target`, or None if none does."""
    for step, score in zip(steps, scores, strict=True):
        if not math.isnan(score) and score >= target:
            return step
    return None


def seed_spread(row: dict) -> float:
    """How far one row's seeds fall apart in test exact match: its noise."""
    values = [s["exact_match"] for s in row["per_seed"].values()]
    return max(values) - min(values)


def ablation_verdicts(rows: list[dict]) -> list[tuple[str, float, float, str]]:
    """(name, gap to the 2017 row in exact match, the seeds' spread, verdict) for each other
    row: a gap counts only if it is larger than both rows' spread between seeds; a row with one
    seed has no spread, so a gap beyond the other row's spread is "one seed"."""
    base = next(r for r in rows if not r["config"])
    out = []
    for r in rows:
        if r is base:
            continue
        gap = r["exact_match"] - base["exact_match"]
        noise = max(seed_spread(r), seed_spread(base))
        if abs(gap) <= noise:  # inside a spread already seen: no more seeds can make it count
            verdict = "within the seeds' spread"
        elif min(len(r["per_seed"]), len(base["per_seed"])) < 2:
            verdict = "one seed: its spread is unknown"
        else:
            verdict = "larger than the seeds' spread"
        out.append((r["name"], gap, noise, verdict))
    return out

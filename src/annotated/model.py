"""Chapter 6: the whole encoder-decoder, assembled by make_model."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .attention import validate_backend
from .decoder_only import DecoderOnly, DecoderOnlyLayer
from .embeddings import Embeddings
from .fast import make_fast
from .layers import (
    LAYER_NORM_EPS,
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    PositionwiseFeedForward,
    SublayerConnection,
    validate_norm,
)
from .modern import LearnedPositions, NoPositions, RMSNorm, RotaryEmbedding, SwiGLU
from .multihead import KVCache, MultiHeadedAttention
from .positional import PositionalEncoding

SWITCHES = {"norm_type": ("layer", "rms"), "ffn": ("relu", "gelu", "swiglu"),
            "position": ("sinusoidal", "learned", "rope"),
            "arch": ("encoder-decoder", "decoder")}


@dataclass(frozen=True)
class ModelConfig:
    """Every size and switch of a model; saved with checkpoints to rebuild it."""

    src_vocab: int
    tgt_vocab: int
    N: int = 6
    d_model: int = 512
    d_ff: int = 2048
    h: int = 8
    dropout: float = 0.1
    norm: str = "pre"
    tie_embeddings: bool = False
    attn_backend: str = "auto"
    max_len: int = 5000
    fast: bool = False  # the fast path (annotated.fast): same weights, fused computations
    # Chapter 10's switches; the defaults are the 2017 model (old checkpoints lack them).
    norm_type: str = "layer"  # "layer" (LayerNorm) or "rms" (RMSNorm)
    ffn: str = "relu"  # "relu", "gelu" or "swiglu"
    position: str = "sinusoidal"  # "sinusoidal", "learned" or "rope"
    kv_heads: int | None = None  # key/value heads (None = h): grouped- or multi-query
    arch: str = "encoder-decoder"  # or "decoder": one causal stack of 2N layers

    def __post_init__(self):
        for name in ("src_vocab", "tgt_vocab", "N", "d_model", "d_ff", "h", "max_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.d_model % self.h:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by h ({self.h}) so that each "
                f"head gets d_k = d_model / h dimensions; for example h=8 with d_model=512"
            )
        if self.d_model % 2:
            raise ValueError(f"d_model must be even for the sin/cos encoding, got {self.d_model}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        validate_norm(self.norm)
        for name, allowed in SWITCHES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, "
                                 f"got {getattr(self, name)!r}")
        if self.kv_heads is not None and (
                not isinstance(self.kv_heads, int) or self.kv_heads <= 0
                or self.h % self.kv_heads):
            raise ValueError(f"kv_heads must be None (= h) or a divisor of h={self.h}, got "
                             f"{self.kv_heads!r}; try one of "
                             f"{[d for d in range(1, self.h + 1) if self.h % d == 0]}")
        if self.position == "rope" and (self.d_model // self.h) % 2:
            raise ValueError(f"position='rope' rotates pairs of dimensions, so d_k = d_model "
                             f"/ h must be even, got {self.d_model} / {self.h}")
        if self.arch == "decoder" and self.src_vocab != self.tgt_vocab:
            raise ValueError(f"arch='decoder' reads source and target with one joint "
                             f"vocabulary, but src_vocab={self.src_vocab} and tgt_vocab="
                             f"{self.tgt_vocab}; build it with annotated.decoder_only.joint_vocab")
        validate_backend(self.attn_backend)
        if self.tie_embeddings and self.src_vocab != self.tgt_vocab:
            raise ValueError(
                f"tie_embeddings needs one shared vocabulary, but src_vocab={self.src_vocab} "
                f"and tgt_vocab={self.tgt_vocab}; build a joint vocabulary or set "
                "tie_embeddings=False"
            )

    def to_dict(self) -> dict:
        """A plain dict, for checkpoints."""
        return asdict(self)


class Generator(nn.Module):
    """Linear projection to the vocabulary, then log-softmax."""

    def __init__(self, d_model: int, vocab: int):
        super().__init__()
        self.proj = nn.Linear(d_model, vocab)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The scores before the softmax, in float32: (B, T, D) -> (B, T, V)."""
        # float32: under bf16/fp16 autocast the loss would lose its small terms.
        return self.proj(x).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.logits(x), dim=-1)  # (B, T, D) -> (B, T, V)


class DecoderCache:
    """Every decoder layer's (self-attention, cross-attention) KVCache during decoding."""

    def __init__(self, n_layers: int):
        self.layers = [(KVCache(static=False), KVCache(static=True)) for _ in range(n_layers)]

    @property
    def length(self) -> int:
        """How many target positions have been decoded so far."""
        return self.layers[0][0].length

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows `index` in every layer (beam search moves hypotheses around)."""
        for self_kv, src_kv in self.layers:
            self_kv.reorder(index)
            src_kv.reorder(index)


class EncoderDecoder(nn.Module):
    """Encoder, decoder, the two embeddings and the generator."""

    def __init__(self, encoder: Encoder, decoder: Decoder, src_embed: nn.Module,
                 tgt_embed: nn.Module, generator: Generator):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.src_embed = src_embed
        self.tgt_embed = tgt_embed
        self.generator = generator
        self.config: ModelConfig | None = None

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None,
                tgt_mask: torch.Tensor | None) -> torch.Tensor:
        """Decoder output (B, T, D) for source ids (B, S) and shifted target ids (B, T)."""
        return self.decode(self.encode(src, src_mask), src_mask, tgt, tgt_mask)

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor | None) -> torch.Tensor:
        """Source ids (B, S) -> memory (B, S, D)."""
        return self.encoder(self.src_embed(src), src_mask)

    def decode(self, memory: torch.Tensor, src_mask: torch.Tensor | None, tgt: torch.Tensor,
               tgt_mask: torch.Tensor | None, cache: DecoderCache | None = None) -> torch.Tensor:
        """Memory (B, S, D) and target ids (B, T) -> decoder states (B, T, D).

        With a `cache` (from `new_cache()`), `tgt` holds only the positions not decoded yet
        (usually one) and the keys and values of the earlier ones are taken from the cache.
        """
        if cache is None:
            return self.decoder(self.tgt_embed(tgt), memory, src_mask, tgt_mask)
        lookup, position = self.tgt_embed  # Embeddings, PositionalEncoding (model_from_config)
        x = position(lookup(tgt), start=cache.length)  # (B, T_new, D) at positions past..past+T_new
        return self.decoder(x, memory, src_mask, tgt_mask, cache.layers)

    def new_cache(self) -> DecoderCache:
        """An empty key/value cache for step-by-step decoding with `decode(..., cache=...)`."""
        return DecoderCache(len(self.decoder.layers))


def make_model(
    src_vocab: int,
    tgt_vocab: int,
    N: int = 6,
    d_model: int = 512,
    d_ff: int = 2048,
    h: int = 8,
    dropout: float = 0.1,
    **options,
) -> EncoderDecoder | DecoderOnly:
    """Build a Transformer from its sizes, with Xavier-uniform initial weights.

    `options` are ModelConfig's other fields (norm, tie_embeddings, attn_backend, max_len,
    fast, and chapter 10's norm_type, ffn, position, kv_heads, arch); any other keyword is a
    TypeError that lists them.
    """
    valid = [f.name for f in fields(ModelConfig)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(f"make_model() got unknown keyword(s) {', '.join(map(repr, unknown))}; "
                        f"valid keywords: {', '.join(valid)}")
    cfg = ModelConfig(src_vocab, tgt_vocab, N, d_model, d_ff, h, dropout, **options)
    return model_from_config(cfg)


def model_from_config(cfg: ModelConfig) -> EncoderDecoder | DecoderOnly:
    """Build the model a ModelConfig describes."""
    c = copy.deepcopy
    attn = MultiHeadedAttention(cfg.h, cfg.d_model, cfg.dropout, backend=cfg.attn_backend,
                                kv_heads=cfg.kv_heads)
    ff = _feed_forward(cfg)
    position = _positions(cfg)
    if cfg.position == "rope":  # chapter 10: positions rotate self-attention's queries and keys
        attn.rope = RotaryEmbedding(cfg.d_model // cfg.h)
    cross = c(attn)
    cross.rope = None  # queries and keys of two different sequences: no relative position
    if cfg.arch == "decoder":
        model = _decoder_only(cfg, attn, ff, position)
    else:
        model = EncoderDecoder(
            Encoder(EncoderLayer(cfg.d_model, c(attn), c(ff), cfg.dropout, cfg.norm), cfg.N),
            Decoder(DecoderLayer(cfg.d_model, c(attn), cross, c(ff), cfg.dropout, cfg.norm),
                    cfg.N),
            nn.Sequential(Embeddings(cfg.d_model, cfg.src_vocab), c(position)),
            nn.Sequential(Embeddings(cfg.d_model, cfg.tgt_vocab), c(position)),
            Generator(cfg.d_model, cfg.tgt_vocab),
        )
    if cfg.tie_embeddings:
        # One matrix for source lookup, target lookup and output projection (the paper, 3.4).
        lookups = ([model.embed[0]] if cfg.arch == "decoder"
                   else [model.src_embed[0], model.tgt_embed[0]])
        for lookup in lookups:
            lookup.lut.weight = model.generator.proj.weight
    if cfg.norm_type == "rms":
        _swap_norms(model)
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    if cfg.fast:
        make_fast(model)
    model.config = cfg
    return model


def _feed_forward(cfg: ModelConfig) -> nn.Module:
    """The position-wise block chapter 10's `ffn` switch names."""
    if cfg.ffn == "swiglu":
        return SwiGLU(cfg.d_model, cfg.d_ff, cfg.dropout)
    return PositionwiseFeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, activation=cfg.ffn)


def _positions(cfg: ModelConfig) -> nn.Module:
    """The module that adds positions to the embeddings (dropout only under RoPE)."""
    if cfg.position == "learned":
        return LearnedPositions(cfg.d_model, cfg.dropout, cfg.max_len)
    if cfg.position == "rope":
        return NoPositions(cfg.dropout)
    return PositionalEncoding(cfg.d_model, cfg.dropout, cfg.max_len)


def _decoder_only(cfg: ModelConfig, attn: MultiHeadedAttention, ff: nn.Module,
                  position: nn.Module) -> DecoderOnly:
    """One causal stack of 2N layers: as many as the encoder and the decoder together."""
    sublayer = SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm)
    final = (nn.LayerNorm(cfg.d_model, eps=LAYER_NORM_EPS) if cfg.norm == "pre"
             else nn.Identity())
    layer = DecoderOnlyLayer(cfg.d_model, attn, ff, sublayer)
    embed = nn.Sequential(Embeddings(cfg.d_model, cfg.tgt_vocab), position)
    return DecoderOnly(layer, 2 * cfg.N, embed, Generator(cfg.d_model, cfg.tgt_vocab), final)


def _swap_norms(model: nn.Module) -> None:
    """Replace every LayerNorm by an RMSNorm of the same size and epsilon."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.LayerNorm):
                setattr(parent, name, RMSNorm(child.normalized_shape[0], eps=child.eps))


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode for the block, then back in the mode it had, even on error."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def keep_attention(model: nn.Module, on: bool = True) -> nn.Module:
    """Make every attention layer keep its weights in `.attn` (the explicit path) or not."""
    for m in model.modules():
        if isinstance(m, MultiHeadedAttention):
            m.keep_attn = on
    return model


ATTENTION_PARTS = {"encoder": "encoder self-attention", "decoder": "decoder self-attention",
                   "cross": "cross-attention (decoder queries, encoder keys)"}


def collect_attention(model: EncoderDecoder, part: str = "encoder", index: int = 0) -> torch.Tensor:
    """Stack the kept weights of one kind of attention, layer by layer: (L, H, Tq, Tk).

    Run the model after `keep_attention(model)` (or with attn_backend="naive") first;
    `index` picks the batch element.
    """
    if part not in ATTENTION_PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {', '.join(ATTENTION_PARTS)}")
    stack = model.encoder.layers if part == "encoder" else model.decoder.layers
    mods = [layer.self_attn if part != "cross" else layer.src_attn for layer in stack]
    if any(m.attn is None for m in mods):
        raise ValueError("no attention weights kept: call annotated.keep_attention(model), "
                         "then run the model once (model.encode / model.decode) before "
                         "collecting them")
    return torch.stack([m.attn[index] for m in mods]).detach().cpu()  # (L, H, Tq, Tk)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, counting a shared (tied) matrix once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

"""Chapter 10: a decoder-only Transformer (the GPT shape) that translates by continuing text.

One stack of causal self-attention layers reads "source <s> target </s>" over one joint
vocabulary; `<s>` is the separator, so the target starts where the encoder-decoder's
decoder starts. The loss counts the target tokens only: `encode` returns the source ids as
the prompt, and `decode` runs the stack over prompt + target and returns the target's
states, so the training loop, greedy decoding and beam search call it exactly as they call
the encoder-decoder. Prompts are left-padded (pads first), so every row's target starts in
the same column and the step-by-step cache stays one tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .data import SPECIALS, Vocab
from .masks import subsequent_mask
from .multihead import KVCache, clones
from .tasks import TaskData


class DecoderOnlyLayer(nn.Module):
    """Causal self-attention, then feed-forward, each inside a SublayerConnection."""

    def __init__(self, size: int, self_attn: nn.Module, feed_forward: nn.Module,
                 sublayer: nn.Module):
        super().__init__()
        self.size = size
        self.self_attn = self_attn
        self.feed_forward = feed_forward
        self.sublayer = clones(sublayer, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None,
                cache: KVCache | None = None) -> torch.Tensor:
        """With a `cache`, x holds only the new positions; their keys and values are added."""
        x = self.sublayer[0](x, lambda x: self.self_attn(x, x, x, mask, cache=cache))
        return self.sublayer[1](x, self.feed_forward)  # (B, T, D)


class DecoderOnlyCache:
    """Every layer's self-attention KVCache, and which cached positions are real (not <pad>)."""

    def __init__(self, n_layers: int):
        self.layers = [KVCache(static=False) for _ in range(n_layers)]
        self.real: torch.Tensor | None = None  # (B, T_past) bool: False at the prompt's pads

    @property
    def length(self) -> int:
        """How many positions (prompt included) have been fed so far."""
        return self.layers[0].length

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows `index` in every layer (beam search moves hypotheses around)."""
        for kv in self.layers:
            kv.reorder(index)
        if self.real is not None:
            self.real = self.real.index_select(0, index)


def left_pad(ids: torch.Tensor, pad: int) -> torch.Tensor:
    """Move each row's `pad` ids to its front, keeping the other ids in order: (B, S) -> (B, S)."""
    order = torch.argsort((ids != pad).int(), dim=1, stable=True)  # pads (0) first
    return ids.gather(1, order)


class DecoderOnly(nn.Module):
    """N causal layers over one joint vocabulary, with a final norm and the Generator."""

    def __init__(self, layer: DecoderOnlyLayer, N: int, embed: nn.Module, generator: nn.Module,
                 final_norm: nn.Module, pad: int = 0):
        super().__init__()
        self.layers = clones(layer, N)
        self.norm = final_norm
        self.embed = embed  # nn.Sequential(Embeddings, a position module taking start=)
        self.generator = generator
        self.pad = pad
        self.config = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                cache: DecoderOnlyCache | None = None) -> torch.Tensor:
        """Token ids (B, T) -> states (B, T, D); `mask` (B or 1, T, T_keys), causal if None.

        With a `cache`, x holds only the positions not fed yet, placed after the cached ones.
        """
        lookup, position = self.embed
        start = 0 if cache is None else cache.length
        if mask is None:  # position start + i sees keys 0 .. start + i
            mask = subsequent_mask(start + x.size(1)).to(x.device)[:, start:]  # (1, T, T_keys)
        h = position(lookup(x), start=start)  # (B, T, D)
        for i, layer in enumerate(self.layers):
            h = layer(h, mask, None if cache is None else cache.layers[i])
        return self.norm(h)

    # --- The encoder-decoder's interface: training and decoding call these unchanged.

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Source ids (B, S) -> the prompt (B, S): the same ids, left-padded. No layer runs."""
        return left_pad(src, self.pad)

    def decode(self, memory: torch.Tensor, src_mask: torch.Tensor | None, tgt: torch.Tensor,
               tgt_mask: torch.Tensor | None = None, cache: DecoderOnlyCache | None = None
               ) -> torch.Tensor:
        """The prompt (B, S) and target ids (B, T) -> the target's states (B, T, D).

        The mask is built here (causal, pads of the prompt hidden), so `src_mask` and
        `tgt_mask` are ignored. With a `cache`, the first call feeds prompt + tgt, later
        calls only tgt, the positions not decoded yet.
        """
        B, T = tgt.shape
        new = torch.ones(B, T, dtype=torch.bool, device=tgt.device)
        if cache is None or cache.length == 0:
            x = torch.cat([memory, tgt], dim=1)  # (B, S + T)
            real = torch.cat([memory != self.pad, new], dim=1)  # (B, S + T)
        else:
            x, real = tgt, torch.cat([cache.real, new], dim=1)  # (B, T), (B, past + T)
        L, past = real.size(1), real.size(1) - x.size(1)
        # Query i (at position past + i) may see real keys j <= past + i.
        causal = subsequent_mask(L).to(x.device)[:, past:]  # (1, T_new, L)
        mask = causal & real.unsqueeze(1)  # (B, T_new, L)
        if cache is not None:
            cache.real = real
        out = self(x, mask, cache)  # (B, T_new, D)
        return out[:, -T:]  # the target's positions only

    def new_cache(self) -> DecoderOnlyCache:
        """An empty key/value cache for step-by-step decoding with `decode(..., cache=...)`."""
        return DecoderOnlyCache(len(self.layers))


class Seq2SeqView(nn.Module):
    """The encoder-decoder's forward(src, tgt, src_mask, tgt_mask) over a DecoderOnly (the
    training loop calls the model so); it shares every parameter with `model`."""

    def __init__(self, model: DecoderOnly):
        super().__init__()
        self.model = model

    @property
    def generator(self) -> nn.Module:
        """The wrapped model's generator."""
        return self.model.generator

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None,
                tgt_mask: torch.Tensor | None) -> torch.Tensor:
        """The target's states (B, T, D), as EncoderDecoder.forward returns them."""
        return self.model.decode(self.model.encode(src, src_mask), src_mask, tgt, tgt_mask)


def seq2seq_view(model: nn.Module) -> nn.Module:
    """`model` itself, or a Seq2SeqView of it when it is a DecoderOnly."""
    return Seq2SeqView(model) if isinstance(model, DecoderOnly) else model


# --- The data: one joint vocabulary for both sides.


def joint_vocab(src_vocab: Vocab, tgt_vocab: Vocab) -> Vocab:
    """The specials, the source tokens, then the target tokens not among them (fixed order)."""
    seen = set(src_vocab.itos)
    tokens = src_vocab.itos + [t for t in tgt_vocab.itos[len(SPECIALS):] if t not in seen]
    return Vocab(tokens)


def joint_data(data: TaskData) -> TaskData:
    """The same examples and splits with one joint vocabulary as both source and target."""
    vocab = joint_vocab(data.src_vocab, data.tgt_vocab)
    return TaskData(data.task, data.train, data.valid, data.test, vocab, vocab,
                    dict(data.settings), data.seed, dict(data.assets))


def data_for(arch: str) -> Callable[[TaskData], TaskData]:
    """How a model of architecture `arch` wants a task's data: joint vocabulary or as is."""
    return joint_data if arch == "decoder" else (lambda data: data)

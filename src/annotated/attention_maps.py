"""One record of a model's attention: every weight of one run, with the tokens on its axes.

Chapters 0, 4, 6, 7, 8 and 9 all look at attention weights; they all hold them in an
`AttentionMaps` and draw them with `annotated.viz.draw.draw_attention`.

    >>> maps = pretrained.load("numbers").attention("einundzwanzig")
    >>> maps.weights["cross"].shape       # (L, H, Tq, Tk) = (layers, heads, queries, keys)
    >>> maps.labels("cross")              # (query labels, key labels)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .masks import subsequent_mask
from .model import ATTENTION_PARTS, EncoderDecoder, collect_attention, evaluating
from .multihead import MultiHeadedAttention


@dataclass(frozen=True)
class AttentionMaps:
    """Attention weights per part, layer and head, with the tokens that label their axes.

    `weights[part]` is (L, H, Tq, Tk). The parts of an encoder-decoder are "encoder" (source
    x source), "decoder" (target x target) and "cross" (target queries x source keys); one
    attention layer on its own (chapter 4) is recorded as the part "self" with L = 1.
    `target` is what the decoder read: `<s>` and the words before each position. Where the
    model wrote its own output (a translation), `written` holds the word each decoder
    position wrote, ending with `</s>`: position t read target[t] and wrote written[t].
    """

    weights: dict[str, torch.Tensor]
    source: list[str]
    target: list[str] = field(default_factory=list)
    written: list[str] | None = None
    text: str = ""  # what was translated, as the learner typed it
    translation: str | None = None  # the model's output as text
    reference: str | None = None  # the right translation, where it is known

    def __post_init__(self):
        for part, w in self.weights.items():
            if w.dim() != 4:
                raise ValueError(f"weights[{part!r}] must be (L, H, Tq, Tk), got shape "
                                 f"{tuple(w.shape)}; pick one batch element first, e.g. attn[0]")
            rows, cols = self.labels(part)
            if (len(rows), len(cols)) != tuple(w.shape[-2:]):
                raise ValueError(f"weights[{part!r}] is {tuple(w.shape[-2:])} (Tq, Tk) but "
                                 f"there are {len(rows)} query and {len(cols)} key labels")

    @classmethod
    def of_heads(cls, weights: torch.Tensor, tokens: Sequence[str],
                 query_tokens: Sequence[str] | None = None) -> AttentionMaps:
        """One multi-head attention layer's weights (H, Tq, Tk), or a stack (L, H, Tq, Tk)."""
        w = weights.detach().float().cpu()
        if w.dim() == 3:
            w = w.unsqueeze(0)  # (1, H, Tq, Tk): one layer
        if w.dim() != 4:
            raise ValueError(f"weights must be (H, Tq, Tk) or (L, H, Tq, Tk), got shape "
                             f"{tuple(w.shape)}; pick one batch element first, e.g. attn[0]")
        if query_tokens is None:  # self-attention: the same tokens ask and answer
            return cls({"self": w}, list(tokens))
        return cls({"cross": w}, list(tokens), list(query_tokens))

    @property
    def encoder(self) -> torch.Tensor:
        return self.weights["encoder"]

    @property
    def decoder(self) -> torch.Tensor:
        return self.weights["decoder"]

    @property
    def cross(self) -> torch.Tensor:
        return self.weights["cross"]

    @property
    def correct(self) -> bool | None:
        """Whether the translation is the reference (None where either is unknown)."""
        if self.translation is None or self.reference is None:
            return None
        return self.translation == self.reference

    def labels(self, part: str, arrows: bool = False) -> tuple[list[str], list[str]]:
        """(query labels, key labels) of one part.

        Decoder queries are labelled by the word they wrote, or with `arrows` by
        'read → written'; without a written output, by the word they read.
        """
        if part not in self.weights:
            raise ValueError(f"no part {part!r} recorded; choose one of "
                             f"{', '.join(self.weights)}")
        if part not in ("decoder", "cross"):
            return self.source, self.source
        queries = self.target
        if self.written is not None:
            queries = ([f"{r} → {w}" for r, w in zip(self.target, self.written, strict=True)]
                       if arrows else self.written)
        return queries, (self.target if part == "decoder" else self.source)


def describe_part(part: str, short: bool = False) -> str:
    """A part's name in words: 'cross-attention (decoder queries, encoder keys)', or short."""
    name = ATTENTION_PARTS.get(part, "self-attention" if part == "self" else part)
    return name.split(" (")[0] if short else name


@torch.no_grad()
def record_attention(model: EncoderDecoder, src: torch.Tensor, tgt: torch.Tensor,
                     source: Sequence[str], target: Sequence[str],
                     src_mask: torch.Tensor | None = None, **about) -> AttentionMaps:
    """Run `model` once on source ids (1, S) and target ids (1, T), keeping every weight.

    The target is fed whole (teacher forcing) under the causal mask, so each decoder position
    sees exactly what it saw when the words were decoded one at a time. `about` fills the
    record's other fields (written, text, translation, reference). The model's mode and its
    layers' keep_attn switches are as they were afterwards.
    """
    layers = [m for m in model.modules() if isinstance(m, MultiHeadedAttention)]
    kept = [m.keep_attn for m in layers]
    with evaluating(model):
        try:
            for m in layers:
                m.keep_attn = True
            memory = model.encode(src, src_mask)  # (1, S, D)
            causal = subsequent_mask(tgt.size(1)).to(tgt.device)  # (1, T, T)
            model.decode(memory, src_mask, tgt, causal)
            weights = {part: collect_attention(model, part).float() for part in ATTENTION_PARTS}
        finally:
            for m, k in zip(layers, kept, strict=True):
                m.keep_attn = k
    return AttentionMaps(weights, list(source), list(target), **about)

"""Chapter 8: the shipped number translator, and a Translator for any trained checkpoint.

    >>> from annotated import pretrained
    >>> pretrained.load("numbers").translate(["einundzwanzig", "三十四万五千六百七十八"])
    ['twenty-one', 'three hundred and forty-five thousand, six hundred and seventy-eight']

The model file lives inside the package (src/annotated/models/numbers.pt) and was made by
`python -m annotated train numbers --export src/annotated/models/numbers.pt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from .attention_maps import AttentionMaps, record_attention
from .checkpoint import load_checkpoint, model_from_checkpoint
from .data import BOS, EOS, Vocab
from .decoding import translate_tokens
from .masks import padding_mask
from .model import EncoderDecoder
from .registry import get_task
from .tasks import Task

MODELS = ("numbers",)


@dataclass
class Translator:
    """A trained model with its vocabularies and its task's text <-> token rules."""

    model: EncoderDecoder
    src_vocab: Vocab
    tgt_vocab: Vocab
    task: Task
    max_len: int
    state: dict

    @classmethod
    def from_checkpoint(cls, path: Path | str, task: str | None = None,
                        device: torch.device | str = "cpu") -> Translator:
        """Load a checkpoint written by training (or by --export), weights_only=True."""
        state = load_checkpoint(path, task)
        model, src_vocab, tgt_vocab = model_from_checkpoint(state, device)
        task_ = get_task(state["task"]).for_checkpoint(state)
        return cls(model, src_vocab, tgt_vocab, task_, state["max_len"], state)

    def translate(self, texts: list[str], beam_size: int = 1) -> list[str]:
        """Translate each text (greedy, or beam search with beam_size > 1)."""
        if isinstance(texts, str):
            raise TypeError("translate takes a list of strings; wrap one text as [text]")
        sources = [self.task.source_tokens(t) for t in texts]
        outs = translate_tokens(self.model, sources, self.src_vocab, self.tgt_vocab,
                                self.max_len, beam_size=beam_size)
        return [self.task.target_text(o) for o in outs]

    def attention(self, text: str) -> AttentionMaps:
        """Translate `text` (greedy), then rerun the model on its own output keeping weights."""
        if not isinstance(self.model, EncoderDecoder):
            raise ValueError("attention maps (encoder, decoder, cross) are drawn for the "
                             "encoder-decoder; this checkpoint is a decoder-only model "
                             "(arch='decoder'): record its layers' .attn after "
                             "annotated.keep_attention(model) instead")
        source = self.task.source_tokens(text)
        written = translate_tokens(self.model, [source], self.src_vocab, self.tgt_vocab,
                                   self.max_len)[0]
        device = next(self.model.parameters()).device
        src = torch.tensor([self.src_vocab.encode(source)], device=device)  # (1, S)
        tgt = torch.tensor([self.tgt_vocab.encode(written, bos=True)], device=device)  # (1, T)
        return record_attention(self.model, src, tgt, source, [BOS, *written],
                                padding_mask(src, self.src_vocab.pad), written=[*written, EOS],
                                text=text, translation=self.task.target_text(written))


def model_path(name: str) -> Path:
    """Where the shipped model `name` lives inside the installed package."""
    if name not in MODELS:
        raise ValueError(f"no pretrained model {name!r}; shipped: {', '.join(MODELS)}")
    return Path(str(resources.files("annotated") / "models" / f"{name}.pt"))


def load(name: str = "numbers", device: torch.device | str = "cpu") -> Translator:
    """The shipped model `name` as a Translator; works offline."""
    path = model_path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"the package has no {path.name}; make it with `python -m annotated train {name} "
            f"--export src/annotated/models/{name}.pt`")
    return Translator.from_checkpoint(path, name, device)

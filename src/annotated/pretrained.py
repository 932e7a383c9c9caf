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

from .checkpoint import load_checkpoint, model_from_checkpoint
from .data import EOS, Vocab
from .decoding import translate_tokens
from .masks import padding_mask, subsequent_mask
from .model import ATTENTION_PARTS, EncoderDecoder, collect_attention, keep_attention
from .registry import get_task
from .tasks import Task

MODELS = ("numbers",)


@dataclass
class Attention:
    """Every attention weight of one translation, with the tokens that label its axes."""

    source: list[str]  # the encoder's tokens: keys of encoder self- and cross-attention
    written: list[str]  # what the decoder wrote, ending with </s>: one per decoder query
    encoder: torch.Tensor  # (L, H, S, S)
    decoder: torch.Tensor  # (L, H, T, T), T = len(written)
    cross: torch.Tensor  # (L, H, T, S): row t is what the decoder read to write written[t]


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

    @torch.no_grad()
    def attention(self, text: str) -> Attention:
        """Translate `text` (greedy), then rerun the model on its own output to keep weights."""
        source = self.task.source_tokens(text)
        written = translate_tokens(self.model, [source], self.src_vocab, self.tgt_vocab,
                                   self.max_len)[0]
        device = next(self.model.parameters()).device
        src = torch.tensor([self.src_vocab.encode(source)], device=device)  # (1, S)
        tgt = torch.tensor([self.tgt_vocab.encode(written, bos=True)], device=device)  # (1, T)
        src_mask = padding_mask(src, self.src_vocab.pad)  # (1, 1, S)
        was_training = self.model.training
        self.model.eval()
        keep_attention(self.model)
        try:
            memory = self.model.encode(src, src_mask)  # (1, S, D)
            self.model.decode(memory, src_mask, tgt, subsequent_mask(tgt.size(1)).to(device))
            weights = {part: collect_attention(self.model, part).float()  # (L, H, Tq, Tk)
                       for part in ATTENTION_PARTS}
        finally:
            keep_attention(self.model, False)
            self.model.train(was_training)
        return Attention(source, [*written, EOS], **weights)


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

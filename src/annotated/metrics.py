"""Chapter 8: how good are the translations? Exact match and corpus BLEU (sacrebleu)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .data import Vocab
from .decoding import translate_tokens
from .model import EncoderDecoder
from .tasks import Example, Task


def _check_pairs(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references; "
                         "give one reference per hypothesis")
    if not refs:
        raise ValueError("no sentences to score")


def exact_match(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """The share of hypotheses equal to their reference, character for character."""
    _check_pairs(hyps, refs)
    return sum(h == r for h, r in zip(hyps, refs, strict=True)) / len(refs)


@dataclass(frozen=True)
class Bleu:
    """A corpus BLEU score (0-100) and sacrebleu's signature, which says how it was computed.

    score = bp x the geometric mean of the 1- to 4-gram `precisions` (in %), where `bp` is
    the brevity penalty (1 unless the outputs are shorter than the references).
    """

    score: float
    signature: str
    precisions: tuple[float, ...] = ()
    bp: float = 1.0

    def __str__(self) -> str:
        return f"BLEU = {self.score:.2f}  ({self.signature})"


def corpus_bleu(hyps: Sequence[str], refs: Sequence[str], lowercase: bool = False) -> Bleu:
    """Corpus BLEU with sacrebleu's defaults (13a tokenization, one reference each).

    `lowercase=True` lower-cases both sides first (the signature then says case:lc).
    """
    from sacrebleu.metrics import BLEU

    _check_pairs(hyps, refs)
    bleu = BLEU(lowercase=lowercase)
    result = bleu.corpus_score(list(hyps), [list(refs)])
    return Bleu(result.score, str(bleu.get_signature()), tuple(result.precisions), result.bp)


@dataclass(frozen=True)
class Scores:
    """Exact match and BLEU of one group of examples (a language, or all)."""

    n: int
    exact: float
    bleu: Bleu


def evaluate(model: EncoderDecoder, examples: Sequence[Example], src_vocab: Vocab,
             tgt_vocab: Vocab, task: Task, max_len: int = 64, beam_size: int = 1,
             batch_size: int = 256) -> dict[str, Scores]:
    """Translate `examples` and score them, per group (e.g. 'de', 'ja') and for 'all'."""
    outs = translate_tokens(model, [e.src for e in examples], src_vocab, tgt_vocab, max_len,
                            beam_size=beam_size, batch_size=batch_size)
    hyps = [task.target_text(o) for o in outs]
    refs = [task.target_text(e.tgt) for e in examples]
    groups = {"all": list(range(len(examples)))}
    for i, e in enumerate(examples):
        groups.setdefault(e.group, []).append(i)
    if len(groups) == 2:  # a single group: 'all' says it already
        groups = {"all": groups["all"]}
    result = {}
    for name, idx in groups.items():
        h, r = [hyps[i] for i in idx], [refs[i] for i in idx]
        result[name] = Scores(len(idx), exact_match(h, r), corpus_bleu(h, r))
    return result

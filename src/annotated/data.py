"""Chapter 7: from token strings to padded id tensors and masks, in length-bucketed batches."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from .masks import make_std_mask, padding_mask

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


class Vocab:
    """A token <-> id table whose first four entries are <pad>=0, <s>=1, </s>=2, <unk>=3."""

    def __init__(self, tokens: Iterable[str]):
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a Vocab's first tokens must be {SPECIALS}, got {tokens[:4]}; "
                             "build it with Vocab.build(...)")
        if len(set(tokens)) != len(tokens):
            dup = [t for t, n in Counter(tokens).items() if n > 1]
            raise ValueError(f"a Vocab's tokens must be distinct; repeated: {dup[:5]}")
        self.itos = tokens
        self.stoi = {t: i for i, t in enumerate(tokens)}
        self.pad, self.bos, self.eos, self.unk = (self.stoi[t] for t in SPECIALS)

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_freq: int = 1) -> Vocab:
        """The specials, then every token seen at least `min_freq` times, most frequent first."""
        counts = Counter(t for seq in sequences for t in seq)
        clash = set(SPECIALS) & counts.keys()
        if clash:
            raise ValueError(f"the data contains the special token(s) {sorted(clash)}")
        # Ties broken by the token itself, so the same data always gives the same ids.
        kept = sorted((t for t, n in counts.items() if n >= min_freq),
                      key=lambda t: (-counts[t], t))
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos[4:10]}...)"

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = False) -> list[int]:
        """Token strings -> ids; unknown tokens become <unk>."""
        ids = [self.stoi.get(t, self.unk) for t in tokens]
        return [self.bos] * bos + ids + [self.eos] * eos

    def decode(self, ids: Iterable[int], strip: bool = True) -> list[str]:
        """Ids -> token strings; with `strip`, drop <s> and <pad> and stop at </s>."""
        out = []
        for i in ids:
            i = int(i)
            if strip and i == self.eos:
                break
            if strip and i in (self.pad, self.bos):
                continue
            out.append(self.itos[i])
        return out

    def to_dict(self) -> dict:
        """A plain dict, saved inside checkpoints (loadable with weights_only=True)."""
        return {"itos": list(self.itos)}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        """The inverse of to_dict."""
        return cls(d["itos"])


def pad_sequences(seqs: Sequence[Sequence[int]], pad: int) -> torch.Tensor:
    """A (B, L) long tensor of the sequences, right-padded with `pad` to the longest."""
    if not seqs:
        raise ValueError("cannot pad an empty list of sequences")
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), pad, dtype=torch.long)  # (B, L)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out


class Batch:
    """Source and target ids with their masks, for teacher forcing.

    `tgt` is the target without its last token (the decoder's input), `tgt_y` without its
    first (what it must predict). `src_mask` (B, 1, S) hides padded keys; it also serves the
    cross-attention, where padded source positions are keys only. `tgt_mask` (B, T, T) hides
    padded keys, future keys, and the rows of padded queries (the Annotated Transformer lets
    padded queries attend; nothing reads them, but they clutter attention pictures).
    """

    def __init__(self, src: torch.Tensor, tgt: torch.Tensor | None = None, pad: int = 0):
        self.src = src  # (B, S)
        self.src_mask = padding_mask(src, pad)  # (B, 1, S)
        self.pad = pad
        if tgt is not None:
            self.tgt = tgt[:, :-1]  # (B, T)
            self.tgt_y = tgt[:, 1:]  # (B, T)
            # Padded query rows are hidden too: nothing reads them, and they would clutter
            # attention pictures.
            query_is_real = (self.tgt != pad).unsqueeze(-1)  # (B, T, 1)
            self.tgt_mask = make_std_mask(self.tgt, pad) & query_is_real  # (B, T, T)
            self.ntokens = int((self.tgt_y != pad).sum())

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on `device`."""
        for name in ("src", "src_mask", "tgt", "tgt_y", "tgt_mask"):
            if hasattr(self, name):
                setattr(self, name, getattr(self, name).to(device))
        return self

    def __len__(self) -> int:
        return self.src.size(0)


def make_batch(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab,
               tgt_vocab: Vocab) -> Batch:
    """A Batch from (source tokens, target tokens) pairs; targets get <s> ... </s>."""
    if src_vocab.pad != tgt_vocab.pad:
        raise ValueError("source and target vocabularies must share the <pad> id")
    src = pad_sequences([src_vocab.encode(s) for s, _ in pairs], src_vocab.pad)
    tgt = pad_sequences([tgt_vocab.encode(t, bos=True, eos=True) for _, t in pairs],
                        tgt_vocab.pad)
    return Batch(src, tgt, src_vocab.pad)


def bucket_batches(lengths: Sequence[int], batch_size: int, seed: int = 0,
                   shuffle: bool = True, pool: int = 50) -> list[list[int]]:
    """Index lists of `batch_size` examples of similar length, so little of a batch is padding.

    The examples are shuffled, cut into pools of `pool` batches, each pool is sorted by
    length and cut into batches, and the batches are shuffled: every batch is short-or-long
    together, while the order still changes from epoch to epoch (one seed per epoch).
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(order)
    batches = []
    step = batch_size * pool
    for start in range(0, len(order), step):
        chunk = sorted(order[start : start + step], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


# --- Chapter 9 ---

def padding_counts(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> tuple[int, int]:
    """(real tokens, positions) of one side's padded (B, L) tensors, over all `batches`."""
    real = sum(lengths[i] for batch in batches for i in batch)
    total = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches if batch)
    return real, total


def padding_share(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """The share of a side's padded (B, L) tensors that is <pad>, over all `batches`.

    A batch of sentences with these `lengths` becomes a tensor as wide as its longest one;
    everything past each sentence's own length is padding.
    """
    real, total = padding_counts(lengths, batches)
    if total == 0:
        raise ValueError("no tokens in these batches: give non-empty batches of indices")
    return 1.0 - real / total

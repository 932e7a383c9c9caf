"""Chapters 7-8: turn a trained model into output sequences, greedily or with beam search.

Greedy decoding with a key/value cache feeds the decoder one new token per step: the keys
and values of the earlier positions come from the cache, and the cross-attention's keys and
values (from the encoder's memory) are computed once. Without the cache, every step runs
the decoder again over the whole prefix. Both give the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .data import Vocab, pad_sequences
from .masks import padding_mask, subsequent_mask
from .model import EncoderDecoder, evaluating


def next_log_probs(model: EncoderDecoder, memory: torch.Tensor, src_mask: torch.Tensor,
                    ys: torch.Tensor, cache) -> torch.Tensor:
    """Log-probabilities (B, V) of the token after `ys` (B, T)."""
    if cache is None:
        tgt_mask = subsequent_mask(ys.size(1)).to(ys.device)  # (1, T, T)
        out = model.decode(memory, src_mask, ys, tgt_mask)  # (B, T, D): the whole prefix again
    else:
        out = model.decode(memory, src_mask, ys[:, -1:], None, cache=cache)  # (B, 1, D)
    return model.generator(out[:, -1])  # (B, V)


@torch.no_grad()
def greedy_decode(model: EncoderDecoder, src: torch.Tensor, src_mask: torch.Tensor | None,
                  max_len: int, start_symbol: int, end_symbol: int | None = None,
                  pad_symbol: int = 0, cache: bool = True) -> torch.Tensor:
    """Pick the most likely next token until `max_len` tokens (start included) or </s>.

    Returns (B, L) ids starting with `start_symbol`; after a row's `end_symbol` comes
    `pad_symbol`. Decoding stops early once every row has produced `end_symbol`.
    """
    if max_len < 1:
        raise ValueError(f"max_len counts the start symbol, so it must be >= 1, got {max_len}")
    B = src.size(0)
    memory = model.encode(src, src_mask)  # (B, S, D)
    kv = model.new_cache() if cache else None
    ys = torch.full((B, 1), start_symbol, dtype=torch.long, device=src.device)  # (B, 1)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)  # (B,)
    for _ in range(max_len - 1):
        next_word = next_log_probs(model, memory, src_mask, ys, kv).argmax(dim=-1)  # (B,)
        next_word = next_word.masked_fill(done, pad_symbol)
        ys = torch.cat([ys, next_word.unsqueeze(1)], dim=1)  # (B, T + 1)
        if end_symbol is not None:
            done |= next_word == end_symbol
            if bool(done.all()):
                break
    return ys


@dataclass(frozen=True)
class Hypothesis:
    """One beam-search output: token ids (no <s>, no </s>) and its length-penalised score."""

    tokens: tuple[int, ...]
    score: float
    log_prob: float


@dataclass(frozen=True)
class BeamCandidate:
    """One extension beam search weighed at a step: a prefix plus one word, and its fate.

    `fate` is "kept" (stays in the beam), "finished" (ended with </s>, or at max_len, among
    the step's K best) or "pruned" (among the 2K best candidates, but dropped).
    """

    row: int  # which source of the batch
    step: int  # 1 for the first word after <s>
    prefix: tuple[int, ...]  # the words before (no <s>)
    word: int
    log_prob: float  # total log-probability of prefix + word
    fate: str


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's ((5 + length) / 6) ** alpha; alpha = 0 ranks by total log-probability."""
    return ((5 + length) / 6) ** alpha


@torch.no_grad()
def beam_search(model: EncoderDecoder, src: torch.Tensor, src_mask: torch.Tensor | None,
                max_len: int, start_symbol: int, end_symbol: int, beam_size: int = 4,
                alpha: float = 0.6, n_best: int = 1,
                trace: list[BeamCandidate] | None = None) -> list[list[Hypothesis]]:
    """Keep the `beam_size` best prefixes at each step; return the n best finished per row.

    A finished hypothesis scores log P(y | x) / length_penalty(len(y), alpha). Uses the
    key/value cache, reordered as beams are kept or dropped. A `trace` list receives every
    candidate weighed, with its fate (the search tree, for pictures and tests).
    """
    if not 1 <= n_best <= beam_size:
        raise ValueError(f"need 1 <= n_best <= beam_size, got n_best={n_best}, "
                         f"beam_size={beam_size}")
    if max_len < 2:
        raise ValueError(f"max_len counts the start symbol, so it must be >= 2, got {max_len}")
    B, K, dev = src.size(0), beam_size, src.device
    memory = model.encode(src, src_mask)  # (B, S, D)
    memory = memory.repeat_interleave(K, dim=0)  # (B*K, S, D)
    src_mask = None if src_mask is None else src_mask.repeat_interleave(K, dim=0)
    kv = model.new_cache()
    ys = torch.full((B * K, 1), start_symbol, dtype=torch.long, device=dev)  # (B*K, 1)
    scores = torch.zeros(B, K, device=dev)  # (B, K) total log-prob of each alive beam
    scores[:, 1:] = float("-inf")  # all beams start equal: keep only one at first
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(1, max_len):
        logp = next_log_probs(model, memory, src_mask, ys, kv)  # (B*K, V)
        V = logp.size(-1)
        cand = (scores.unsqueeze(-1) + logp.view(B, K, V)).view(B, K * V)  # (B, K*V)
        top, idx = cand.topk(2 * K, dim=-1)  # (B, 2K): enough to keep K beams alive
        beam, word = idx // V, idx % V  # (B, 2K)
        new_scores = torch.full((B, K), float("-inf"), device=dev)
        new_rows = torch.zeros(B, K, dtype=torch.long, device=dev)
        new_words = torch.full((B, K), end_symbol, dtype=torch.long, device=dev)
        prefixes = ys[:, 1:].view(B, K, -1).tolist()
        top_l, beam_l, word_l = top.tolist(), beam.tolist(), word.tolist()
        for b in range(B):
            if done[b]:
                continue
            kept = 0
            fates = ["pruned"] * len(top_l[b])  # what became of each of the 2K candidates
            for rank, (s, k, w) in enumerate(zip(top_l[b], beam_l[b], word_l[b], strict=True)):
                if s == float("-inf"):
                    break
                if w == end_symbol or t == max_len - 1:
                    # An ending counts only among the K best candidates (as in fairseq):
                    # else unlikely early endings would fill the finished list.
                    if rank < K:
                        toks = tuple(prefixes[b][k]) + (() if w == end_symbol else (w,))
                        finished[b].append(
                            Hypothesis(toks, s / length_penalty(len(toks), alpha), s))
                        finished[b] = sorted(finished[b], key=lambda h: -h.score)[:K]
                        fates[rank] = "finished"
                elif kept < K:
                    new_scores[b, kept], new_rows[b, kept], new_words[b, kept] = s, b * K + k, w
                    kept += 1
                    fates[rank] = "kept"
                if kept == K:
                    break
            if trace is not None:
                trace.extend(BeamCandidate(b, t, tuple(prefixes[b][k]), w, s, fate)
                             for s, k, w, fate in zip(top_l[b], beam_l[b], word_l[b], fates,
                                                      strict=True) if s != float("-inf"))
            # A row is done with K finished hypotheses once its best alive prefix, scored
            # as if it ended now, cannot beat the worst of them (Hugging Face's heuristic).
            best_alive = float(new_scores[b, 0])  # -inf when nothing stays alive
            if len(finished[b]) == K and (
                    best_alive / length_penalty(t, alpha) <= finished[b][-1].score):
                done[b] = True
                new_scores[b] = float("-inf")
        if all(done):
            break
        rows = new_rows.view(-1)  # (B*K,)
        kv.reorder(rows)
        ys = torch.cat([ys.index_select(0, rows), new_words.view(-1, 1)], dim=1)  # (B*K, t+1)
        scores = new_scores
    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]


@torch.no_grad()
def translate_tokens(model: EncoderDecoder, sources: Sequence[Sequence[str]], src_vocab: Vocab,
                     tgt_vocab: Vocab, max_len: int = 64, beam_size: int = 1,
                     alpha: float = 0.6, batch_size: int = 256,
                     cache: bool = True) -> list[list[str]]:
    """Token lists in -> token lists out, greedy (beam_size 1) or beam search, in batches."""
    device = next(model.parameters()).device
    # Decode in order of length: batches then carry little padding.
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out: list[list[str]] = [[] for _ in sources]
    with evaluating(model):
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            src = pad_sequences([src_vocab.encode(sources[i]) for i in chunk], src_vocab.pad)
            src = src.to(device)  # (B, S)
            src_mask = padding_mask(src, src_vocab.pad)  # (B, 1, S)
            if beam_size == 1:
                ys = greedy_decode(model, src, src_mask, max_len, tgt_vocab.bos, tgt_vocab.eos,
                                   tgt_vocab.pad, cache=cache)
                for i, row in zip(chunk, ys.tolist(), strict=True):
                    out[i] = tgt_vocab.decode(row)
            else:
                hyps = beam_search(model, src, src_mask, max_len, tgt_vocab.bos, tgt_vocab.eos,
                                   beam_size=beam_size, alpha=alpha)
                for i, h in zip(chunk, hyps, strict=True):
                    out[i] = tgt_vocab.decode(h[0].tokens)
    return out


# --- Chapter 10: what the cache costs ---


@torch.no_grad()
def cache_bytes_per_token(model: EncoderDecoder, steps: int = 4) -> float:
    """Bytes the key/value cache grows by per decoded position, measured on the tensors.

    Decodes `steps` positions of a dummy source with the cache and sums the bytes of every
    self-attention cache (the ones that grow); the cross-attention's, computed once from
    the source, is not counted. Works for the encoder-decoder and the decoder-only model.
    """
    device = next(model.parameters()).device
    src = torch.full((1, 3), 4, dtype=torch.long, device=device)  # any 3 ids past the specials
    with evaluating(model):
        memory = model.encode(src, None)
        cache = model.new_cache()
        ys = torch.ones(1, 1, dtype=torch.long, device=device)
        for _ in range(steps):
            next_log_probs(model, memory, None, ys, cache)
            ys = torch.cat([ys, ys[:, -1:]], dim=1)
    growing = [kv for layer in cache.layers
               for kv in (layer if isinstance(layer, tuple) else (layer,)) if not kv.static]
    total = sum(kv.k.nbytes + kv.v.nbytes for kv in growing)
    return total / cache.length

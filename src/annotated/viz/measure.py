"""Measurements behind the pictures: numbers in, numbers out, no drawing.

Chapters print and assert these numbers; `viz.draw` turns them into figures.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile

import torch
import torch.nn.functional as F
from torch import nn

from ..attention_maps import AttentionMaps, record_attention
from ..checkpoint import model_from_config
from ..data import BOS, EOS, pad_sequences, padding_counts
from ..losses import LabelSmoothing
from ..masks import make_std_mask, padding_mask
from ..model import ModelConfig, make_model
from ..multi30k import find_corpus, write_sample
from ..multihead import MultiHeadedAttention
from ..positional import sinusoidal_table
from ..registry import make_data
from ..tasks import number_words, read_number, split_english
from ..training import rate

# --- Chapter 0 ---

def number_batch(translator, numbers: list[int], lang: str = "de"):
    """A training-style batch of numbers for the shipped translator: (src, tgt, src_mask,
    tgt_mask) on its device. The source is the numbers in `lang`; the target is their English,
    shifted right by <s> (what the decoder reads while it learns, chapter 7). Shorter
    sequences are padded with <pad>; the masks hide the padding, and the target mask also
    hides the words not written yet (chapter 5)."""
    src_vocab, tgt_vocab = translator.src_vocab, translator.tgt_vocab
    sources = [translator.task.source_tokens(number_words(n, lang)) for n in numbers]
    targets = [split_english(number_words(n, "en")) for n in numbers]
    src = pad_sequences([src_vocab.encode(t) for t in sources], src_vocab.pad)  # (B, S)
    tgt = pad_sequences([tgt_vocab.encode(t, bos=True) for t in targets], tgt_vocab.pad)
    device = next(translator.model.parameters()).device
    src, tgt = src.to(device), tgt.to(device)  # tgt: (B, T)
    return src, tgt, padding_mask(src, src_vocab.pad), make_std_mask(tgt, tgt_vocab.pad)


def untrained_twin(translator, seed: int = 0):
    """The same translator with fresh random weights: where training started from."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_from_config(ModelConfig(**translator.state["model_config"]))
    device = next(translator.model.parameters()).device
    return dataclasses.replace(translator, model=model.to(device).eval())


def forced_attention(translator, number: int, lang: str = "de") -> AttentionMaps:
    """The attention of `translator` reading `number` while it is fed the right English
    (one forward pass), so a trained and an untrained model can be compared row by row."""
    source = translator.task.source_tokens(number_words(number, lang))
    english = split_english(number_words(number, "en"))
    device = next(translator.model.parameters()).device
    src = torch.tensor([translator.src_vocab.encode(source)], device=device)  # (1, S)
    tgt = torch.tensor([translator.tgt_vocab.encode(english, bos=True)], device=device)
    return record_attention(translator.model, src, tgt, source, [BOS, *english],
                            padding_mask(src, translator.src_vocab.pad),
                            written=[*english, EOS], text=number_words(number, lang),
                            reference=number_words(number, "en"))


def strongest_reads(maps: AttentionMaps, layer: int = -1) -> list[tuple[str, str, float]]:
    """For each written token: the source token its cross-attention weighs most in `layer`
    (heads averaged), and that weight. Chapter 0's exercise asks the learner to write it."""
    w = maps.cross[layer].mean(0)  # (T, S): one row per written token
    best = w.max(dim=-1)
    return [(word, maps.source[j], round(float(v), 4))
            for word, j, v in zip(maps.written, best.indices.tolist(), best.values, strict=True)]


# --- Chapter 1 ---

def embedding_scales(d_models: list[int], vocab: int = 1000, seed: int = 0) -> dict[str, list]:
    """Measured RMS of one entry of an embedding (two inits, scaled or not) and of the PE table."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, list] = {k: [] for k in (
        "N(0,1) init x sqrt(D)", "N(0,1) init", "Xavier init x sqrt(D)", "Xavier init",
        "positional encoding")}
    for d in d_models:
        normal = torch.randn(vocab, d, generator=gen)  # nn.Embedding's own init
        xavier = torch.empty(vocab, d)
        bound = math.sqrt(6 / (vocab + d))  # nn.init.xavier_uniform_, as make_model applies it
        xavier.uniform_(-bound, bound, generator=gen)
        for name, w in (("N(0,1) init", normal), ("Xavier init", xavier)):
            rms = w.pow(2).mean().sqrt().item()
            out[name].append(rms)
            out[f"{name} x sqrt(D)"].append(rms * math.sqrt(d))
        out["positional encoding"].append(sinusoidal_table(200, d).pow(2).mean().sqrt().item())
    return out


# --- Chapter 3 ---

def dot_product_stats(d_ks: list[int], n: int = 2000, keys: int = 10,
                      seed: int = 0) -> dict[str, list]:
    """For q, k with N(0,1) entries: var(q·k), and the mean largest softmax weight over `keys`."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, list] = {k: [] for k in (
        "var(q·k)", "var(q·k / sqrt(d_k))", "max weight, q·k", "max weight, q·k / sqrt(d_k)")}
    for d in d_ks:
        q = torch.randn(n, 1, d, generator=gen)  # (n, 1, d_k): n independent queries
        k = torch.randn(n, keys, d, generator=gen)  # (n, keys, d_k)
        scores = (q @ k.transpose(-2, -1)).squeeze(1)  # (n, keys)
        scaled = scores / math.sqrt(d)
        out["var(q·k)"].append(scores.var().item())
        out["var(q·k / sqrt(d_k))"].append(scaled.var().item())
        out["max weight, q·k"].append(scores.softmax(-1).max(-1).values.mean().item())
        out["max weight, q·k / sqrt(d_k)"].append(scaled.softmax(-1).max(-1).values.mean().item())
    return out


# --- Chapter 4 ---

HEADS_SENTENCE = ["She", "gave", "him", "her", "book"]


def untrained_heads(seed: int = 0, h: int = 8, d_model: int = 512):
    """Attention weights (H, S, S) of a freshly initialised MultiHeadedAttention on 5 words."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mha = MultiHeadedAttention(h, d_model, dropout=0.0, backend="naive").eval()
        for lin in mha.linears:  # clones() starts the four maps equal; make_model redraws them
            nn.init.xavier_uniform_(lin.weight)
        x = torch.randn(1, len(HEADS_SENTENCE), d_model)  # (B, S, D) stand-in word vectors
        with torch.no_grad():
            mha(x, x, x)
    return mha.attn[0]  # (H, S, S)


# --- Chapter 6 ---

def layer_gradient_norms(norm: str, N: int = 24, d_model: int = 128, d_ff: int = 512,
                         h: int = 4, vocab: int = 1000, batch: int = 16, length: int = 12,
                         seed: int = 0) -> dict[str, list[float]]:
    """Gradient norm of each encoder and decoder layer of a fresh model, after one loss.

    The loss is the usual next-word cross-entropy on random sentences: at initialisation
    the data does not matter, only how the gradient travels down the stack.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = make_model(vocab, vocab, N=N, d_model=d_model, d_ff=d_ff, h=h, dropout=0.0,
                           norm=norm)
        src = torch.randint(1, vocab, (batch, length))  # (B, S), no padding
        tgt = torch.randint(1, vocab, (batch, length + 1))  # (B, T + 1)
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]  # (B, T): input shifted right, next words
    logp = model.generator(model(src, tgt_in, None, make_std_mask(tgt_in, 0)))  # (B, T, V)
    F.nll_loss(logp.reshape(-1, vocab), tgt_out.reshape(-1)).backward()

    def grad_norm(layer) -> float:
        return torch.sqrt(sum(p.grad.square().sum() for p in layer.parameters())).item()

    return {"encoder": [grad_norm(layer) for layer in model.encoder.layers],
            "decoder": [grad_norm(layer) for layer in model.decoder.layers]}


# --- Chapter 7 ---

SMOOTHING_TOKENS = ["<pad>", "the", "cat", "drinks", "milk"]


SMOOTHING_TARGET = [1, 2, 3, 4, 0]  # "the cat drinks milk", then one padded position


def smoothing_penalty(p, smoothing: float, size: int = 5) -> list[float]:
    """Label-smoothed loss of one position when the model gives probability p to the right token.

    <pad> is id 0 and gets probability 0; the rest, 1 - p, is spread evenly over the V - 2
    other tokens. `p` may be a number or a sequence of them: one loss each.
    """
    p = torch.as_tensor(p, dtype=torch.float32).reshape(-1)  # (N,)
    probs = ((1 - p) / (size - 2)).unsqueeze(1).repeat(1, size)  # (N, V)
    probs[:, 1] = p  # token 1 is the right one
    probs[:, 0] = 0.0  # <pad>
    criterion = LabelSmoothing(size, padding_idx=0, smoothing=smoothing)
    target = torch.ones(1, dtype=torch.long)  # (1,)
    return [criterion(row.log().unsqueeze(0), target).item() for row in probs]


def schedule_curves(settings, steps: int = 20_000, at=None) -> dict[str, list[float]]:
    """lr at optimizer steps 1..steps (or at the steps `at`) for each (d_model, warmup, factor).

    The values come from `training.rate`.
    """
    at = range(1, steps + 1) if at is None else [int(s) for s in at]
    out = {}
    for d_model, warmup, factor in settings:
        name = f"d_model={d_model}, warmup={warmup}" + (f", factor={factor:g}" if factor != 1
                                                         else "")
        out[name] = [rate(s, d_model, factor, warmup) for s in at]
    return out


PAPER_SCHEDULE = (512, 4000, 1.0)  # the paper's base model: d_model, warmup, factor


def schedule_steps(steps: int, marks: list[int] | tuple[int, ...] = (),
                   points: int = 1000) -> list[int]:
    """About `points` optimizer steps spread over 1..steps, plus the `marks` (the peaks).

    A curve through these looks the same as one through every step, and draws fast.
    """
    grid = {round(1 + i * (steps - 1) / (points - 1)) for i in range(points)}
    return sorted(grid | {m for m in marks if 1 <= m <= steps})


# --- Chapter 8 ---

NUMBER_EXAMPLES = (
    "einundzwanzig", "二十一",
    "dreihundertfünfundvierzigtausendsechshundertachtundsiebzig", "三十四万五千六百七十八",
    "einundzwanzigtausend", "二万千", "neunhunderteins", "九百一", "999999",
)


def number_attention(translator, text: str, digits: str = "de") -> AttentionMaps:
    """Every attention weight of the numbers model's greedy translation of `text`.

    `text` is digits (read in the language `digits`) or number words; the record knows the
    right English (`reference`), so `correct` says whether the model got it.
    """
    source, n, _ = read_number(text, digits)
    maps = translator.attention(source)
    return dataclasses.replace(maps, reference=number_words(n, "en"))


# --- Chapter 9 ---

def pair_padding(src: list[int], tgt: list[int], batches: list[list[int]]) -> float:
    """The share of <pad> in the source and target tensors of `batches`, both sides together."""
    (rs, ts), (rt, tt) = padding_counts(src, batches), padding_counts(tgt, batches)
    return 1.0 - (rs + rt) / (ts + tt)


def corpus_lengths(folder=None, vocab_size: int = 8000) -> tuple[list[int], list[int], str]:
    """Subword lengths of the training pairs (German, English) and what the corpus was.

    Multi30k where `multi30k.find_corpus` finds it, else the generated stand-in sample.
    """
    found = find_corpus(folder)
    name = "Multi30k train"
    if found is None:
        found = write_sample(tempfile.mkdtemp(prefix="annotated-sample-"), n_train=3000)
        name, vocab_size = "generated sample (Multi30k not found)", 200
    data = make_data("multi30k", folder=found, vocab_size=vocab_size)
    return [len(e.src) for e in data.train], [len(e.tgt) for e in data.train], name

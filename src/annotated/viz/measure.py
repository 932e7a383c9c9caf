"""Measurements behind the pictures: numbers in, numbers out, no drawing.

Chapters print and assert these numbers; `viz.draw` turns them into figures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
import time
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import attention
from ..attention_maps import AttentionMaps, record_attention
from ..data import BOS, EOS, make_batch, pad_sequences, padding_counts
from ..decoder_only import joint_data
from ..decoding import beam_search, next_log_probs
from ..device import default_device, precision_for
from ..examples import LINE_START, LINE_X, LINE_Y, line_loss
from ..layers import PositionwiseFeedForward
from ..losses import LabelSmoothing
from ..masks import make_std_mask, padding_mask
from ..model import (
    EncoderDecoder,
    ModelConfig,
    count_parameters,
    evaluating,
    make_model,
    model_from_config,
)
from ..modern import RMSNorm, RotaryEmbedding, SwiGLU, swiglu_hidden
from ..multi30k import find_corpus, write_sample
from ..multihead import MultiHeadedAttention
from ..positional import sinusoidal_table
from ..registry import make_data
from ..tasks import number_words, read_number, split_english
from ..training import TrainConfig, exact_match_of, make_optimizer, rate, train, train_step

# --- Primer ---

def descent_path(lr: float, steps: int, start: tuple[float, float] = LINE_START,
                 limit: float = 1e6) -> dict[str, list[float]]:
    """Gradient descent on the primer's line problem with torch.optim.SGD: (w, b, loss) per step.

    The lists start with the starting point (steps + 1 entries) and stop early, once the loss
    passes `limit`: a learning rate that is too large makes it grow without end.
    """
    if lr <= 0 or steps < 0:
        raise ValueError(f"lr must be positive and steps at least 0, got {lr}, {steps}")
    params = torch.tensor(start, requires_grad=True)  # (2,): w and b
    optimizer = torch.optim.SGD([params], lr=lr)
    path: dict[str, list[float]] = {"w": [], "b": [], "loss": []}
    for step in range(steps + 1):
        loss = line_loss(params[0], params[1])
        path["w"].append(params[0].item())
        path["b"].append(params[1].item())
        path["loss"].append(loss.item())
        if step == steps or not loss.item() < limit:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return path


def best_line() -> tuple[float, float]:
    """The (w, b) of least loss on the line problem, by least squares: where descent should end."""
    x, y = torch.tensor(LINE_X), torch.tensor(LINE_Y)
    design = torch.stack([x, torch.ones_like(x)], dim=1)  # (4, 2): one row [x, 1] per point
    w, b = torch.linalg.lstsq(design, y.unsqueeze(1)).solution.squeeze(1).tolist()
    return w, b


def loss_surface(w: tuple[float, float], b: tuple[float, float],
                 n: int = 61) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The line problem's loss on an n x n grid of (w, b): (W, B, loss), each (n, n)."""
    W, B = torch.meshgrid(torch.linspace(*w, n), torch.linspace(*b, n), indexing="xy")
    return W, B, line_loss(W, B)


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


def read_along(translator, source: list[str], written: list[str], **about) -> AttentionMaps:
    """The attention of `translator` reading `source` while it is fed `written` (ending in
    </s>) in one pass, as in training: each decoder position reads the words before it."""
    device = next(translator.model.parameters()).device
    src = torch.tensor([translator.src_vocab.encode(source)], device=device)  # (1, S)
    tgt = torch.tensor([translator.tgt_vocab.encode(written[:-1], bos=True)], device=device)
    return record_attention(translator.model, src, tgt, source, [BOS, *written[:-1]],
                            padding_mask(src, translator.src_vocab.pad), written=written,
                            **about)


def forced_attention(translator, number: int, lang: str = "de") -> AttentionMaps:
    """The attention of `translator` reading `number` while it is fed the right English
    (one forward pass), so a trained and an untrained model can be compared row by row."""
    source = translator.task.source_tokens(number_words(number, lang))
    english = split_english(number_words(number, "en"))
    return read_along(translator, source, [*english, EOS], text=number_words(number, lang),
                      reference=number_words(number, "en"))


def trained_and_untrained(translator, texts, seed: int = 0
                          ) -> dict[str, dict[str, AttentionMaps]]:
    """The attention of the trained translator on each text, and of its untrained twin.

    Both read the same source and the same target (the trained model's own translation), so
    each pair of records differs only in the weights: {text: {"untrained": .., "trained": ..}}.
    """
    twin = untrained_twin(translator, seed)
    found = {}
    for text in texts:
        trained = translator.attention(text)
        found[text] = {"untrained": read_along(twin, trained.source, trained.written, text=text),
                       "trained": trained}
    return found


def strongest_reads(maps: AttentionMaps, layer: int = -1) -> list[tuple[str, str, float]]:
    """For each written token: the source token its cross-attention weighs most in `layer`
    (heads averaged), and that weight. Chapter 0's exercise asks the learner to write it."""
    w = maps.cross[layer].mean(0)  # (T, S): one row per written token
    best = w.max(dim=-1)
    return [(word, maps.source[j], round(float(v), 4))
            for word, j, v in zip(maps.written, best.indices.tolist(), best.values, strict=True)]


# --- Chapter 1 ---

SCALE_INITS = ("N(0,1)", "Xavier", "Tensor2Tensor")  # how a table of shape (V, D) can start


def init_table(kind: str, vocab: int, d_model: int, seed: int = 0) -> torch.Tensor:
    """A (V, D) embedding table as it starts: nn.Embedding's N(0, 1), make_model's Xavier
    uniform, or Tensor2Tensor's N(0, 1/D)."""
    gen = torch.Generator().manual_seed(seed)
    if kind == "N(0,1)":  # nn.Embedding on its own
        return torch.randn(vocab, d_model, generator=gen)
    if kind == "Xavier":  # nn.init.xavier_uniform_, as make_model applies it
        bound = math.sqrt(6 / (vocab + d_model))
        return torch.empty(vocab, d_model).uniform_(-bound, bound, generator=gen)
    if kind == "Tensor2Tensor":  # random_normal_initializer(0.0, hidden_dim**-0.5)
        return torch.randn(vocab, d_model, generator=gen) * d_model**-0.5
    raise ValueError(f"unknown init {kind!r}; choose one of {', '.join(SCALE_INITS)}")


def rms(t: torch.Tensor) -> float:
    """Root mean square of all entries: the typical size of one number."""
    return t.detach().float().pow(2).mean().sqrt().item()


def embedding_scales(d_models: list[int], vocab: int = 1000, seed: int = 0) -> dict[str, list]:
    """Measured RMS of one entry of an embedding (each init, scaled or not) and of the PE table."""
    out: dict[str, list] = {"positional encoding": []}
    for d in d_models:
        for kind in SCALE_INITS:
            size = rms(init_table(kind, vocab, d, seed))
            out.setdefault(f"{kind} init", []).append(size)
            out.setdefault(f"{kind} init x sqrt(D)", []).append(size * math.sqrt(d))
        out["positional encoding"].append(rms(sinusoidal_table(200, d)))
    return out


# The shipped translator's English words, in the groups the 2-D picture colours.
NUMBER_GROUPS = {
    "units": ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "teens": ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
              "seventeen", "eighteen", "nineteen"),
    "tens": ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"),
    "joiners": ("hundred", "thousand", "and", "-", ","),
}


def word_group(word: str) -> str:
    """The NUMBER_GROUPS name of `word`, or 'other' (zero and the special tokens)."""
    return next((g for g, words in NUMBER_GROUPS.items() if word in words), "other")


def number_tables(translator) -> dict[str, torch.Tensor]:
    """The translator's target embedding table, trained, and a random one of the same shape
    as make_model starts it (Xavier), for comparison."""
    trained = translator.model.tgt_embed[0].lut.weight.detach().float().cpu()  # (V, D)
    return {"trained": trained, "random": init_table("Xavier", *trained.shape)}


def project_2d(table: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The rows of `table` (V, D) on its two main directions (PCA): (V, 2), and the share of
    the spread those two directions keep. Each axis points to its largest coordinate."""
    t = table.detach().float().cpu()
    centred = t - t.mean(0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    points = centred @ vh[:2].T  # (V, 2)
    flip = points.gather(0, points.abs().argmax(0, keepdim=True)).sign()  # (1, 2)
    share = (s[:2].pow(2).sum() / s.pow(2).sum()).item()
    return points * flip, share


def group_cosines(table: torch.Tensor, words: list[str]) -> dict[str, tuple[float, float]]:
    """For each group of NUMBER_GROUPS: the mean cosine between two of its words, and between
    one of its words and a word of another group."""
    unit = F.normalize(table.detach().float().cpu(), dim=-1)
    cos = unit @ unit.T  # (V, V)
    rows = {g: [words.index(w) for w in ws] for g, ws in NUMBER_GROUPS.items()}
    out = {}
    for g, ids in rows.items():
        inside = cos[ids][:, ids]
        pairs = inside[~torch.eye(len(ids), dtype=torch.bool)]
        others = [i for h, js in rows.items() if h != g for i in js]
        out[g] = (pairs.mean().item(), cos[ids][:, others].mean().item())
    return out


# --- Chapter 2 ---

@contextlib.contextmanager
def source_positions_off(model: EncoderDecoder) -> Iterator[None]:
    """Inside the block the encoder adds zeros, not positions, to its input; then restored."""
    table = model.src_embed[1].pe  # the encoder's (1, max_len, D) buffer
    saved = table.clone()
    table.zero_()
    try:
        yield
    finally:
        table.copy_(saved)


def symmetric_offsets(d_model: int = 512, p: int = 60, reach: int = 60) -> tuple[list, list]:
    """Offsets k = -reach..reach and PE(p)·PE(p + k): the same at +k and -k."""
    pe = sinusoidal_table(p + reach + 1, d_model)  # (L, D)
    offsets = list(range(-reach, reach + 1))
    return offsets, (pe[p + torch.tensor(offsets)] @ pe[p]).tolist()


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


QKV_SENTENCE = ["she", "gave", "him", "her", "book"]


def qkv_example(d_model: int = 8, d_k: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    """Small x (S, d_model) and W_q, W_k, W_v (d_model, d_k), with Q, K, V = x W (S, d_k)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(QKV_SENTENCE), d_model, generator=gen)
    out = {"x": x}
    for name in ("q", "k", "v"):
        w = torch.randn(d_model, d_k, generator=gen) / math.sqrt(d_model)
        out[f"W_{name}"], out[name.upper()] = w, x @ w
    return out


def attention_steps(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
                    ) -> dict[str, torch.Tensor]:
    """One query's attention, step by step: q·k, / sqrt(d_k), softmax, weight x value, sum."""
    scores = key @ query  # (Tk,)
    scaled = scores / math.sqrt(query.size(-1))
    weights = scaled.softmax(-1)
    weighted = weights[:, None] * value  # (Tk, d_v)
    return {"scores": scores, "scaled": scaled, "weights": weights, "weighted": weighted,
            "output": weighted.sum(0)}


def unscaled_peak(d_k: int = 512, keys: int = 10, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean largest weight of `attention` on random q, k (N(0,1) entries), with and without
    the division by sqrt(d_k); multiplying the queries by sqrt(d_k) undoes the division."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 1, d_k, generator=gen)
    k = torch.randn(n, keys, d_k, generator=gen)
    v = torch.randn(n, keys, 1, generator=gen)
    _, scaled = attention(q, k, v)
    _, unscaled = attention(q * math.sqrt(d_k), k, v)
    return {"scaled": scaled.amax(-1).mean().item(), "unscaled": unscaled.amax(-1).mean().item()}

def softmax_gradient_size(d_k: int, keys: int = 10, n: int = 1000, seed: int = 0
                          ) -> dict[str, float]:
    """Mean Frobenius norm of softmax's Jacobian diag(p) - p p^T on random scores q·k,
    raw and divided by sqrt(d_k): how much the weights still move when a score is nudged."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 1, d_k, generator=gen)
    k = torch.randn(n, keys, d_k, generator=gen)
    raw = (q @ k.transpose(-2, -1)).squeeze(1)  # (n, keys)
    size = {}
    for name, scores in (("raw", raw), ("scaled", raw / math.sqrt(d_k))):
        p = scores.softmax(-1)
        jacobian = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)  # (n, keys, keys)
        size[name] = jacobian.norm(dim=(-2, -1)).mean().item()
    return size


# --- Chapter 4 ---

LOOKUP_SYMBOLS = list("ABCDEFGH")  # the task's symbols; "?" is the query at the end
LOOKUP_LENGTH = 6  # symbols per sequence, then "?"


class LookupModel(nn.Module):
    """The smallest model that must look twice: embeddings + positions, one attention, readout.

    The last position holds "?"; its attention output alone must name the first and the last
    symbol of the sequence. `h` heads share the same width `d_model`.
    """

    def __init__(self, h: int, d_model: int = 16):
        super().__init__()
        V = len(LOOKUP_SYMBOLS)
        self.embed = nn.Embedding(V + 1, d_model)  # + 1: the "?" token, id V
        self.register_buffer("pe", sinusoidal_table(LOOKUP_LENGTH + 1, d_model))
        self.attn = MultiHeadedAttention(h, d_model, dropout=0.0, backend="naive")
        self.readout = nn.Linear(d_model, 2 * V)  # scores for "first is ..." and "last is ..."

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pe[: ids.size(1)]  # (B, S + 1, D)
        out = self.attn(x[:, -1:], x, x)[:, 0]  # the "?" query only: (B, D)
        return self.readout(out).view(-1, 2, len(LOOKUP_SYMBOLS))  # (B, 2, V)


@contextlib.contextmanager
def one_cpu_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block: small models' tensors are too small to
    share between threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def lookup_batch(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n random sequences with "?" appended (n, S + 1), and their answers (n, 2): first, last."""
    V = len(LOOKUP_SYMBOLS)
    ids = torch.randint(0, V, (n, LOOKUP_LENGTH), generator=generator)
    ids = torch.cat([ids, torch.full((n, 1), V)], dim=1)
    return ids, ids[:, [0, LOOKUP_LENGTH - 1]]


def train_lookup(h: int, d_model: int = 16, steps: int = 300, seed: int = 0
                 ) -> dict[str, object]:
    """Train a LookupModel with h heads; its accuracy on 2,000 fresh sequences.

    Returns "first", "last" and "both" (fractions right), "losses" (one per step) and
    "weights": the "?" query's attention (H, S + 1), averaged over the test sequences.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LookupModel(h, d_model)
    data = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    with one_cpu_thread():
        for _ in range(steps):
            ids, answer = lookup_batch(128, data)
            loss = F.cross_entropy(model(ids).reshape(-1, len(LOOKUP_SYMBOLS)),
                                   answer.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    ids, answer = lookup_batch(2000, torch.Generator().manual_seed(1234))
    with torch.no_grad():
        right = model(ids).argmax(-1) == answer  # (2000, 2)
    return {"first": right[:, 0].float().mean().item(), "last": right[:, 1].float().mean().item(),
            "both": right.all(1).float().mean().item(), "losses": losses,
            "weights": model.attn.attn[:, :, 0].mean(0)}


def attention_cost(lengths, d_model: int = 512, h: int = 8, d_ff: int = 2048,
                   batch: int = 1) -> dict[str, list[int]]:
    """Exact multiply-adds x 2 (FLOPs) and float32 bytes of one self-attention layer and one
    feed-forward block, per sequence length S.

    Attention: the four D x D maps (4 x 2 S D^2), Q K^T and weights @ V (2 x 2 S^2 D), and the
    (B, H, S, S) weights it keeps. Feed-forward: D -> d_ff -> D (2 x 2 S D d_ff), and its
    (B, S, d_ff) hidden layer.
    """
    out: dict[str, list[int]] = {"attention FLOPs": [], "feed-forward FLOPs": [],
                                 "attention bytes": [], "feed-forward bytes": []}
    for S in lengths:
        out["attention FLOPs"].append(batch * (8 * S * d_model**2 + 4 * S * S * d_model))
        out["feed-forward FLOPs"].append(batch * 4 * S * d_model * d_ff)
        out["attention bytes"].append(4 * batch * h * S * S)
        out["feed-forward bytes"].append(4 * batch * S * d_ff)
    return out


def time_attention_cost(lengths, d_model: int = 128, h: int = 8, d_ff: int = 512,
                        repeats: int = 5) -> dict[str, list[float]]:
    """Wall-clock milliseconds of one self-attention layer and one feed-forward block (CPU,
    best of `repeats`), per sequence length; they vary with the machine."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        mha = MultiHeadedAttention(h, d_model, dropout=0.0, backend="naive").eval()
        ffn = PositionwiseFeedForward(d_model, d_ff, dropout=0.0).eval()
    out: dict[str, list[float]] = {"self-attention": [], "feed-forward": []}
    with one_cpu_thread():
        for S in lengths:
            _time_both(S, d_model, mha, ffn, repeats, out)
    return out


def _time_both(S: int, d_model: int, mha: nn.Module, ffn: nn.Module, repeats: int,
               out: dict[str, list[float]]) -> None:
    """Append the best of `repeats` timings of mha and ffn on one (1, S, D) input to `out`."""
    x = torch.randn(1, S, d_model)
    runs = {"self-attention": lambda: mha(x, x, x), "feed-forward": lambda: ffn(x)}
    for name, run in runs.items():
        best = float("inf")
        with torch.no_grad():
            for _ in range(repeats):
                start = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - start)
        out[name].append(1000 * best)


# --- Chapter 5 ---

MASK_EXAMPLES = ("einundzwanzig", "dreihundertfünfundvierzig", "neunhunderteins")


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
    with one_cpu_thread():  # small tensors: a second thread only waits for a core
        logp = model.generator(model(src, tgt_in, None, make_std_mask(tgt_in, 0)))  # (B, T, V)
        F.nll_loss(logp.reshape(-1, vocab), tgt_out.reshape(-1)).backward()

    def grad_norm(layer) -> float:
        return torch.sqrt(sum(p.grad.square().sum() for p in layer.parameters())).item()

    return {"encoder": [grad_norm(layer) for layer in model.encoder.layers],
            "decoder": [grad_norm(layer) for layer in model.decoder.layers]}


def copy_run_without_warmup(norm: str, N: int = 6, steps: int = 100,
                            seed: int = 0) -> list[float]:
    """Train a small copy model (repeat 5 symbols) with no learning-rate warm-up.

    Returns the training loss (cross-entropy, no label smoothing) at every step.
    """
    config = TrainConfig(
        steps=steps, batch_size=32, seed=seed, device="cpu", progress=False,
        warmup=1,  # no warm-up: the first step already takes the peak learning rate
        factor=0.5,  # scales the whole learning-rate schedule of chapter 7
        smoothing=0.0,  # plain cross-entropy, so a blind guess scores log(10)
        mixed="fp32",  # full precision: the comparison is about the order, not rounding
        valid_every=steps, valid_decode=10,  # one small validation, at the end
    )
    model = {"N": N, "d_model": 64, "d_ff": 128, "h": 4, "dropout": 0.0, "norm": norm}
    return train("copy", config, model, length=5).history.loss


def train_without_warmup(norm: str, N: int = 6, steps: int = 100, seed: int = 0) -> list[float]:
    """`copy_run_without_warmup` on one CPU thread: its tensors are too small to share."""
    with one_cpu_thread():
        return copy_run_without_warmup(norm, N=N, steps=steps, seed=seed)


class _Zero(nn.Module):
    """A sublayer that contributes nothing: the residual carries the stream past it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


@contextlib.contextmanager
def without_feed_forward(model: EncoderDecoder) -> Iterator[EncoderDecoder]:
    """Inside the block, every feed-forward sublayer of `model` outputs 0; restored after."""
    layers = [*model.encoder.layers, *model.decoder.layers]
    kept = [layer.feed_forward for layer in layers]
    try:
        for layer in layers:
            layer.feed_forward = _Zero()
        yield model
    finally:
        for layer, ff in zip(layers, kept, strict=True):
            layer.feed_forward = ff


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


def break_it_run(*, causal: bool = True, ramp: bool = True, norm: str = "pre", N: int = 2,
                 warmup: int = 50, steps: int = 150, factor: float = 1.0,
                 seed: int = 0) -> dict[str, object]:
    """Train a tiny copy model (length 5, symbols 1 to 10) with one part broken.

    `causal=False` gives the decoder a mask that hides only pads, so position t also sees
    the words after it. `ramp=False` keeps the schedule's peak and drops its ramp: the rate
    is the peak from step 1 to `warmup`, then decays exactly as with the ramp. Plain
    cross-entropy (no smoothing): a blind guess among the 10 symbols scores log(10) = 2.30.
    Returns {"loss": training loss per step, "lr": rate per step, "exact": held-out exact
    match of 200 greedy decodes}.
    """
    if steps < 10 or N < 1 or warmup < 1:
        raise ValueError(f"need steps >= 10, N >= 1 and warmup >= 1, got {steps}, {N}, "
                         f"{warmup}")
    data = make_data("copy", seed, length=5)
    with one_cpu_thread():  # tiny tensors: one thread is faster (docs/training.md)
        torch.manual_seed(seed)
        model = make_model(len(data.src_vocab), len(data.tgt_vocab), N=N, d_model=64,
                           d_ff=128, h=4, dropout=0.0, norm=norm)
        optimizer, scheduler = make_optimizer(model, 64, factor, warmup)
        if not ramp:  # rate(max(step, warmup)): the peak until step = warmup, then the same
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda s: rate(max(s + 1, warmup), 64, factor, warmup))
        criterion = LabelSmoothing(len(data.tgt_vocab), data.tgt_vocab.pad, 0.0)
        fp32 = precision_for("cpu", "fp32")
        losses, lrs = [], []
        for step in range(steps):
            pairs = [(e.src, e.tgt) for e in data.train[step * 32:(step + 1) * 32]]
            batch = make_batch(pairs, data.src_vocab, data.tgt_vocab)
            if not causal:  # every query may read every real target word, future included
                T = batch.tgt.size(1)
                batch.tgt_mask = padding_mask(batch.tgt, data.tgt_vocab.pad).expand(-1, T, -1)
            lrs.append(scheduler.get_last_lr()[0])
            losses.append(train_step(model, [batch], criterion, optimizer, scheduler,
                                     fp32.grad_scaler(), fp32))
        model.eval()
        exact = exact_match_of(model, data.test[:200], data.src_vocab, data.tgt_vocab, 8)
    return {"loss": losses, "lr": lrs, "exact": exact}


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


def translation_mistakes(translator, numbers, lang: str, beam_size: int = 1
                         ) -> list[tuple[int, str, str, str]]:
    """(number, its words in `lang`, the model's English, the right English) of every number
    in `numbers` the model translates wrong."""
    texts = [number_words(n, lang) for n in numbers]
    outputs = translator.translate(texts, beam_size=beam_size)
    return [(n, text, out, number_words(n, "en"))
            for n, text, out in zip(numbers, texts, outputs, strict=True)
            if out != number_words(n, "en")]


@dataclasses.dataclass(frozen=True)
class CacheStep:
    """One greedy step with the key/value cache: what was fed and how full the caches were."""

    read: str  # the one token the decoder was fed this step
    wrote: str
    self_before: int  # self-attention keys already stored: reused, not computed again
    self_after: int
    cross_before: int  # cross-attention keys (from the encoder's memory) already stored
    cross_after: int


@torch.no_grad()
def cache_growth(translator, text: str) -> tuple[list[str], list[CacheStep]]:
    """Decode `text` greedily with the cache, reading every layer-0 cache's size each step."""
    model, tv = translator.model, translator.tgt_vocab
    source = translator.task.source_tokens(text)
    device = next(model.parameters()).device
    src = torch.tensor([translator.src_vocab.encode(source)], device=device)  # (1, S)
    src_mask = padding_mask(src, translator.src_vocab.pad)  # (1, 1, S)
    steps: list[CacheStep] = []
    with evaluating(model):
        memory = model.encode(src, src_mask)  # (1, S, D)
        cache = model.new_cache()
        self_kv, cross_kv = cache.layers[0]
        ys = torch.tensor([[tv.bos]], device=device)  # (1, 1)
        while ys.size(1) < translator.max_len:
            before = self_kv.length, cross_kv.length
            word = next_log_probs(model, memory, src_mask, ys, cache).argmax(-1)  # (1,)
            steps.append(CacheStep(tv.itos[int(ys[0, -1])], tv.itos[int(word)], before[0],
                                   self_kv.length, before[1], cross_kv.length))
            ys = torch.cat([ys, word.view(1, 1)], dim=1)  # (1, t + 1)
            if int(word) == tv.eos:
                break
    return source, steps


@dataclasses.dataclass(frozen=True)
class BeamNode:
    """A candidate of beam search in words: prefix + word, its total log P and its fate."""

    step: int
    prefix: tuple[str, ...]
    word: str
    log_prob: float
    fate: str  # "kept", "finished" or "pruned"


@dataclasses.dataclass(frozen=True)
class BeamTree:
    """Every candidate a beam search weighed on one source, and its finished hypotheses."""

    text: str
    beam_size: int
    nodes: list[BeamNode]
    best: list[tuple[str, float, float]]  # (translation, log P, score), best first
    best_words: tuple[str, ...]  # the winner's tokens (no <s>, no </s>)


def beam_tree(translator, text: str, beam_size: int = 4, alpha: float = 0.6) -> BeamTree:
    """Run the package's beam search on `text` with a trace, and name the traced tokens."""
    model, sv, tv = translator.model, translator.src_vocab, translator.tgt_vocab
    device = next(model.parameters()).device
    src = torch.tensor([sv.encode(translator.task.source_tokens(text))], device=device)
    trace: list = []
    with evaluating(model):
        hyps = beam_search(model, src, padding_mask(src, sv.pad), translator.max_len, tv.bos,
                           tv.eos, beam_size=beam_size, alpha=alpha, n_best=beam_size,
                           trace=trace)[0]

    def words(ids) -> tuple[str, ...]:
        return tuple(tv.itos[i] for i in ids)

    nodes = [BeamNode(c.step, words(c.prefix), tv.itos[c.word], c.log_prob, c.fate)
             for c in trace]
    best = [(translator.task.target_text(words(h.tokens)), h.log_prob, h.score) for h in hyps]
    return BeamTree(text, beam_size, nodes, best, words(hyps[0].tokens))


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


# --- Chapter 10 ---

# A vector whose mean is far from 0: LayerNorm and RMSNorm treat it differently.
NORM_EXAMPLE = (3.0, 1.5, 4.0, 2.0, -0.5, 3.5, 2.5, 1.0)


def norm_outputs(x: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """A vector before and after a fresh LayerNorm and a fresh RMSNorm (scale 1, no shift)."""
    x = torch.tensor(NORM_EXAMPLE) if x is None else x
    D = x.size(-1)
    with torch.no_grad():
        return {"x": x, "LayerNorm(x)": nn.LayerNorm(D, eps=1e-6)(x),
                "RMSNorm(x)": RMSNorm(D)(x)}


def ffn_parameters(d_model: int = 512, d_ff: int = 2048) -> dict[str, tuple[int, int]]:
    """(hidden width, parameters) of the ReLU block and the width-matched SwiGLU block."""
    relu = PositionwiseFeedForward(d_model, d_ff, dropout=0.0)
    gated = SwiGLU(d_model, d_ff, dropout=0.0)
    return {"ReLU": (d_ff, count_parameters(relu)),
            "SwiGLU": (swiglu_hidden(d_model, d_ff), count_parameters(gated))}


def rope_track(pair: int, positions: int = 64, d_k: int = 64, base: float = 10000.0,
               start: tuple[float, float] = (1.0, 0.0)) -> torch.Tensor:
    """(positions, 2): one pair of a query, `start`, rotated by RotaryEmbedding at each position."""
    if not 0 <= pair < d_k // 2:
        raise ValueError(f"pair must be in 0..{d_k // 2 - 1} for d_k = {d_k}, got {pair}")
    rope = RotaryEmbedding(d_k, base)
    x = torch.zeros(1, 1, positions, d_k)  # (B, H, T, d_k): the same vector at every position
    half = d_k // 2  # split halves: pair i is dimensions i and i + d_k / 2
    x[..., pair], x[..., pair + half] = start
    with torch.no_grad():
        y = rope(x)[0, 0]  # (T, d_k)
    return torch.stack([y[:, pair], y[:, pair + half]], dim=-1)


def pair_frequency(pair: int, d_k: int = 64, base: float = 10000.0) -> float:
    """RoPE's angle per position for pair i: base^(-2i / d_k) radians."""
    return base ** (-2 * pair / d_k)


RELATIVE_KINDS = ("sinusoidal", "rope", "sinusoidal+rope")


def relative_scores(kind: str, starts: tuple[int, ...] = (0, 8, 16), reach: int = 32,
                    d_k: int = 64, seed: int = 0) -> dict[int, torch.Tensor]:
    """The score q_m·k_n of one fixed query and key at m = n + distance, for each start n.

    kind "sinusoidal": the paper's table added to the vectors before W_q and W_k;
    kind "rope": the vectors projected, then rotated by RotaryEmbedding; kind
    "sinusoidal+rope": both. Returns, for each n in `starts`, the scores at distances
    0..reach-1.
    """
    if kind not in RELATIVE_KINDS:
        raise ValueError(f"kind must be one of {RELATIVE_KINDS}, got {kind!r}")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(d_k, generator=g)  # one word's vector, the same at every position
    w_q, w_k = (torch.randn(d_k, d_k, generator=g) / math.sqrt(d_k) for _ in range(2))
    length = max(starts) + reach
    at = x.expand(length, d_k)  # (L, d_k): the word at each position
    if kind != "rope":
        at = at + sinusoidal_table(length, d_k)
    q, k = at @ w_q.T, at @ w_k.T
    if kind != "sinusoidal":
        rope = RotaryEmbedding(d_k)
        with torch.no_grad():
            q, k = rope(q[None, None])[0, 0], rope(k[None, None])[0, 0]  # (L, d_k)
    scores = q @ k.T / math.sqrt(d_k)  # (L, L): query position m, key position n
    return {n: scores[n + torch.arange(reach), n] for n in starts}


def score_drift(kind: str) -> float:
    """How far a score moves when query and key slide along together, distance kept: the
    largest change over `relative_scores(kind)`'s starts (0 when only the distance counts)."""
    scores = torch.stack(list(relative_scores(kind).values()))  # (starts, distances)
    return (scores - scores[0]).abs().max().item()


# The race of chapter 10: a small numbers model, 2017 against every switch flipped.
# "today" is decoder-only: one stack of 2N layers, as many as the encoder and decoder have.
RACE_MODEL = {"N": 2, "d_model": 64, "d_ff": 256, "h": 4, "dropout": 0.1}
MODERN_SWITCHES = {"norm_type": "rms", "ffn": "swiglu", "position": "rope", "kv_heads": 2}
RACE = {"2017": {}, "today": {**MODERN_SWITCHES, "arch": "decoder"}}


def _train_small(data, config: TrainConfig, model_config: dict):
    """`train`, on one CPU thread when it runs on the CPU."""
    on_cpu = default_device(config.device).type == "cpu"
    with one_cpu_thread() if on_cpu else contextlib.nullcontext():
        return train(data, config, model_config)


def race_data(steps: int = 200, seed: int = 0):
    """The numbers task's examples for the race: 64 fresh ones for every step."""
    return make_data("numbers", seed=seed, n_train=steps * 64, n_valid=100, n_test=10)


def race_vocabularies(seed: int = 0) -> dict[str, int]:
    """How many tokens each racer chooses from when it writes: the target's vocabulary for
    the encoder-decoder, the joint one for the decoder-only model."""
    data = race_data(1, seed)
    return {"2017": len(data.tgt_vocab), "today": len(joint_data(data).tgt_vocab)}


def switch_race(models: dict[str, dict] | None = None, steps: int = 200, seed: int = 0,
                device: str = "auto") -> dict[str, list[float]]:
    """Train each model of `models` (name -> switches on RACE_MODEL) on the numbers task with
    the same seed and batches; return each one's training loss per step."""
    models = RACE if models is None else models
    data = race_data(steps, seed)
    # Plain cross-entropy (no label smoothing): a blind guess over V tokens scores ln V.
    config = TrainConfig(steps=steps, batch_size=64, warmup=50, factor=1.0, seed=seed,
                         smoothing=0.0, device=device, progress=False, valid_every=steps,
                         valid_decode=20)
    return {name: _train_small(data, config, {**RACE_MODEL, **switches}).history.loss
            for name, switches in models.items()}


def ablation_table(rows: list[dict]) -> str:
    """The stored ablation as aligned text: one line per row, each seed's exact match too."""
    lines = [f"{'row':<11}{'parameters':>11}{'ms/step':>9}{'steps to 99%':>14}"
             f"{'exact match':>13}  {'per seed':<22}{'cache bytes/token':>18}"]
    for r in rows:
        reach = "-" if r["steps_to_99"] is None else f"{r['steps_to_99']:.0f}"
        seeds = " ".join(f"{s['exact_match']:.3f}" for s in r["per_seed"].values())
        lines.append(f"{r['name']:<11}{r['params']:>11,}{r['step_ms']:>9.1f}{reach:>14}"
                     f"{r['exact_match']:>13.3f}  {seeds:<22}"
                     f"{r['cache_bytes_per_token']:>18,.0f}")
    return "\n".join(lines)



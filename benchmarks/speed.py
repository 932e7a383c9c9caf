"""Speed of the teaching path, the fast path and torch.nn.Transformer. Not a test.

    python benchmarks/speed.py --threads 1         # CPU, every section (about 12 minutes)
    python benchmarks/speed.py train attention     # some sections only
    python benchmarks/speed.py --device cuda       # the GPU run in bf16 (benchmarks/gpu.sh)
    python benchmarks/speed.py --tiny --out DIR    # a smoke run of a few seconds (the tests)

Sections:
  train      training steps at the small size (d_model 256, 3+3 layers, vocabulary 8,000,
             32 x 32 tokens), both norm placements: the teaching path (explicit softmax),
             the default model (sdpa), the fast path (ModelConfig(fast=True)) and
             torch.nn.Transformer between the same embeddings and generator; FLOP/s as a
             fraction of this machine's matmul peak, measured in the same rounds
  base       the same at the paper's base size (d_model 512, 6+6 layers), a few rounds
  attention  naive vs sdpa attention alone (forward + backward): time and peak memory for
             128 to 4,096 tokens, and a plot
  decode     cached vs recomputed greedy decoding; beam search cost per beam size
  compile    the fast path with and without torch.compile

A training step is the course's own `annotated.training.train_step`: forward, label-smoothed
loss (0.1), backward, gradient clipping, Adam with the warm-up schedule. Every comparison
runs its contenders alternately in this one process, round after round (the order rotates),
and reports medians and the median of the per-round ratios, so that a machine busy with other
work slows all contenders alike. Results are merged into OUT/DEVICE.json and rendered as
OUT/DEVICE.md; the attention plot is OUT/attention_DEVICE.png.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import gc
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from annotated import ModelConfig, model_from_config
from annotated.attention import attention
from annotated.data import Batch
from annotated.decoding import greedy_decode
from annotated.device import default_device, precision_for
from annotated.layers import LAYER_NORM_EPS
from annotated.losses import make_criterion
from annotated.model import EncoderDecoder
from annotated.training import make_optimizer, train_step

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ("train", "base", "attention", "decode", "compile")
PAD = 0

# Model sizes and batches: (sentences, tokens per sentence). A GPU needs far bigger batches
# to be busy: there the same models train on 128 x 64 and 128 x 128 tokens.
SIZES = {
    "cpu": {"small": dict(N=3, d_model=256, d_ff=1024, h=8, vocab=8000, batch=(32, 32)),
            "base": dict(N=6, d_model=512, d_ff=2048, h=8, vocab=8000, batch=(32, 32))},
    "cuda": {"small": dict(N=3, d_model=256, d_ff=1024, h=8, vocab=8000, batch=(128, 64)),
             "base": dict(N=6, d_model=512, d_ff=2048, h=8, vocab=8000, batch=(128, 128))},
    "tiny": {"small": dict(N=1, d_model=32, d_ff=64, h=4, vocab=50, batch=(4, 6)),
             "base": dict(N=2, d_model=32, d_ff=64, h=4, vocab=50, batch=(4, 6))},
}
ROUNDS = {"cpu": {"train": 15, "base": 3, "attention": 3, "decode": 5, "compile": 10},
          "cuda": {"train": 30, "base": 20, "attention": 10, "decode": 5, "compile": 30},
          "tiny": dict.fromkeys(SECTIONS, 2)}
ATTENTION_LENGTHS = {"cpu": [128, 256, 512, 1024, 2048, 4096],
                     "cuda": [128, 256, 512, 1024, 2048, 4096, 8192, 16384],
                     "tiny": [16, 32]}
# Dense bf16 tensor-core peaks from NVIDIA's data sheets, TFLOP/s (no sparsity).
GPU_PEAK_TFLOPS = [("H200", 989.4), ("H100 PCIe", 756.0), ("H100", 989.4), ("A100", 312.0),
                   ("L40S", 362.0), ("L4", 121.0), ("A10", 125.0), ("T4", 65.0)]

# The speed targets.
TARGETS = {"fast_vs_torch_small": 1.1, "fast_vs_torch_base": 1.0, "teaching_vs_torch": 0.8,
           "mfu_small_cpu": 0.6, "sdpa_memory_4096": 4.0, "mfu_base_gpu": 0.4}


# ---------------------------------------------------------------- measuring


def machine(device: torch.device) -> dict:
    """What ran the benchmark: processor, cores, threads, torch, GPU, load."""
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.+)", text).group(1).strip()
    except (OSError, AttributeError):
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def describe_machine(m: dict) -> str:
    """One line for the tables."""
    gpu = f"{m['gpu']}; " if m.get("gpu") else ""
    load = f", load average {m['load_average']:.1f}" if m.get("load_average") is not None else ""
    return (f"{gpu}{m['cpu']}, {m['cores']} cores, {m['threads']} torch threads{load}; "
            f"torch {m['torch']}, Python {m['python']}")


def synchronizer(device: torch.device) -> Callable[[], None]:
    """Wait for the device's queued work (a no-op on the CPU)."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


# Which clock times a call: "wall" (elapsed time) or "cpu" (the CPU time this process used).
# On a machine whose cores other jobs share, a one-thread run's CPU time leaves out the
# waits for a free core, which wall time counts at random; `--clock cpu` selects it.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = "wall"


def alternate(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int,
              device: torch.device, desc: str = "") -> dict[str, list[float]]:
    """Seconds per call of each contender, called in turn each round (the order rotates)."""
    sync = synchronizer(device)
    clock = CLOCKS[CLOCK]
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    sync()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in tqdm(range(rounds), desc=desc, leave=False, dynamic_ncols=True):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = clock()
            contenders[name]()
            sync()
            times[name].append(clock() - t0)
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def paired_ratio(slow: list[float], fast: list[float]) -> float:
    """Median over rounds of slow / fast: > 1 means `fast` took less time."""
    return median([s / f for s, f in zip(slow, fast, strict=True)])


def ratio_spread(slow: list[float], fast: list[float]) -> tuple[float, float]:
    """The middle half of the per-round ratios slow / fast (all of them under 4 rounds)."""
    ratios = sorted(s / f for s, f in zip(slow, fast, strict=True))
    if len(ratios) < 4:
        return ratios[0], ratios[-1]
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return q1, q3


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int) -> tuple[Callable, float]:
    """A call doing square n x n matmuls, and its FLOPs: the machine's matmul peak."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    repeats = 20 if device.type == "cuda" else 1  # a GPU does one in well under a millisecond

    def run() -> None:
        for _ in range(repeats):
            torch.mm(a, b)

    return run, 2.0 * n**3 * repeats


def peak_bytes(fn: Callable[[], object], device: torch.device) -> int | None:
    """Memory a call needs above what was allocated before it (None where not measurable).

    CUDA: the caching allocator's peak. CPU (Linux): the process's peak resident memory,
    reset through /proc/self/clear_refs, minus its resident memory before the call.
    """
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(device) - before
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS

        def status(key: str) -> int:
            text = Path("/proc/self/status").read_text()
            return int(re.search(rf"{key}:\s+(\d+) kB", text).group(1)) * 1024

        before = status("VmRSS")
        fn()
        return status("VmHWM") - before
    except (OSError, AttributeError):
        return None


# ---------------------------------------------------------------- models


class TorchTransformer(nn.Module):
    """torch.nn.Transformer between our embeddings and generator, called like EncoderDecoder."""

    def __init__(self, ours: EncoderDecoder, pad: int = PAD):
        super().__init__()
        cfg = ours.config
        self.src_embed = copy.deepcopy(ours.src_embed)
        self.tgt_embed = copy.deepcopy(ours.tgt_embed)
        self.generator = copy.deepcopy(ours.generator)
        with warnings.catch_warnings():  # pre-norm: "enable_nested_tensor is True, but ..."
            warnings.simplefilter("ignore", UserWarning)
            self.transformer = nn.Transformer(
                cfg.d_model, cfg.h, cfg.N, cfg.N, cfg.d_ff, cfg.dropout, activation="relu",
                layer_norm_eps=LAYER_NORM_EPS, batch_first=True, norm_first=cfg.norm == "pre")
        if cfg.norm == "post":  # like ours: post-norm layers end in a LayerNorm already
            self.transformer.encoder.norm = nn.Identity()
            self.transformer.decoder.norm = nn.Identity()
        self.pad = pad

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None,
                tgt_mask: torch.Tensor | None) -> torch.Tensor:
        """Decoder states (B, T, D), with PyTorch's own masks built from the pad id."""
        causal = nn.Transformer.generate_square_subsequent_mask(
            tgt.size(1), device=tgt.device, dtype=torch.bool)  # (T, T), True = hidden
        src_pad = src == self.pad  # (B, S)
        return self.transformer(
            self.src_embed(src), self.tgt_embed(tgt), tgt_mask=causal,
            src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt == self.pad,
            memory_key_padding_mask=src_pad, tgt_is_causal=True)


# The paths that train with the fast loss and optimizer. nn.Transformer runs twice: with
# them (the fast path's baseline) and with the teaching loss and Adam (the teaching and
# default paths' baseline), so that every ratio compares the models alone.
TORCH_TEACHING = "nn.Transformer, teaching step"
FAST_STEP = ("fast", "nn.Transformer")


def baseline(path: str) -> str:
    """The nn.Transformer run a path is compared with: the one with the same loss and Adam."""
    return "nn.Transformer" if path in FAST_STEP else TORCH_TEACHING


def model_config(size: dict, norm: str, **kw) -> ModelConfig:
    return ModelConfig(size["vocab"], size["vocab"], size["N"], size["d_model"], size["d_ff"],
                       size["h"], 0.1, norm, **kw)


def paths(size: dict, norm: str, device: torch.device,
          names: tuple[str, ...] = ("teaching", "default", "fast", "nn.Transformer",
                                    TORCH_TEACHING)
          ) -> dict[str, nn.Module]:
    """The contenders of one comparison; every one starts from the same weights."""
    made = {"teaching": model_from_config(model_config(size, norm, attn_backend="naive")),
            "default": model_from_config(model_config(size, norm)),
            "fast": model_from_config(model_config(size, norm, fast=True))}
    state = made["teaching"].state_dict()
    for m in made.values():
        m.load_state_dict(state)
    made["nn.Transformer"] = TorchTransformer(made["teaching"])
    made[TORCH_TEACHING] = TorchTransformer(made["teaching"])
    made[TORCH_TEACHING].load_state_dict(made["nn.Transformer"].state_dict())
    return {name: made[name].to(device).train() for name in names}


def random_batch(size: dict, device: torch.device, seed: int = 0) -> Batch:
    """B sentences of S source and S target tokens, no padding (ids from 3 up)."""
    g = torch.Generator().manual_seed(seed)
    B, S = size["batch"]
    src = torch.randint(3, size["vocab"], (B, S), generator=g)
    tgt = torch.randint(3, size["vocab"], (B, S + 1), generator=g)  # <s> ... shifted by one
    return Batch(src, tgt, PAD).to(device)


def stepper(model: nn.Module, batch: Batch, size: dict, mixed: str, fast: bool
            ) -> Callable[[], float]:
    """One call = one training step of the course's train_step on `batch`.

    fast: the loss and optimizer `train` uses on the fast path (FastLabelSmoothing, fused
    Adam) instead of the teaching ones (LabelSmoothing, Adam).
    """
    precision = precision_for(batch.src.device, mixed)
    optimizer, scheduler = make_optimizer(model, size["d_model"], 1.0, 4000, fused=fast)
    scaler = precision.grad_scaler()
    criterion = make_criterion(size["vocab"], PAD, 0.1, fast)
    return lambda: train_step(model, [batch], criterion, optimizer, scheduler, scaler,
                              precision, clip=1.0)


def matmul_shapes(size: dict) -> list[tuple[int, int, int, int]]:
    """(batch, m, k, n) of every matrix product of a training step, forward and backward.

    A linear layer x (M, K) @ W^T (K, N) has two more products in the backward (the input's
    gradient (M, N) @ (N, K) and the weight's (N, M) @ (M, K)); a batched product as well.
    """
    (B, T), D, F_, V, N, H = (size["batch"], size["d_model"], size["d_ff"], size["vocab"],
                              size["N"], size["h"])
    M, d_k = B * T, D // H

    def linear(k: int, n: int, fused: int = 1) -> list[tuple[int, int, int, int]]:
        return [(1, M, k, n * fused), (1, M, n * fused, k), (1, n * fused, M, k)]

    def attend() -> list[tuple[int, int, int, int]]:
        b = B * H  # scores Q K^T, output P V; backward: dP, dV, dQ, dK
        return [(b, T, d_k, T), (b, T, T, d_k),
                (b, T, d_k, T), (b, T, T, d_k), (b, T, T, d_k), (b, T, T, d_k)]

    encoder = linear(D, D, 3) + linear(D, D) + attend() + linear(D, F_) + linear(F_, D)
    decoder = (linear(D, D, 3) + linear(D, D) + attend() + linear(D, D) + linear(D, D, 2)
               + linear(D, D) + attend() + linear(D, F_) + linear(F_, D))
    return N * (encoder + decoder) + linear(D, V)


def step_matmuls(size: dict, device: torch.device, dtype: torch.dtype
                 ) -> tuple[Callable[[], None], float]:
    """A call doing only the training step's matrix products, at their shapes, and their
    FLOPs: the fastest a step could be if everything else cost nothing."""
    shapes = matmul_shapes(size)
    pairs = [(torch.randn(b, m, k, device=device, dtype=dtype),
              torch.randn(b, k, n, device=device, dtype=dtype)) for b, m, k, n in shapes]

    def run() -> None:
        for a, b in pairs:
            torch.bmm(a, b)

    return run, float(sum(2 * b * m * k * n for b, m, k, n in shapes))


def training_flops(size: dict) -> float:
    """Matrix-multiply FLOPs of one training step (forward + backward = 3 x forward).

    Per layer and sentence, with S = T tokens: projections 2 T D^2 each, attention scores and
    weighted sum 2 T^2 D each, feed-forward 2 T D d_ff twice; plus the generator 2 T D V.
    """
    (B, T), D, F_, V, N = size["batch"], size["d_model"], size["d_ff"], size["vocab"], size["N"]
    proj, attend, ffn = 2 * T * D * D, 2 * 2 * T * T * D, 2 * 2 * T * D * F_
    encoder = 4 * proj + attend + ffn
    decoder = 8 * proj + 2 * attend + ffn
    forward = N * (encoder + decoder) + 2 * T * D * V
    return 3.0 * B * forward


# ---------------------------------------------------------------- sections


def bench_phases(model: nn.Module, batch: Batch, size: dict, rounds: int,
                 device: torch.device, mixed: str) -> dict[str, float]:
    """Median seconds of each phase of train_step, timed one by one: where a step goes."""
    precision = precision_for(device, mixed)
    optimizer, _ = make_optimizer(model, size["d_model"], 1.0, 4000, fused=True)
    criterion = make_criterion(size["vocab"], PAD, 0.1, fast=True)
    clock, sync = CLOCKS[CLOCK], synchronizer(device)
    times: dict[str, list[float]] = {k: [] for k in ("forward", "loss", "backward",
                                                     "clip + Adam")}
    for r in range(rounds + 1):  # the first round warms up
        t = [clock()]
        with precision.autocast():
            out = model(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)
            logits = model.generator.logits(out)  # (B, T, V)
        sync()
        t.append(clock())
        loss = criterion.from_logits(logits.reshape(-1, logits.size(-1)),
                                     batch.tgt_y.reshape(-1))
        sync()
        t.append(clock())
        (loss / batch.ntokens).backward()
        sync()
        t.append(clock())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        t.append(clock())
        if r:
            for name, a, b in zip(times, t, t[1:], strict=False):
                times[name].append(b - a)
    return {name: median(ts) for name, ts in times.items()}


def bench_training(name: str, size: dict, norms: tuple[str, ...], rounds: int, warmup: int,
                   device: torch.device, mixed: str, peak_n: int, peak_dtype: torch.dtype
                   ) -> dict:
    """Median step time, tokens/s, ratio to nn.Transformer and share of the matmul peak."""
    flops = training_flops(size)
    tokens = size["batch"][0] * size["batch"][1]
    out = {"size": size, "flops_per_step": flops, "target_tokens_per_step": tokens,
           "rounds": rounds, "norms": {}}
    for norm in norms:
        torch.manual_seed(0)
        models = paths(size, norm, device)
        batch = random_batch(size, device)
        contenders = {k: stepper(m, batch, size, mixed, k in FAST_STEP)
                      for k, m in models.items()}
        peak_run, peak_flops = matmul_peak(device, peak_dtype, peak_n)
        contenders["matmul peak"] = peak_run
        shapes_run, shapes_flops = step_matmuls(size, device, peak_dtype)
        contenders["matmuls alone"] = shapes_run
        times = alternate(contenders, rounds, warmup, device, f"{name} {norm}")
        peak = peak_flops / median(times.pop("matmul peak"))
        alone = shapes_flops / median(times.pop("matmuls alone"))
        rows = {}
        for path, ts in times.items():
            t = median(ts)
            rows[path] = {"seconds": ts, "median_s": t, "tokens_per_s": tokens / t,
                          "vs_torch": paired_ratio(times[baseline(path)], ts),
                          "flops_per_s": flops / t, "of_peak": flops / t / peak}
        out["norms"][norm] = {"paths": rows, "matmul_peak_flops": peak,
                              "matmuls_alone_flops": alone}
        if norm == norms[0]:
            out["phases"] = {"path": "fast", "norm": norm, "matmul_at_peak_s": flops / peak,
                             "seconds": bench_phases(models["fast"], batch, size,
                                                     max(rounds // 3, 1), device, mixed)}
        del models, contenders
        gc.collect()
    return out


def attention_calls(T: int, device: torch.device, dtype: torch.dtype, heads: int, d_k: int
                    ) -> dict[str, Callable[[], None]]:
    """Forward + backward of naive and of sdpa attention over one sentence of T tokens."""
    g = torch.Generator().manual_seed(T)
    q, k, v = (torch.randn(1, heads, T, d_k, generator=g).to(device, dtype).requires_grad_()
               for _ in range(3))  # (1, H, T, d_k) each

    def call(fn: Callable[..., torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            q.grad = k.grad = v.grad = None
            fn(q, k, v).sum().backward()
        return run

    return {"naive": call(lambda q, k, v: attention(q, k, v)[0]),
            "sdpa": call(F.scaled_dot_product_attention)}


def fresh_peak_bytes(T: int, name: str, heads: int, d_k: int) -> int | None:
    """CPU peak memory of one attention call, measured in a new Python process.

    In this process, memory freed by earlier sections stays with the C allocator and is
    reused without raising the resident size, so a fresh process measures it.
    """
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import torch, speed; torch.set_num_threads(1); "
            f"calls = speed.attention_calls({T}, torch.device('cpu'), torch.float32, "
            f"{heads}, {d_k}); print(speed.peak_bytes(calls[{name!r}], torch.device('cpu')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    last = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
    return int(last[0]) if last and last[0].isdigit() else None


def bench_attention(lengths: list[int], rounds: int, device: torch.device,
                    dtype: torch.dtype, heads: int = 8, d_k: int = 64) -> dict:
    """Naive (explicit softmax) vs sdpa attention, forward + backward, one sentence."""
    rows = []
    for T in tqdm(lengths, desc="attention", leave=False, dynamic_ncols=True):
        calls = attention_calls(T, device, dtype, heads, d_k)
        memory = {name: (peak_bytes(fn, device) if device.type == "cuda"
                         else fresh_peak_bytes(T, name, heads, d_k))
                  for name, fn in calls.items()}
        times = alternate(calls, rounds, 1, device, f"T={T}")
        rows.append({"tokens": T, "naive_s": median(times["naive"]),
                     "sdpa_s": median(times["sdpa"]),
                     "speedup": paired_ratio(times["naive"], times["sdpa"]),
                     "naive_bytes": memory["naive"], "sdpa_bytes": memory["sdpa"]})
        del calls
        gc.collect()
    return {"heads": heads, "d_k": d_k, "dtype": str(dtype).removeprefix("torch."),
            "rows": rows}


def bench_decode(size: dict, rounds: int, device: torch.device, new_tokens: int,
                 beams: tuple[int, ...], sentences: int) -> dict:
    """Cached vs recomputed greedy (untrained, no early stop); beam sizes on the numbers model."""
    from annotated.pretrained import load
    from annotated.tasks import number_words

    torch.manual_seed(0)
    model = model_from_config(model_config(size, "pre")).to(device).eval()
    batch = random_batch(size, device)
    outs = {}

    def greedy(cache: bool) -> Callable[[], None]:
        def run() -> None:
            outs[cache] = greedy_decode(model, batch.src, batch.src_mask, new_tokens + 1, 1,
                                        cache=cache)
        return run

    times = alternate({"cached": greedy(True), "recomputed": greedy(False)}, rounds, 1, device,
                      "greedy")
    result = {"size": size, "new_tokens": new_tokens,
              "cached_s": median(times["cached"]), "recomputed_s": median(times["recomputed"]),
              "speedup": paired_ratio(times["recomputed"], times["cached"]),
              "identical": bool(torch.equal(outs[True], outs[False]))}
    translator = load("numbers", device=device)
    g = torch.Generator().manual_seed(0)
    numbers = torch.randint(0, 1_000_000, (sentences,), generator=g).tolist()
    texts = [number_words(n, "de" if i % 2 else "ja") for i, n in enumerate(numbers)]
    times = alternate({k: (lambda k=k: translator.translate(texts, beam_size=k)) for k in beams},
                      rounds, 1, device, "beam")
    greedy_s = median(times[beams[0]])
    result["beam"] = {"sentences": sentences, "model": "shipped numbers model",
                      "rows": [{"beam": k, "seconds": median(times[k]),
                                "ms_per_sentence": 1000 * median(times[k]) / sentences,
                                "vs_greedy": median(times[k]) / greedy_s} for k in beams]}
    return result


def bench_compile(size: dict, rounds: int, warmup: int, device: torch.device,
                  mixed: str) -> dict:
    """The fast path eager vs under torch.compile (the same call train(compile=True) makes)."""
    torch.manual_seed(0)
    eager = paths(size, "pre", device, ("fast",))["fast"]
    compiled_model = copy.deepcopy(eager)
    batch = random_batch(size, device)
    compiled = torch.compile(compiled_model)
    step = stepper(compiled, batch, size, mixed, fast=True)
    sync = synchronizer(device)
    import torch._inductor.config as inductor

    saved, inductor.force_disable_caches = inductor.force_disable_caches, True
    try:  # a cold compile, as a learner's first run has: no kernels cached by earlier runs
        t0 = time.perf_counter()
        step()  # the first step compiles
        sync()
        compile_s = time.perf_counter() - t0
    finally:
        inductor.force_disable_caches = saved
    times = alternate({"eager": stepper(eager, batch, size, mixed, fast=True),
                       "compiled": step},
                      rounds, warmup, device, "compile")
    return {"size": size, "norm": "pre", "path": "fast", "first_step_s": compile_s,
            "eager_s": median(times["eager"]), "compiled_s": median(times["compiled"]),
            "speedup": paired_ratio(times["eager"], times["compiled"])}


# ---------------------------------------------------------------- reporting


def fmt_bytes(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:,.1f}"


def gpu_peak(name: str) -> float | None:
    """The data-sheet dense bf16 peak (FLOP/s) of a GPU named `name`, if known."""
    for key, tflops in GPU_PEAK_TFLOPS:
        if key in name:
            return tflops * 1e12
    return None


def training_table(res: dict, nominal_peak: float | None) -> list[str]:
    size = res["size"]
    B, T = size["batch"]
    lines = [f"d_model {size['d_model']}, {size['N']}+{size['N']} layers, d_ff {size['d_ff']}, "
             f"{size['h']} heads, vocabulary {size['vocab']:,}, batch {B} x {T} tokens; "
             f"{res['flops_per_step'] / 1e9:,.1f} GFLOP per step (matrix products); "
             f"median of {res['rounds']} alternating rounds; in brackets the middle half of "
             "the per-round ratios (all of them under 4 rounds).", ""]
    head = ("| norm | path | ms / step | target tokens / s | vs nn.Transformer | GFLOP/s "
            "| of matmul peak |")
    sep = "|---|---|---:|---:|---:|---:|---:|"
    if nominal_peak:
        head += " of GPU peak (MFU) |"
        sep += "---:|"
    lines += [head, sep]
    for norm, r in res["norms"].items():
        for path, row in r["paths"].items():
            base = r["paths"].get(baseline(path), r["paths"]["nn.Transformer"])  # older runs
            lo, hi = ratio_spread(base["seconds"], row["seconds"])
            spread = "" if path.startswith("nn.Transformer") else f" ({lo:.2f}-{hi:.2f})"
            line = (f"| {norm} | {path} | {row['median_s'] * 1000:,.1f} | "
                    f"{row['tokens_per_s']:,.0f} | {row['vs_torch']:.2f}x{spread} | "
                    f"{row['flops_per_s'] / 1e9:,.1f} | {row['of_peak']:.0%} |")
            if nominal_peak:
                line += f" {row['flops_per_s'] / nominal_peak:.0%} |"
            lines.append(line)
    peaks = ", ".join(f"{n}: {r['matmul_peak_flops'] / 1e9:,.0f} GFLOP/s"
                      for n, r in res["norms"].items())
    lines += ["", f"Measured matmul peak in the same rounds ({peaks})."]
    alone = [(n, r["matmuls_alone_flops"]) for n, r in res["norms"].items()
             if "matmuls_alone_flops" in r]
    if alone:
        lines[-1] += (" The step's own matrix products, run alone at their shapes (forward and "
                      "backward, nothing else), reach " + ", ".join(
                          f"{f / 1e9:,.0f} GFLOP/s = {f / res['norms'][n]['matmul_peak_flops']:.0%}"
                          f" of peak ({n})" for n, f in alone)
                      + ": the most any step of this size could reach.")
    if "phases" in res:
        ph = res["phases"]
        parts = ", ".join(f"{k} {v * 1000:,.0f} ms" for k, v in ph["seconds"].items())
        lines += ["", f"Where the {ph['path']} path's {ph['norm']}-norm step goes (each phase "
                  f"timed alone): {parts}. Its matrix products alone would take "
                  f"{ph['matmul_at_peak_s'] * 1000:,.0f} ms at the measured peak."]
    return lines


def render(results: dict) -> str:
    """The markdown page of every section measured so far."""
    dev = results["device"]
    out = [f"# Speed benchmarks ({dev})", "",
           "Written by `benchmarks/speed.py`; every number is a median over rounds in which "
           "the contenders ran alternately in one process. Ratios are medians of per-round "
           "ratios. A training step is the course's `train_step`: forward, label-smoothed "
           "loss, backward, clipping, Adam. The teaching and default paths train with "
           "`LabelSmoothing` and Adam, as `train` does for them; the fast path with "
           "`FastLabelSmoothing` (the same loss in closed form, fused with the generator's "
           "log-softmax) and fused Adam, as `train` "
           "does for it, and nn.Transformer gets these too, so that the fast path's ratio "
           "compares the models alone; a second nn.Transformer run with the teaching loss and "
           "Adam is the baseline of the teaching and default paths.", ""]
    sec = results["sections"]
    nominal = None
    for name in SECTIONS:
        if name not in sec:
            continue
        s = sec[name]
        clock = CLOCK_WORDS[s.get("clock", "wall")]
        out += [f"## {TITLES[name]}", "", f"`{s['command']}`  ", f"{describe_machine(s['machine'])}"
                f"; {s['date']}; times are {clock}", ""]
        nominal = gpu_peak(s["machine"].get("gpu", "")) if dev == "cuda" else None
        if name in ("train", "base"):
            out += training_table(s["result"], nominal)
        elif name == "attention":
            r = s["result"]
            out += [f"One sentence, {r['heads']} heads of d_k {r['d_k']}, {r['dtype']}, no mask, "
                    "forward + backward. Peak memory: what the call allocates above its inputs "
                    "(MiB).", "",
                    "| tokens | naive ms | sdpa ms | sdpa speed-up | naive MiB | sdpa MiB | "
                    "memory ratio |", "|---:|---:|---:|---:|---:|---:|---:|"]
            for row in r["rows"]:
                ratio = (row["naive_bytes"] / max(row["sdpa_bytes"], 1)
                         if row["naive_bytes"] is not None and row["sdpa_bytes"] is not None
                         else None)
                out.append(f"| {row['tokens']:,} | {row['naive_s'] * 1000:,.1f} | "
                           f"{row['sdpa_s'] * 1000:,.1f} | {row['speedup']:.2f}x | "
                           f"{fmt_bytes(row['naive_bytes'])} | {fmt_bytes(row['sdpa_bytes'])} | "
                           + ("n/a" if ratio is None else f"{ratio:,.1f}x") + " |")
            out += ["", f"![attention time and memory](attention_{dev}.png)", "",
                    "Both take about 4x the time per doubling of the tokens (T x T scores); "
                    "the naive path's memory grows 4x per doubling too (it stores the T x T "
                    "weights for the backward), sdpa's less than 2x (it recomputes them "
                    "block by block)."]
        elif name == "decode":
            r = s["result"]
            B, S = r["size"]["batch"]
            out += [f"Greedy decoding of {r['new_tokens']} new tokens for {B} sources of {S} "
                    f"tokens (small size, untrained, no early stop): cached "
                    f"{r['cached_s'] * 1000:,.0f} ms, recomputing the prefix "
                    f"{r['recomputed_s'] * 1000:,.0f} ms: **{r['speedup']:.1f}x**, identical "
                    f"tokens: {r['identical']}.", "",
                    f"Beam search with the {r['beam']['model']} on {r['beam']['sentences']} "
                    "German and Japanese numbers (early stop at </s>):", "",
                    "| beam | ms / sentence | vs greedy |", "|---:|---:|---:|"]
            for row in r["beam"]["rows"]:
                label = "1 (greedy)" if row["beam"] == 1 else str(row["beam"])
                out.append(f"| {label} | {row['ms_per_sentence']:,.2f} | "
                           f"{row['vs_greedy']:.2f}x |")
        elif name == "compile":
            r = s["result"]
            out += [f"The fast path, {r['norm']}-norm, small size: eager "
                    f"{r['eager_s'] * 1000:,.1f} ms / step, compiled {r['compiled_s'] * 1000:,.1f}"
                    f" ms / step: **{r['speedup']:.2f}x**; the first compiled step "
                    f"(compiling with no cache) took {r['first_step_s']:,.0f} s of wall time."]
        out.append("")
    checks = [] if results.get("tiny") else targets(results)
    if checks:
        out += ["## Targets", "", "| target | measured | holds |", "|---|---|---|"]
        out += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in checks]
        out.append("")
    return "\n".join(out)


CLOCK_WORDS = {"wall": "elapsed (wall-clock) time",
               "cpu": "the process's CPU time (one thread: the machine's waits left out)"}
TITLES = {"train": "Training step, small size", "base": "Training step, base size",
          "attention": "Attention alone: naive vs sdpa", "decode": "Decoding",
          "compile": "torch.compile"}


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, holds) for each speed target this run measured."""
    sec, dev, checks = results["sections"], results["device"], []

    def ratios(name: str, path: str) -> list[float]:
        return [r["paths"][path]["vs_torch"] for r in sec[name]["result"]["norms"].values()]

    for name, label, fast_target in (("train", "small size", TARGETS["fast_vs_torch_small"]),
                                     ("base", "base size", TARGETS["fast_vs_torch_base"])):
        if dev != "cpu" or name not in sec:
            continue
        worst = min(ratios(name, "fast"))
        checks.append((f"fast path >= {fast_target}x nn.Transformer, {label} (both norms)",
                       f"{worst:.2f}x (the lower norm)", worst >= fast_target))
        worst = min(ratios(name, "teaching"))
        checks.append((f"teaching path >= 0.8x nn.Transformer, {label}",
                       f"{worst:.2f}x", worst >= TARGETS["teaching_vs_torch"]))
    if dev == "cpu" and "train" in sec:
        best = max(r["paths"]["fast"]["of_peak"]
                   for r in sec["train"]["result"]["norms"].values())
        checks.append(("our step >= 60% of the measured matmul peak, small size",
                       f"{best:.0%} (fast path, the better norm)",
                       best >= TARGETS["mfu_small_cpu"]))
    if "base" in sec:
        nominal = gpu_peak(sec["base"]["machine"].get("gpu", "")) if dev == "cuda" else None
        if nominal:
            best = max(r["paths"]["fast"]["flops_per_s"] / nominal
                       for r in sec["base"]["result"]["norms"].values())
            checks.append(("bf16 MFU >= 40% at the base size (fast path)", f"{best:.0%}",
                           best >= TARGETS["mfu_base_gpu"]))
    if "attention" in sec:
        rows = [r for r in sec["attention"]["result"]["rows"] if r["tokens"] == 4096]
        if rows and rows[0]["naive_bytes"] and rows[0]["sdpa_bytes"]:
            ratio = rows[0]["naive_bytes"] / rows[0]["sdpa_bytes"]
            checks.append(("sdpa at 4,096 tokens needs >= 4x less peak memory than naive",
                           f"{ratio:,.1f}x", ratio >= TARGETS["sdpa_memory_4096"]))
    return checks


def plot_attention(result: dict, path: Path) -> Path:
    """Time and peak memory of naive vs sdpa attention against the number of tokens."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from annotated.viz.primitives import curves, grid

    rows = result["rows"]
    tokens = [r["tokens"] for r in rows]
    fig, axes = grid(2, cols=2, size=3.6)
    curves(tokens, {"naive (explicit softmax)": [r["naive_s"] * 1000 for r in rows],
                    "sdpa (fused kernel)": [r["sdpa_s"] * 1000 for r in rows]},
           ax=axes[0], title="time, forward + backward", xlabel="tokens",
           ylabel="milliseconds", logy=True, marker="o")
    if all(r["naive_bytes"] is not None and r["sdpa_bytes"] is not None for r in rows):
        curves(tokens, {"naive (explicit softmax)": [r["naive_bytes"] / 2**20 for r in rows],
                        "sdpa (fused kernel)": [max(r["sdpa_bytes"], 1) / 2**20 for r in rows]},
               ax=axes[1], title="peak memory above the inputs", xlabel="tokens",
               ylabel="MiB", logy=True, marker="o")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(tokens, [f"{t:,}" for t in tokens])
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sections", nargs="*", choices=[[], *SECTIONS], default=[],
                   metavar="SECTION", help=f"what to measure: {', '.join(SECTIONS)} (default: all)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="cpu (float32) or cuda (bf16 autocast); default cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="wall: elapsed time (default); cpu: this process's CPU time, for "
                        "one-thread runs on a machine shared with other work")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: checks the script runs")
    p.add_argument("--render", action="store_true",
                   help="measure nothing: rewrite OUT/DEVICE.md from OUT/DEVICE.json")
    p.add_argument("--out", type=Path, default=RESULTS,
                   help="folder for DEVICE.json, DEVICE.md and the plot "
                        "(default: benchmarks/results)")
    args = p.parse_args(argv)
    if args.render:
        results = json.loads((args.out / f"{args.device}.json").read_text())
        (args.out / f"{args.device}.md").write_text(render(results))
        if "attention" in results["sections"]:
            plot_attention(results["sections"]["attention"]["result"],
                           args.out / f"attention_{args.device}.png")
        return 0
    try:
        device = default_device(args.device)
    except RuntimeError as e:
        print(f"error: {e}. The GPU benchmark needs a CUDA machine: run benchmarks/gpu.sh "
              "there; here, use --device cpu.", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == "cpu" and (device.type != "cpu" or torch.get_num_threads() != 1):
        print("error: --clock cpu measures one thread's work: use it with --device cpu "
              "--threads 1", file=sys.stderr)
        return 2
    global CLOCK
    CLOCK = args.clock
    preset = "tiny" if args.tiny else device.type
    sizes, rounds = SIZES[preset], ROUNDS[preset]
    mixed = "bf16" if device.type == "cuda" else "fp32"
    peak_dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    peak_n = 256 if args.tiny else (8192 if device.type == "cuda" else 2048)
    warmup = 1 if args.tiny else 2
    sections = args.sections or list(SECTIONS)

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / f"{device.type}.json"
    results = (json.loads(json_path.read_text()) if json_path.exists()
               else {"device": device.type, "sections": {}})
    results["tiny"] = args.tiny
    command = "python benchmarks/speed.py " + shlex.join(argv if argv is not None
                                                          else sys.argv[1:])
    info = machine(device)
    print(describe_machine(info))
    for name in sections:
        t0 = time.perf_counter()
        if name == "train":
            res = bench_training("small", sizes["small"], ("pre", "post"), rounds["train"],
                                 warmup, device, mixed, peak_n, peak_dtype)
        elif name == "base":
            res = bench_training("base", sizes["base"], ("pre", "post"), rounds["base"], 1,
                                 device, mixed, peak_n, peak_dtype)
        elif name == "attention":
            dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
            res = bench_attention(ATTENTION_LENGTHS[preset], rounds["attention"], device, dtype)
            plot_attention(res, args.out / f"attention_{device.type}.png")
        elif name == "decode":
            res = bench_decode(sizes["small"], rounds["decode"], device,
                               new_tokens=8 if args.tiny else 64,
                               beams=(1, 2) if args.tiny else (1, 2, 4, 8),
                               sentences=4 if args.tiny else 64)
        else:
            res = bench_compile(sizes["small"], rounds["compile"], warmup, device, mixed)
        results["sections"][name] = {
            "command": command, "machine": info, "clock": args.clock, "result": res,
            "date": datetime.date.today().isoformat(),
            "wall_s": time.perf_counter() - t0}
        json_path.write_text(json.dumps(results, indent=1))
        text = render(results)
        (args.out / f"{device.type}.md").write_text(text)
        print(f"[{name}: {time.perf_counter() - t0:.0f} s]")
    print(text)
    print(f"wrote {json_path} and {args.out / f'{device.type}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

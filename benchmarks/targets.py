"""Measure the course's training and decoding targets. Not a test: it takes minutes.

    python benchmarks/targets.py copy          # train copy with the CLI defaults, time it
    python benchmarks/targets.py numbers       # the shipped model on the numbers test split
    python benchmarks/targets.py numbers --train   # first retrain it (the default run)
    python benchmarks/targets.py decode        # cached vs recomputed greedy decoding
    python benchmarks/targets.py multi30k-speed --threads 1   # s/step of `train multi30k`
    python benchmarks/targets.py all

Targets: copy 100% exact on held-out sequences in <= 60 s on 2 CPU cores; numbers >= 99.5%
exact on 2,000 held-out numbers for German and for Japanese, from the default
`train numbers` run taking <= 10 minutes; cached greedy >= 3x faster than recomputing the
prefix for 64 output tokens at batch 32 on CPU, with identical tokens; beam search (4) at
least as accurate as greedy on the numbers test split.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

from annotated import padding_mask
from annotated.checkpoint import validate_vocab
from annotated.decoding import greedy_decode
from annotated.metrics import evaluate
from annotated.pretrained import Translator, model_path
from annotated.registry import get_task, make_data
from annotated.tasks import MAX_NUMBER, number_words
from annotated.training import TrainConfig, train


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
            f"{torch.__version__}, {torch.get_num_threads()} threads, load average {load:.2f}")


def bench_copy() -> None:
    """The default `train copy` run, end to end: data, training, test evaluation."""
    t0 = time.perf_counter()
    cfg = TrainConfig(**(get_task("copy").recipe.train | {"progress": False}))
    result = train("copy", cfg)
    scores = evaluate(result.model, result.data.test, result.data.src_vocab,
                      result.data.tgt_vocab, get_task("copy"),
                      result.max_len)
    seconds = time.perf_counter() - t0
    s = scores["all"]
    print(f"copy: {result.history.step[-1]} steps, test exact match {s.exact:.4f} "
          f"({round(s.exact * s.n)}/{s.n}) in {seconds:.1f} s total "
          f"(training {result.history.seconds:.1f} s)  target: 1.0 in <= 60 s")


def bench_numbers(checkpoint: Path, retrain: bool) -> None:
    """Exact match per language, greedy and beam 4, on the 2,000 held-out numbers."""
    if retrain:
        t0 = time.perf_counter()
        cfg = TrainConfig(**(get_task("numbers").recipe.train | {"progress": True}))
        result = train("numbers", cfg, out="runs/numbers")
        print(f"numbers: default run trained in {time.perf_counter() - t0:.1f} s "
              f"(target <= 600 s)")
        checkpoint = result.checkpoint
    tr = Translator.from_checkpoint(checkpoint, "numbers")
    st = tr.state
    data = make_data("numbers", seed=st["train_config"]["seed"], **st["task_settings"])
    validate_vocab(st, data)
    print(f"numbers: {checkpoint} ({checkpoint.stat().st_size / 1e6:.2f} MB), "
          f"{len(data.test) // 2} test numbers per language")
    for beam in (1, 4):
        t0 = time.perf_counter()
        scores = evaluate(tr.model, data.test, tr.src_vocab, tr.tgt_vocab, tr.task, tr.max_len,
                          beam_size=beam)
        name = "greedy" if beam == 1 else f"beam {beam}"
        parts = ", ".join(f"{g} {s.exact:.4f} ({round(s.exact * s.n)}/{s.n})"
                          for g, s in scores.items() if g != "all")
        print(f"  {name:>7}: exact match {parts}; BLEU {scores['all'].bleu.score:.2f} "
              f"[{time.perf_counter() - t0:.1f} s]")
    print(f"  sacrebleu signature: {scores['all'].bleu.signature}")
    # Beyond the uniform test split: every small number, and round ones (d * 10^k, d < 100).
    sweeps = {"0..9,999": range(10_000),
              "d*10^k": sorted({d * 10**k for d in range(1, 100) for k in range(5)
                                if d * 10**k <= MAX_NUMBER})}
    for name, numbers in sweeps.items():
        for lang in ("de", "ja"):
            outs = tr.translate([number_words(n, lang) for n in numbers])
            wrong = [(n, o) for n, o in zip(numbers, outs, strict=True)
                     if o != number_words(n, "en")]
            print(f"  {name} {lang}: {len(numbers) - len(wrong)}/{len(numbers)} right; "
                  f"wrong: {wrong[:4]}")


def bench_decode(checkpoint: Path, repeats: int = 3) -> None:
    """Cached vs recomputed greedy decoding, 64 new tokens for 32 sources (no early stop)."""
    tr = Translator.from_checkpoint(checkpoint)
    data = make_data("numbers", seed=tr.state["train_config"]["seed"],
                     **tr.state["task_settings"])
    sources = [tr.src_vocab.encode(e.src) for e in data.test[:32]]
    width = max(map(len, sources))
    src = torch.tensor([s + [tr.src_vocab.pad] * (width - len(s)) for s in sources])  # (32, S)
    src_mask = padding_mask(src, tr.src_vocab.pad)  # (32, 1, S)
    model = tr.model
    # max_len counts the start symbol: 65 = start + 64 generated tokens; no end symbol, so
    # every row decodes all 64.
    times, outs = {}, {}
    for cache in (True, False):
        greedy_decode(model, src, src_mask, 8, tr.tgt_vocab.bos, cache=cache)  # warm up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            outs[cache] = greedy_decode(model, src, src_mask, 65, tr.tgt_vocab.bos, cache=cache)
            best = min(best, time.perf_counter() - t0)
        times[cache] = best
    same = torch.equal(outs[True], outs[False])
    print(f"decode: batch 32 x 64 tokens, cached {times[True] * 1000:.0f} ms, recomputed "
          f"{times[False] * 1000:.0f} ms: {times[False] / times[True]:.1f}x faster, "
          f"identical tokens: {same} (shape {tuple(outs[True].shape)})  target: >= 3x")


def bench_multi30k_speed(steps: int = 20, folder: Path | None = None) -> None:
    """Training speed of the default multi30k run, and of the same run with --fast: seconds
    per step and tokens per second, the two measured alternately on the same batches."""
    from annotated.device import precision_for
    from annotated.losses import make_criterion
    from annotated.model import ModelConfig, count_parameters, model_from_config
    from annotated.multi30k import find_corpus
    from annotated.training import BatchStream, make_optimizer, train_step

    found = find_corpus(folder)
    if found is None:
        raise SystemExit("multi30k-speed needs the corpus: set ANNOTATED_MULTI30K or --data")
    recipe = get_task("multi30k").recipe
    data = make_data("multi30k", folder=found)
    t = recipe.train
    precision = precision_for("cpu")
    stream = BatchStream(data.train, data.src_vocab, data.tgt_vocab, t["batch_size"], 0)
    runs = {}
    for fast in (False, True):
        cfg = ModelConfig(src_vocab=len(data.src_vocab), tgt_vocab=len(data.tgt_vocab),
                          **recipe.model, fast=fast)
        torch.manual_seed(0)
        model = model_from_config(cfg).train()
        optimizer, scheduler = make_optimizer(model, cfg.d_model, t["factor"], t["warmup"],
                                              fused=fast)
        criterion = make_criterion(cfg.tgt_vocab, data.tgt_vocab.pad, 0.1, fast)
        scaler = precision.grad_scaler()
        runs["--fast" if fast else "default"] = (
            lambda b, m=model, c=criterion, o=optimizer, s=scheduler, g=scaler:
            train_step(m, [b], c, o, s, g, precision))
    for i in range(2):  # warm up
        for run in runs.values():
            run(stream.batch(i))
    tokens, seconds = 0, dict.fromkeys(runs, 0.0)
    for i in range(2, 2 + steps):
        batch = stream.batch(i)
        tokens += batch.ntokens + int((batch.src != data.src_vocab.pad).sum())
        for name in list(runs)[i % 2:] + list(runs)[:i % 2]:  # alternate who goes first
            t0 = time.perf_counter()
            runs[name](batch)
            seconds[name] += time.perf_counter() - t0
    print(f"multi30k: {count_parameters(model) / 1e6:.1f}M parameters, {steps} steps each, "
          "alternately; tokens: source + target, no padding; target: <= 60 min on 2 CPU cores")
    for name, total in seconds.items():
        per_step = total / steps
        print(f"  {name:8} {per_step:.2f} s/step, {tokens / total:,.0f} tokens/s; the default "
              f"{t['steps']} steps would take {t['steps'] * per_step / 60:.0f} min of training")
    print(f"  --fast is {seconds['default'] / seconds['--fast']:.2f}x the default's speed")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["copy", "numbers", "decode", "multi30k-speed", "all"])
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="numbers model to measure (default: the shipped one)")
    p.add_argument("--train", action="store_true", help="numbers: retrain with the defaults")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine())
    ckpt = args.checkpoint or model_path("numbers")
    if args.what in ("copy", "all"):
        bench_copy()
    if args.what in ("numbers", "all"):
        bench_numbers(ckpt, args.train)
    if args.what in ("decode", "all"):
        bench_decode(ckpt)
    if args.what == "multi30k-speed":
        bench_multi30k_speed()
    return 0


if __name__ == "__main__":
    sys.exit(main())

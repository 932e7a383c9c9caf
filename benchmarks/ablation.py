"""Chapter 10's ablation: each switch of issue 20 on the numbers task. Not a test: it takes
an hour or more.

    python benchmarks/ablation.py                       # every row, seed 0, 500 steps
    python benchmarks/ablation.py --seeds 0 1 --jobs 2  # two seeds, two processes at once
    python benchmarks/ablation.py --rows base rope --steps 300   # a few rows, shorter
    python benchmarks/ablation.py --tiny                # seconds: checks the script runs
    python benchmarks/ablation.py --timing 5           # step times again, rows taking turns

Runs already in build/ablation with the same settings are not repeated, and two invocations
started at different times share the work (each run is claimed by a file while it runs).

Each (row, seed) trains the numbers recipe's model (`train numbers`, one CPU thread) with
the row's switches for `--steps` steps, measuring greedy exact match on the first
`--valid-decode` validation examples every `--every` steps (the training callback), then
exact match on the first `--test` held-out test examples. It also times `--time-steps`
training steps on one fixed batch (median), counts the parameters and measures the decoding
cache's bytes per token. Each run writes build/ablation/ROW-SEED.json; the rows, averaged
over seeds with each seed's values kept, go to src/annotated/models/ablation_numbers.json,
which `annotated.modern.ablation_results()` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "src" / "annotated" / "models" / "ablation_numbers.json"
RUNS = ROOT / "build" / "ablation"

# Each row: the ModelConfig switches it changes from the 2017 model.
ROWS = {  # the order runs start in: the three the chapter compares most come first
    "base": {},
    "modern": {"norm_type": "rms", "ffn": "swiglu", "position": "rope", "kv_heads": 2},
    "decoder": {"arch": "decoder"},  # one stack of 2N = 4 layers: about the same parameters
    "rms": {"norm_type": "rms"},
    "swiglu": {"ffn": "swiglu"},
    "gelu": {"ffn": "gelu"},
    "rope": {"position": "rope"},
    "learned": {"position": "learned"},
    "kv_heads 2": {"kv_heads": 2},
    "kv_heads 1": {"kv_heads": 1},
}
# Every row's positions table (learned) needs only the task's lengths; 5000 rows would add
# 640,000 untrained parameters to the count. The sinusoidal table is a buffer either way.
MAX_LEN = 128


def run_one(name: str, seed: int, steps: int, every: int, valid_decode: int, n_test: int,
            time_steps: int, tiny: bool, fast: bool = True) -> dict:
    """Train one row with one seed in this process and return its measurements."""
    import torch

    from annotated import count_parameters, model_from_config
    from annotated.decoding import cache_bytes_per_token
    from annotated.modern import steps_to_reach
    from annotated.training import TrainConfig, exact_match_of, train

    torch.set_num_threads(1)
    task_settings = {"n_train": 2000, "n_valid": 50, "n_test": 50} if tiny else {}
    model_config = {"max_len": MAX_LEN, "fast": fast} | ROWS[name]
    if tiny:
        model_config |= {"d_model": 32, "d_ff": 64, "N": 1}
    seen: list[tuple[int, float]] = []

    def callback(history) -> None:
        seen.append((history.valid_step[-1], history.valid_exact[-1]))
        print(f"  {name} seed {seed}: step {seen[-1][0]}, valid exact {seen[-1][1]:.3f}",
              flush=True)

    config = TrainConfig(steps=steps, batch_size=128, warmup=400, factor=1.0,
                         valid_every=every, valid_decode=valid_decode, seed=seed,
                         device="cpu", progress=False)
    t0 = time.perf_counter()
    result = train("numbers", config, model_config, callback=callback, **task_settings)
    train_seconds = time.perf_counter() - t0
    model, data = result.model, result.data
    exact = exact_match_of(model, data.test[:n_test], data.src_vocab, data.tgt_vocab,
                           result.max_len)

    # The step time, alone: `time_steps` steps on one fixed batch, a fresh optimizer, on
    # the teaching path (the fast path fuses only the 2017 attention: unfair to the rest).
    teaching = model_from_config(replace(model.config, fast=False))
    teaching.load_state_dict(model.state_dict())
    model = teaching
    step = step_timer(model, data, seed)
    times = [step() for _ in range(time_steps)]
    h = result.history
    return {
        "name": name, "seed": seed, "config": ROWS[name],
        "params": count_parameters(model),
        "step_ms": 1000 * statistics.median(times[1:] or times),
        "steps_to_99": steps_to_reach(h.valid_step, h.valid_exact, 0.99),
        "steps_to_95": steps_to_reach(h.valid_step, h.valid_exact, 0.95),
        "exact_match": exact,
        "cache_bytes_per_token": cache_bytes_per_token(model),
        "train_seconds": train_seconds,
        "history": {"step": h.valid_step, "valid_exact": h.valid_exact},
    }


def step_timer(model, data, seed: int = 0):
    """A function that runs one teaching-path training step of `model` on one fixed batch of
    `data` (batch 128) and returns its seconds."""
    from annotated.decoder_only import seq2seq_view
    from annotated.device import precision_for
    from annotated.losses import make_criterion
    from annotated.training import BatchStream, make_optimizer, train_step

    model.train()
    batch = BatchStream(data.train, data.src_vocab, data.tgt_vocab, 128, seed).batch(0)
    precision = precision_for("cpu", "fp32")
    criterion = make_criterion(len(data.tgt_vocab), data.tgt_vocab.pad, 0.1, False)
    optimizer, scheduler = make_optimizer(model, model.config.d_model, 1.0, 400)
    view, scaler = seq2seq_view(model), precision.grad_scaler()

    def step() -> float:
        t = time.perf_counter()
        train_step(view, [batch], criterion, optimizer, scheduler, scaler, precision)
        return time.perf_counter() - t

    return step


def interleaved_timing(names: list[str], rounds: int, steps: int) -> dict[str, list[float]]:
    """Each row's step times in ms, the rows taking turns `rounds` times (`steps` each): a
    load that changes during the measurement then falls on every row alike."""
    import torch

    from annotated import ModelConfig, model_from_config
    from annotated.decoder_only import data_for
    from annotated.registry import get_task, make_data

    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = make_data("numbers", 0)
    timers = {}
    for name in names:
        cfg = {"max_len": MAX_LEN} | get_task("numbers").recipe.model | ROWS[name]
        mine = data_for(cfg.get("arch", "encoder-decoder"))(data)
        model = model_from_config(ModelConfig(len(mine.src_vocab), len(mine.tgt_vocab), **cfg))
        timers[name] = step_timer(model, mine)
        timers[name]()  # a first step allocates: not timed
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            times[name] += [1000 * timers[name]() for _ in range(steps)]
    return times


def aggregate(runs: list[dict], settings: dict) -> list[dict]:
    """One row per name, in ROWS order: seed means, with every seed's values kept."""
    rows = []
    for name in ROWS:
        mine = sorted((r for r in runs if r["name"] == name), key=lambda r: r["seed"])
        if not mine:
            continue
        reached = [r["steps_to_99"] for r in mine]
        reached95 = [r["steps_to_95"] for r in mine]
        rows.append({
            "name": name, "config": ROWS[name],
            "params": mine[0]["params"],
            "step_ms": statistics.mean(r["step_ms"] for r in mine),
            # None when some seed never reached 99% within the budget.
            "steps_to_99": (statistics.mean(reached) if None not in reached else None),
            "steps_to_95": (statistics.mean(reached95) if None not in reached95 else None),
            "exact_match": statistics.mean(r["exact_match"] for r in mine),
            "exact_match_spread": (max(r["exact_match"] for r in mine)
                                   - min(r["exact_match"] for r in mine)),
            "cache_bytes_per_token": mine[0]["cache_bytes_per_token"],
            "seeds": [r["seed"] for r in mine],
            "budget": settings["steps"],
            "per_seed": {str(r["seed"]): {k: r[k] for k in (
                "params", "step_ms", "steps_to_99", "steps_to_95", "exact_match",
                "train_seconds",
                "history")} for r in mine},
        })
    return rows


def write_markdown(rows: list[dict], settings: dict, path: Path) -> None:
    """The table docs/ablation.md includes (between its markers)."""
    lines = ["| row | switches | parameters | step (ms) | steps to 95% / 99% | test exact match "
             "| cache bytes/token | seeds |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        switches = ", ".join(f"{k}={v}" for k, v in r["config"].items()) or "2017 model"
        per = " / ".join(f"{s['exact_match']:.3f}" for s in r["per_seed"].values())
        reach = " / ".join("-" if r[k] is None else f"{r[k]:.0f}"
                           for k in ("steps_to_95", "steps_to_99"))
        lines.append(f"| {r['name']} | {switches} | {r['params']:,} | {r['step_ms']:.0f} | "
                     f"{reach} | {r['exact_match']:.3f} ({per}) | "
                     f"{r['cache_bytes_per_token']:.0f} | {', '.join(map(str, r['seeds']))} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", nargs="*", default=list(ROWS), help=f"rows: {', '.join(ROWS)}")
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--steps", type=int, default=500, help="training steps per run")
    p.add_argument("--every", type=int, default=50, help="validate every this many steps")
    p.add_argument("--valid-decode", type=int, default=200)
    p.add_argument("--test", type=int, default=1000, help="held-out test examples scored")
    p.add_argument("--time-steps", type=int, default=10)
    p.add_argument("--jobs", type=int, default=2, help="processes at once, one thread each")
    p.add_argument("--teaching", action="store_true",
                   help="train on the teaching path (default: the fast path, ~1.3x faster; "
                        "the same math, other dropout draws); steps are timed on the "
                        "teaching path either way")
    p.add_argument("--tiny", action="store_true", help="a tiny model and data: seconds")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--runs", type=Path, default=RUNS,
                   help="folder of the per-run JSON files (default: build/ablation)")
    p.add_argument("--timing", type=int, metavar="ROUNDS",
                   help="only time the rows' steps, taking turns ROUNDS times, and write the "
                        "medians into the results as step_ms (the per-seed values stay)")
    p.add_argument("--one", nargs=2, metavar=("ROW", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.tiny:
        args.steps, args.every, args.valid_decode, args.test, args.time_steps = 20, 10, 20, 20, 3
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        p.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    settings = {k: getattr(args, k) for k in ("steps", "every", "valid_decode", "test",
                                              "time_steps", "tiny", "teaching")}
    runs_dir = args.runs
    runs_dir.mkdir(parents=True, exist_ok=True)
    tag = "tiny-" if args.tiny else ""
    if args.timing:  # the step times again, interleaved, into the existing results
        times = interleaved_timing(args.rows, args.timing, 3)
        rows = json.loads(args.out.read_text())
        for r in rows:
            if r["name"] in times:
                r["step_ms"] = statistics.median(times[r["name"]])
                r["step_ms_quartiles"] = statistics.quantiles(times[r["name"]], n=4)
                r["step_ms_how"] = (f"median of {len(times[r['name']])} teaching-path steps, "
                                    f"the rows taking turns {args.timing} times")
        args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        for name, t in times.items():
            print(f"{name:>10}: {statistics.median(t):6.0f} ms "
                  f"(quartiles {', '.join(f'{q:.0f}' for q in statistics.quantiles(t, n=4))})")
        return 0
    if args.one:  # a child process: one run, its JSON to build/ablation/
        name, seed = args.one[0], int(args.one[1])
        run = run_one(name, seed, args.steps, args.every, args.valid_decode, args.test,
                      args.time_steps, args.tiny, not args.teaching) | {"settings": settings}
        (runs_dir / f"{tag}{name.replace(' ', '_')}-{seed}.json").write_text(json.dumps(run))
        return 0

    env = os.environ | {"OMP_NUM_THREADS": "1"}
    flags = [f"--steps={args.steps}", f"--every={args.every}",
             f"--valid-decode={args.valid_decode}", f"--test={args.test}",
             f"--time-steps={args.time_steps}", f"--runs={runs_dir}"]
    flags += ["--tiny"] * args.tiny + ["--teaching"] * args.teaching

    lock = threading.Lock()

    def write_results() -> None:
        """Aggregate every run made with these settings (earlier invocations' too) and write."""
        runs = [json.loads(f.read_text()) for f in sorted(runs_dir.glob(f"{tag}*.json"))]
        rows = aggregate([r for r in runs if r.get("settings") == settings], settings)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        write_markdown(rows, settings, runs_dir / f"{tag}table.md")
        print(f"wrote {args.out} ({len(rows)} rows) and {runs_dir / f'{tag}table.md'}",
              flush=True)

    def child(job: tuple[str, int]) -> int:
        name, seed = job
        result = runs_dir / f"{tag}{name.replace(' ', '_')}-{seed}.json"
        if result.is_file() and json.loads(result.read_text()).get("settings") == settings:
            return 0  # done by an earlier invocation: a stopped ablation resumes
        claim = result.with_suffix(".claim")
        try:  # another invocation sharing this folder may run it already: then skip it
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return 0
        print(f"start {name} seed {seed}", flush=True)
        cmd = [sys.executable, __file__, "--one", name, str(seed), *flags]
        try:
            code = subprocess.run(cmd, env=env, check=False).returncode
        finally:
            claim.unlink()
        with lock:  # the results so far, so that a stopped run still leaves a usable file
            write_results()
        return code

    jobs = [(name, seed) for seed in args.seeds for name in args.rows]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        codes = list(pool.map(child, jobs))
    if any(codes):
        print(f"some runs failed: {[j for j, c in zip(jobs, codes, strict=True) if c]}")
    print((runs_dir / f"{tag}table.md").read_text())
    return 1 if any(codes) else 0


if __name__ == "__main__":
    sys.exit(main())

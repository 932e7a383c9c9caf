"""The command line: `python -m annotated COMMAND ...`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .checkpoint import export, load_checkpoint, validate_vocab
from .decoder_only import data_for
from .device import default_device, describe, precision_for
from .distributed import close_distributed, init_distributed
from .metrics import evaluate
from .multi30k import SPLITS, bleu_scores, load_split
from .pretrained import Translator, load
from .registry import TASKS, get_task, make_data
from .training import TrainConfig, train


def cmd_figures(args: argparse.Namespace) -> int:
    """Save the chapters' key figures as PNG files."""
    # Imported here: matplotlib must be told Agg (no display) before pyplot loads.
    import matplotlib

    matplotlib.use("Agg")
    from .viz import figures

    for path in figures.save_all(args.out, args.names or None):
        print(f"wrote {path}  {figures.FIGURES[path.stem].caption}")
    return 0


# --- Chapters 7-8: train, evaluate, translate ---

MODEL_OPTIONS = {"layers": "N", "d_model": "d_model", "d_ff": "d_ff", "heads": "h",
                 "dropout": "dropout"}
# Chapter 10's switches: option -> (ModelConfig field, choices, type).
SWITCH_OPTIONS = {"norm_type": ("norm_type", ("layer", "rms"), str),
                  "ffn": ("ffn", ("relu", "gelu", "swiglu"), str),
                  "position": ("position", ("sinusoidal", "learned", "rope"), str),
                  "kv_heads": ("kv_heads", None, int),
                  "arch": ("arch", ("encoder-decoder", "decoder"), str)}
TRAIN_OPTIONS = ("steps", "batch_size", "accum", "factor", "warmup", "smoothing", "clip",
                 "valid_every", "stop_at", "seed", "device", "mixed", "compile")


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model on a task, write its checkpoint, and export it if asked."""
    defaults = get_task(args.task).recipe.train
    given = {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}
    config = TrainConfig(**(defaults | given | {"progress": not args.no_progress}))
    model_config = {v: getattr(args, k) for k, v in MODEL_OPTIONS.items()
                    if getattr(args, k) is not None}
    model_config |= {field: getattr(args, opt) for opt, (field, _, _) in SWITCH_OPTIONS.items()
                     if getattr(args, opt) is not None}
    if args.fast:
        model_config["fast"] = True
    task_settings = _task_settings(args)
    dist_info, device = init_distributed(config.device)
    out = Path(args.out or f"runs/{args.task}")
    if dist_info.main:
        print(f"training {args.task} on {describe(precision_for(device, config.mixed))}"
              + (f", {dist_info.world} processes" if dist_info.world > 1 else ""))
    try:
        result = train(args.task, config, model_config, out=out, resume=args.resume,
                       save_all_ranks=args.save_all_ranks, **task_settings)
    finally:
        close_distributed(dist_info)
    if not dist_info.main:
        return 0
    h = result.history
    print(f"{h.step[-1] if h.step else 0} steps in {h.seconds:.1f} s; last train loss "
          f"{h.loss[-1]:.4f}; valid loss {h.valid_loss[-1]:.4f}, "
          f"valid exact match {h.valid_exact[-1]:.3f} (first {config.valid_decode})")
    print(f"checkpoint: {result.checkpoint}")
    if args.export:
        path = export(load_checkpoint(result.checkpoint, args.task), args.export)
        print(f"exported the model to {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


def _task_settings(args: argparse.Namespace) -> dict:
    """The task's own options: where Multi30k is, and its subword vocabulary size."""
    given = {"folder": args.data, "vocab_size": args.vocab_size}
    given = {k: v for k, v in given.items() if v is not None}
    if given and args.task != "multi30k":
        raise ValueError(f"--data and --vocab-size are for multi30k; task {args.task!r} "
                         "generates its own data")
    return given


def _translator(args: argparse.Namespace) -> Translator:
    try:
        device = default_device(args.device)
    except RuntimeError as e:
        raise ValueError(str(e)) from None
    if args.checkpoint and args.pretrained:
        raise ValueError("give a checkpoint or --pretrained, not both")
    if args.checkpoint:
        return Translator.from_checkpoint(args.checkpoint, device=device)
    return load(args.pretrained or "numbers", device=device)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Exact match and BLEU of a model on a task's held-out split."""
    tr = _translator(args)
    state = tr.state
    if state["task"] == "multi30k":
        return _evaluate_multi30k(tr, args)
    data = make_data(state["task"], seed=state["train_config"]["seed"], **state["task_settings"])
    data = data_for(state["model_config"].get("arch", "encoder-decoder"))(data)
    validate_vocab(state, data)
    examples = data.split(args.split)[: args.limit]
    print(f"{state['task']}: {len(examples)} {args.split} examples, "
          + ("greedy decoding" if args.beam == 1 else f"beam search (beam {args.beam})"))
    scores = evaluate(tr.model, examples, tr.src_vocab, tr.tgt_vocab, tr.task, tr.max_len,
                      beam_size=args.beam)
    for group, s in scores.items():
        print(f"  {group:>4}: exact match {s.exact:.4f} ({round(s.exact * s.n)}/{s.n}), "
              f"BLEU {s.bleu.score:.2f}")
    print(f"sacrebleu signature: {scores['all'].bleu.signature}")
    return 0


def _write_lines(path: str, lines: list[str]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _evaluate_multi30k(tr: Translator, args: argparse.Namespace) -> int:
    """BLEU of greedy decoding, and of beam search with --beam K > 1, on a Multi30k split."""
    split = {"valid": "val", "test": "test"}[args.split]
    pairs = load_split(split, args.data)[: args.limit]
    refs = [en for _, en in pairs]
    print(f"multi30k: {len(pairs)} {SPLITS[split]} pairs, German -> English")
    beams = [1] + ([args.beam] if args.beam > 1 else [])
    scores = {}
    for k in beams:
        t0 = time.perf_counter()
        hyps = tr.translate([de for de, _ in pairs], beam_size=k)
        scores[k] = bleu_scores(hyps, refs)
        name = "greedy" if k == 1 else f"beam {k}"
        if args.output:  # one sentence a line, for other BLEU tools
            _write_lines(f"{args.output}.{name.replace(' ', '')}.en", hyps)
            _write_lines(f"{args.output}.ref.en", refs)
        print(f"  {name:>7}: sacreBLEU {scores[k]['sacrebleu'].score:.2f}   lower-cased BLEU "
              f"{scores[k]['lowercased'].score:.2f}   ({time.perf_counter() - t0:.0f} s)")
    print(f"sacreBLEU signature:   {scores[1]['sacrebleu'].signature}")
    print(f"lower-cased signature: {scores[1]['lowercased'].signature} (detokenised output, "
          "lower-cased, 13a tokens)")
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    """Translate the texts given (or standard input's lines), one per line."""
    tr = _translator(args)
    texts = args.text or [line.strip() for line in sys.stdin if line.strip()]
    if not texts:
        raise ValueError("nothing to translate: give texts as arguments or on standard input")
    for text, out in zip(texts, tr.translate(texts, beam_size=args.beam), strict=True):
        print(f"{text}\t{out}")
    return 0


def _add_model_source(p: argparse.ArgumentParser, positional: bool) -> None:
    helps = "a checkpoint from `train` (.pt); default: the shipped numbers model"
    if positional:
        p.add_argument("checkpoint", nargs="?", help=helps)
    else:
        p.add_argument("--checkpoint", help=helps)
    p.add_argument("--pretrained", metavar="NAME", help="a shipped model (numbers)")
    p.add_argument("--beam", type=int, default=1, metavar="K",
                   help="beam size; 1 = greedy decoding (default: 1)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default: cpu)")


def add_training_commands(sub) -> None:
    """Register train, evaluate and translate."""
    lines = []
    for name, task in TASKS.items():
        m, t = task.recipe.model, task.recipe.train
        lines.append(f"  {name}: N={m['N']} d_model={m['d_model']} d_ff={m['d_ff']} h={m['h']} "
                     f"dropout={m['dropout']}; steps={t['steps']} batch={t['batch_size']} "
                     f"warmup={t['warmup']} factor={t['factor']}")
    p = sub.add_parser(
        "train", help="train a model on a task (copy, numbers or multi30k)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a Transformer on a task (generated, or the Multi30k corpus) and "
                    "write\nout/checkpoint.pt at "
                    "every validation.\nRun it under `torchrun --nproc_per_node=N -m annotated "
                    "train ...` to train with\nDistributedDataParallel (NCCL on GPUs, gloo on "
                    "CPUs).\n\ndefaults (each can be changed below):\n" + "\n".join(lines),
        epilog="examples:\n  python -m annotated train copy\n"
               "  python -m annotated train numbers --export src/annotated/models/numbers.pt\n"
               "  python -m annotated train numbers --steps 4000 --resume "
               "runs/numbers/checkpoint.pt\n"
               "  python -m annotated train numbers --norm-type rms --ffn swiglu "
               "--position rope --kv-heads 2\n"
               "  python -m annotated train numbers --arch decoder\n"
               "  python -m annotated train multi30k --data DIR   # DIR holds Multi30k's files")
    # No argparse choices: an unknown name is get_task's ValueError, which lists the tasks.
    p.add_argument("task", help=f"the task to learn: {', '.join(TASKS)}")
    p.add_argument("--device", help="auto (cuda > mps > cpu, the default), cpu, cuda, mps")
    p.add_argument("--mixed", choices=["auto", "bf16", "fp16", "fp32"],
                   help="autocast precision (auto: bf16 or fp16 on GPUs, fp32 on CPU)")
    p.add_argument("--steps", type=int, help="optimizer steps to train for")
    p.add_argument("--batch-size", type=int, help="sentences per batch")
    p.add_argument("--accum", type=int, help="batches accumulated per optimizer step")
    p.add_argument("--factor", type=float, help="learning-rate schedule factor")
    p.add_argument("--warmup", type=int, help="warm-up steps of the schedule")
    p.add_argument("--smoothing", type=float, help="label smoothing (0.1 in the paper)")
    p.add_argument("--clip", type=float, help="gradient-norm clipping (0 = off)")
    p.add_argument("--valid-every", type=int, help="validate and save every this many steps")
    p.add_argument("--stop-at", type=float, help="stop once validation exact match reaches this")
    p.add_argument("--seed", type=int, help="seed of the data and the initial weights")
    for opt, field in MODEL_OPTIONS.items():
        kind = float if opt == "dropout" else int
        p.add_argument(f"--{opt.replace('_', '-')}", type=kind, help=f"model {field}")
    for opt, (field, choices, kind) in SWITCH_OPTIONS.items():
        p.add_argument(f"--{opt.replace('_', '-')}", type=kind, choices=choices,
                       help=f"chapter 10: model {field} (default: the 2017 model's)")
    p.add_argument("--fast", action="store_true", default=None,
                   help="the fast path: fused attention projections, sdpa, faster CPU dropout, "
                        "the loss in closed form, fused Adam (the same weights; equal outputs "
                        "when dropout is off; annotated.fast)")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the training steps (slow to start; off by default)")


    p.add_argument("--data", metavar="DIR", help="multi30k: the folder of the Multi30k files "
                   "(default: $ANNOTATED_MULTI30K, else ~/.cache/annotated/multi30k)")
    p.add_argument("--vocab-size", type=int, help="multi30k: joint BPE pieces (default 8000)")
    p.add_argument("--out", help="folder for checkpoint.pt (default: runs/TASK)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its checkpoint "
                   "(same losses as a run that never stopped); --steps may extend it")
    p.add_argument("--export", metavar="PATH",
                   help="also write the trained model alone (no optimizer state) to PATH")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--save-all-ranks", action="store_true",
                   help="under torchrun, every process writes its final weights (a DDP check)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="exact match and BLEU of a model on held-out data",
                       description="Translate a task's held-out split with a trained model "
                                   "and print exact match (per language) and corpus BLEU. "
                                   "For multi30k: sacreBLEU (cased, 13a) and lower-cased "
                                   "BLEU, greedy and with --beam K.")
    _add_model_source(p, positional=True)
    p.add_argument("--split", default="test", choices=["valid", "test"],
                   help="which held-out split (default: test)")
    p.add_argument("--limit", type=int, help="score only the first LIMIT examples")
    p.add_argument("--data", metavar="DIR", help="multi30k: the folder of the Multi30k files "
                   "(default: $ANNOTATED_MULTI30K, else ~/.cache/annotated/multi30k)")
    p.add_argument("--output", metavar="PREFIX", help="multi30k: also write the translations "
                   "to PREFIX.greedy.en (and PREFIX.beamK.en) and the references to "
                   "PREFIX.ref.en")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("translate", help="translate what you type",
                       description="Translate each TEXT (or each line of standard input).",
                       epilog="examples:\n  python -m annotated translate einundzwanzig 三十四万\n"
                              "  python -m annotated translate --checkpoint "
                              "runs/numbers/checkpoint.pt --beam 4 dreißig",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", nargs="*", help="texts to translate (default: standard input)")
    _add_model_source(p, positional=False)
    p.set_defaults(run=cmd_translate)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="python -m annotated",
        description="The annotated Transformer course's command line.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("figures", help="save the chapters' key figures as PNG files",
                       description="Draw the chapters' key figures and save them as PNGs.")
    p.add_argument("names", nargs="*", help="figures to draw (default: all)")
    p.add_argument("--out", default="figures", help="folder for the PNGs (default: figures)")
    p.set_defaults(run=cmd_figures)
    add_training_commands(sub)  # --- Chapters 7-8 ---
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a ValueError or a missing file is one line on stderr, exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

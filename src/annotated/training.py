"""Chapter 7: the warm-up schedule, and a training loop that can resume.

`train(task, ...)` generates the task's data, builds the model, and trains it with Adam
(0.9, 0.98, 1e-9), the paper's learning-rate schedule, label smoothing
(`annotated.losses`), gradient clipping and accumulation, mixed precision (through
`annotated.precision_for`), periodic validation and atomic checkpoints
(`annotated.checkpoint`). Under `torchrun --nproc_per_node=N` the same function trains with
DistributedDataParallel (`annotated.distributed`; NCCL on GPUs, gloo on CPUs).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint, validate_vocab
from .data import Batch, Vocab, bucket_batches, make_batch
from .decoder_only import data_for, seq2seq_view
from .decoding import translate_tokens
from .device import Precision, precision_for
from .distributed import Dist, broadcast_flag, init_distributed
from .losses import LabelSmoothing, make_criterion
from .model import EncoderDecoder, ModelConfig, evaluating, model_from_config
from .registry import get_task, make_data
from .tasks import Example, Recipe, TaskData


def rate(step: int, model_size: int, factor: float, warmup: int) -> float:
    """The paper's lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)."""
    if warmup <= 0:
        raise ValueError(f"warmup must be positive, got {warmup}")
    step = max(step, 1)  # step 0 would divide by zero
    return factor * model_size**-0.5 * min(step**-0.5, step * warmup**-1.5)


def make_optimizer(model: nn.Module, model_size: int, factor: float, warmup: int,
                   fused: bool = False
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """Adam(0.9, 0.98, 1e-9) with the warm-up schedule; optimizer step s uses rate(s).

    fused=True (the fast path) updates all parameters in one kernel: the same arithmetic.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9,
                                 fused=fused or None)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: rate(s + 1, model_size, factor, warmup))
    return optimizer, scheduler


def _unwrap(model: nn.Module) -> EncoderDecoder:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def loss_sum(model: nn.Module, batch: Batch, criterion: LabelSmoothing,
             precision: Precision) -> torch.Tensor:
    """The summed label-smoothed loss of one batch (teacher forcing)."""
    with precision.autocast():
        out = model(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)  # (B, T, D)
        logits = _unwrap(model).generator.logits(out)  # (B, T, V), float32
    # from_logits: the generator's log-softmax, then the loss (the fast path fuses the two)
    return criterion.from_logits(logits.reshape(-1, logits.size(-1)), batch.tgt_y.reshape(-1))


def train_step(model: nn.Module, batches: Sequence[Batch], criterion: LabelSmoothing,
               optimizer: torch.optim.Optimizer, scheduler, scaler: torch.amp.GradScaler,
               precision: Precision, clip: float | None = 1.0) -> float:
    """One optimizer step over `batches` (accumulated); returns the loss per target token.

    Each micro-batch's summed loss is divided by the tokens of ALL the micro-batches, so the
    accumulated gradient equals the gradient of one big batch; the scheduler steps once.
    """
    ntokens = max(sum(b.ntokens for b in batches), 1)
    total = 0.0
    ddp = isinstance(model, nn.parallel.DistributedDataParallel)
    for i, batch in enumerate(batches):
        last = i == len(batches) - 1
        # DDP averages gradients across processes; only the last micro-batch needs to.
        sync = contextlib.nullcontext() if (last or not ddp) else model.no_sync()
        with sync:
            loss = loss_sum(model, batch, criterion, precision) / ntokens
            scaler.scale(loss).backward()
        total += loss.item()
    scaler.unscale_(optimizer)
    if clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    scaler.step(optimizer)  # skipped (and the scale lowered) when fp16 gradients overflowed
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    return total


@dataclass
class TrainConfig:
    """How to train: steps count optimizer steps; one step = `accum` batches of `batch_size`."""

    steps: int = 1000
    batch_size: int = 128
    accum: int = 1
    factor: float = 1.0
    warmup: int = 400
    smoothing: float = 0.1
    clip: float | None = 1.0
    valid_every: int = 100
    valid_decode: int = 200  # validation examples decoded greedily for exact match
    stop_at: float | None = None  # stop once validation exact match reaches this
    seed: int = 0
    device: str = "auto"
    mixed: str = "auto"
    progress: bool = True
    compile: bool = False  # torch.compile the model for the training steps (not validation)

    def __post_init__(self):
        for name in ("steps", "batch_size", "accum", "warmup", "valid_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass
class History:
    """Losses and validation results as training goes, for curves and checkpoints."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    valid_step: list[int] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_exact: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain lists, for checkpoints."""
        return asdict(self)


@dataclass
class TrainResult:
    """What `train` returns: the model, its data, the history and the checkpoint written."""

    model: EncoderDecoder
    data: TaskData
    history: History
    checkpoint: Path | None
    max_len: int


# ---------------------------------------------------------------- validation


@torch.no_grad()
def validation_loss(model: EncoderDecoder, examples: Sequence[Example], src_vocab: Vocab,
                    tgt_vocab: Vocab, batch_size: int = 256) -> float:
    """Cross-entropy per target token (no smoothing) over `examples`."""
    device = next(model.parameters()).device
    criterion = LabelSmoothing(len(tgt_vocab), tgt_vocab.pad, 0.0)
    total, tokens = 0.0, 0
    with evaluating(model):
        for i in range(0, len(examples), batch_size):
            pairs = [(e.src, e.tgt) for e in examples[i : i + batch_size]]
            batch = make_batch(pairs, src_vocab, tgt_vocab).to(device)
            total += loss_sum(seq2seq_view(model), batch, criterion,
                              precision_for("cpu", "fp32")).item()
            tokens += batch.ntokens
    return total / max(tokens, 1)


def exact_match_of(model: EncoderDecoder, examples: Sequence[Example], src_vocab: Vocab,
                   tgt_vocab: Vocab, max_len: int) -> float:
    """Share of `examples` whose greedy output equals the target exactly."""
    if not examples:
        return float("nan")
    hyps = translate_tokens(model, [e.src for e in examples], src_vocab, tgt_vocab, max_len)
    return sum(tuple(h) == e.tgt for h, e in zip(hyps, examples, strict=True)) / len(examples)


# ---------------------------------------------------------------- the loop


class BatchStream:
    """The micro-batches of training, fixed by (seed, index): a resumed run sees the same ones.

    Epoch e shuffles with seed + e; process `rank` of `world` takes every world-th batch.
    """

    def __init__(self, examples: Sequence[Example], src_vocab: Vocab, tgt_vocab: Vocab,
                 batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.examples, self.src_vocab, self.tgt_vocab = examples, src_vocab, tgt_vocab
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.lengths = [len(e.src) + len(e.tgt) for e in examples]
        self._epoch, self._batches = -1, []
        self.per_epoch = math.ceil(len(examples) / batch_size)
        if self.per_epoch < world:
            raise ValueError(f"{len(examples)} examples make fewer batches than processes")

    def batch(self, index: int) -> Batch:
        """Micro-batch number `index` of this process."""
        g = index * self.world + self.rank
        epoch, j = divmod(g, self.per_epoch)
        if epoch != self._epoch:
            self._epoch = epoch
            self._batches = bucket_batches(self.lengths, self.batch_size, seed=self.seed + epoch)
        pairs = [(self.examples[i].src, self.examples[i].tgt) for i in self._batches[j]]
        return make_batch(pairs, self.src_vocab, self.tgt_vocab)


@dataclass
class _Run:
    """Everything a training run changes as it goes: what a checkpoint saves and restores."""

    model: EncoderDecoder
    model_config: ModelConfig
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    history: History = field(default_factory=History)
    step: int = 0


def _resolve_config(name: str, recipe: Recipe, config: TrainConfig | None,
                    state: dict | None, task_settings: dict) -> tuple[TrainConfig, dict]:
    """The run's TrainConfig and task settings: given, the recipe's, or a checkpoint's."""
    config = config or TrainConfig(**recipe.train)
    if state is None:
        return config, task_settings
    # The run's settings come from the checkpoint; only the number of steps may grow...
    config = TrainConfig(**(state["train_config"] | {"steps": config.steps,
                                                     "progress": config.progress}))
    # ...and where the data lives (a folder), which a checkpoint never records.
    local = get_task(name).local_settings
    return config, state["task_settings"] | {k: v for k, v in task_settings.items()
                                             if k in local}


def _task_data(task: str | TaskData, seed: int, state: dict | None, task_settings: dict,
               arch: str = "encoder-decoder") -> TaskData:
    """The task's data (generated from `seed` unless given); a resumed run's must match.

    A decoder-only model (`arch` "decoder") gets it with one joint vocabulary.
    """
    data = task if isinstance(task, TaskData) else make_data(task, seed, **task_settings)
    data = data_for(arch)(data)
    if state is not None:
        validate_vocab(state, data)
    return data


def _build_run(data: TaskData, recipe: Recipe, config: TrainConfig, model_config: dict | None,
               state: dict | None, device: torch.device, precision: Precision) -> _Run:
    """A fresh model, optimizer, scheduler and scaler; restored from `state` when resuming."""
    torch.manual_seed(config.seed)
    mcfg = ModelConfig(**({"src_vocab": len(data.src_vocab), "tgt_vocab": len(data.tgt_vocab)}
                          | recipe.model | (model_config or {})
                          | (state["model_config"] if state else {})))
    model = model_from_config(mcfg).to(device)
    optimizer, scheduler = make_optimizer(model, mcfg.d_model, config.factor, config.warmup,
                                          fused=mcfg.fast)
    run = _Run(model, mcfg, optimizer, scheduler, precision.grad_scaler())
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        run.scaler.load_state_dict(state["scaler"])
        run.history = History(**state["history"])
        run.step = state["step"]
        # The random state too: dropout then draws what the run that never stopped drew.
        torch.set_rng_state(state["rng"]["cpu"])
        if device.type == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)
    return run


def _training_view(model: EncoderDecoder, config: TrainConfig, dist_info: Dist,
                   device: torch.device) -> nn.Module:
    """What the training steps call: the model, compiled and/or wrapped in DDP."""
    view: nn.Module = seq2seq_view(model)  # chapter 10's DecoderOnly, called as a seq2seq
    if config.compile:
        # A compiled view of the same parameters for the training steps only; validation's
        # step-by-step decoding (changing shapes, a cache) stays eager.
        view = torch.compile(view)
    if dist_info.world > 1:
        ids = [device.index] if device.type == "cuda" else None
        view = nn.parallel.DistributedDataParallel(view, device_ids=ids)
    return view


def _record_step(run: _Run, loss: float, lr: float, config: TrainConfig) -> None:
    """Count one optimizer step in the history; a loss that is not finite stops the run."""
    if not math.isfinite(loss):
        raise FloatingPointError(
            f"the training loss became {loss} at step {run.step + 1}; lower the learning "
            f"rate factor (now {config.factor}) or raise warmup (now {config.warmup})")
    run.step += 1
    run.history.step.append(run.step)
    run.history.loss.append(loss)
    run.history.lr.append(lr)


def _validate(run: _Run, data: TaskData, config: TrainConfig, max_len: int, t0: float
              ) -> tuple[float, float]:
    """Validation loss and exact match now, recorded in the history."""
    vloss = validation_loss(run.model, data.valid, data.src_vocab, data.tgt_vocab)
    exact = exact_match_of(run.model, data.valid[: config.valid_decode], data.src_vocab,
                           data.tgt_vocab, max_len)
    history = run.history
    history.valid_step.append(run.step)
    history.valid_loss.append(vloss)
    history.valid_exact.append(exact)
    history.seconds = time.perf_counter() - t0
    return vloss, exact


def _checkpoint_state(run: _Run, data: TaskData, config: TrainConfig, max_len: int,
                      device: torch.device) -> dict:
    """Everything a resumed run needs to continue exactly (plain values and tensors only)."""
    return {
        "format": CHECKPOINT_FORMAT, "task": data.task,
        "task_settings": dict(data.settings), "train_config": asdict(config),
        "model_config": run.model_config.to_dict(), "src_vocab": data.src_vocab.to_dict(),
        "tgt_vocab": data.tgt_vocab.to_dict(), "max_len": max_len, "assets": data.assets,
        "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(), "scaler": run.scaler.state_dict(),
        "step": run.step, "history": run.history.to_dict(),
        "rng": {"cpu": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None},
    }


def train(task: str | TaskData = "copy", config: TrainConfig | None = None,
          model_config: dict | None = None, out: Path | str | None = None,
          resume: Path | str | None = None,
          callback: Callable[[History], None] | None = None, save_all_ranks: bool = False,
          **task_settings) -> TrainResult:
    """Train a model on `task` and return it with its history.

    `config` and `model_config` (ModelConfig fields) default to the task's recipe
    (`get_task(name).recipe`). With `out`, a checkpoint is written to out/checkpoint.pt at
    every validation. `resume` continues from a checkpoint: the result is the same as a run
    that never stopped. `callback(history)` runs after each validation (draw the loss curve
    there). Under torchrun, `save_all_ranks` makes every process write its final weights to
    out/weights.rank{R}.pt.
    """
    name = task if isinstance(task, str) else task.task
    recipe = get_task(name).recipe  # an unknown name is a ValueError listing the known ones
    state = load_checkpoint(resume, name) if resume is not None else None
    config, task_settings = _resolve_config(name, recipe, config, state, task_settings)
    dist_info, device = init_distributed(config.device)
    precision = precision_for(device, config.mixed)
    arch = (recipe.model | (model_config or {}) | (state["model_config"] if state else {})
            ).get("arch", "encoder-decoder")
    data = _task_data(task, config.seed, state, task_settings, arch)
    run = _build_run(data, recipe, config, model_config, state, device, precision)
    train_model = _training_view(run.model, config, dist_info, device)
    criterion = make_criterion(len(data.tgt_vocab), data.tgt_vocab.pad, config.smoothing,
                               run.model_config.fast)
    stream = BatchStream(data.train, data.src_vocab, data.tgt_vocab, config.batch_size,
                         config.seed, dist_info.rank, dist_info.world)
    ckpt, post = (Path(out) / "checkpoint.pt" if out is not None else None), {}
    bar = tqdm(total=config.steps, initial=run.step, desc=f"train {name}", unit="step",
               disable=not (config.progress and dist_info.main), dynamic_ncols=True)
    t0 = time.perf_counter() - run.history.seconds
    run.model.train()
    while run.step < config.steps:
        micro = [stream.batch(run.step * config.accum + i).to(device) for i in range(config.accum)]
        lr = run.optimizer.param_groups[0]["lr"]  # the rate this step uses
        loss = train_step(train_model, micro, criterion, run.optimizer, run.scheduler,
                          run.scaler, precision, config.clip)
        _record_step(run, loss, lr, config)
        bar.update(1)
        post["loss"] = f"{loss:.3f}"
        bar.set_postfix(post, refresh=False)
        if run.step % config.valid_every and run.step != config.steps:
            continue
        vloss, exact = _validate(run, data, config, recipe.max_len, t0)
        post.update(valid=f"{vloss:.3f}", exact=f"{exact:.3f}")
        bar.set_postfix(post)
        stop = config.stop_at is not None and exact >= config.stop_at
        stop = broadcast_flag(stop, dist_info, device)  # every process stops at one step
        if callback is not None and dist_info.main:
            callback(run.history)
        if ckpt is not None and dist_info.main:
            save_checkpoint(ckpt, _checkpoint_state(run, data, config, recipe.max_len, device))
        if stop:
            break
    bar.close()
    run.history.seconds = time.perf_counter() - t0
    # No save here: the last step (or the one that met stop_at) validated and saved.
    if save_all_ranks and out is not None:
        save_checkpoint(Path(out) / f"weights.rank{dist_info.rank}.pt", run.model.state_dict())
    return TrainResult(run.model.eval(), data, run.history, ckpt, recipe.max_len)

"""Chapter 7: label smoothing, the warm-up schedule, and a training loop that can resume.

`train(task, ...)` generates the task's data, builds the model, and trains it with Adam
(0.9, 0.98, 1e-9), the paper's learning-rate schedule, label smoothing, gradient clipping
and accumulation, mixed precision (through `annotated.precision_for`), periodic validation
and atomic checkpoints. Under `torchrun --nproc_per_node=N` the same function trains with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import Batch, Vocab, bucket_batches, make_batch
from .decoding import translate_tokens
from .device import Precision, default_device, precision_for
from .fast import smoothed_kl, smoothed_kl_from_logits
from .model import EncoderDecoder, ModelConfig, model_from_config
from .tasks import Example, TaskData, get_task, make_data

CHECKPOINT_FORMAT = 1
# log of float32's smallest normal number: a probability of 0 costs this much, not infinity.
LOG_TINY = math.log(torch.finfo(torch.float32).tiny)


class LabelSmoothing(nn.Module):
    """KL divergence to a smoothed target: `1 - smoothing` on the right token, the rest spread.

    The rest is spread evenly over the vocabulary minus the right token and <pad>; rows whose
    target is <pad> count nothing. Returns the summed loss. Log-probabilities are clamped at
    log(float32 tiny), so a predicted probability of exactly 0 gives a large finite loss,
    never inf or NaN.
    """

    def __init__(self, size: int, padding_idx: int, smoothing: float = 0.0):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        if size < 3:
            raise ValueError(f"label smoothing needs a vocabulary of at least 3, got {size}")
        self.size = size
        self.padding_idx = padding_idx
        self.smoothing = smoothing
        self.confidence = 1.0 - smoothing
        self.true_dist: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """x: log-probabilities (N, V); target: ids (N,). Returns the summed KL divergence."""
        if x.dim() != 2 or x.size(1) != self.size:
            raise ValueError(f"expected log-probabilities of shape (N, {self.size}), "
                             f"got {tuple(x.shape)}")
        true_dist = torch.full_like(x, self.smoothing / (self.size - 2), dtype=torch.float32)
        true_dist.scatter_(1, target.unsqueeze(1), self.confidence)  # (N, V)
        true_dist[:, self.padding_idx] = 0
        true_dist[target == self.padding_idx] = 0  # padded positions teach nothing
        self.true_dist = true_dist
        log_p = x.float().clamp(min=LOG_TINY)  # (N, V); -inf (a zero probability) -> finite
        # sum q (log q - log p); xlogy gives 0 * log 0 = 0 for the zero entries of q.
        return (torch.xlogy(true_dist, true_dist) - true_dist * log_p).sum()

    def from_logits(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The same loss from the generator's scores before the softmax (N, V)."""
        return self(F.log_softmax(logits, dim=-1), target)


class FastLabelSmoothing(LabelSmoothing):
    """LabelSmoothing's loss and gradient in closed form (`annotated.fast.smoothed_kl`),
    without building `true_dist`; from logits, fused with the log-softmax. The fast path
    trains with it."""

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.size(1) == self.size:  # else the teaching code names the error
            loss = smoothed_kl(x.float(), target, self.padding_idx, self.smoothing, LOG_TINY)
            if loss is not None:
                return loss
        return super().forward(x, target)

    def from_logits(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.dim() == 2 and logits.size(1) == self.size:
            loss = smoothed_kl_from_logits(logits.float(), target, self.padding_idx,
                                           self.smoothing, LOG_TINY)
            if loss is not None:
                return loss
        return super().from_logits(logits, target)


def make_criterion(size: int, padding_idx: int, smoothing: float, fast: bool = False
                   ) -> LabelSmoothing:
    """The loss `train` uses: LabelSmoothing, or on the fast path FastLabelSmoothing."""
    return (FastLabelSmoothing if fast else LabelSmoothing)(size, padding_idx, smoothing)


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


# Each task's default model and training run; `python -m annotated train TASK` uses them.
DEFAULTS: dict[str, dict] = {
    "copy": {
        "model": {"N": 2, "d_model": 64, "d_ff": 128, "h": 4, "dropout": 0.0},
        "train": {"steps": 1200, "batch_size": 64, "warmup": 200, "factor": 0.5,
                  "valid_every": 100, "valid_decode": 500},
        "max_len": 12,
    },
    "numbers": {
        "model": {"N": 2, "d_model": 128, "d_ff": 512, "h": 4, "dropout": 0.1},
        "train": {"steps": 2500, "batch_size": 128, "warmup": 400, "factor": 1.0,
                  "valid_every": 250},
        "max_len": 20,
    },
    # --- Chapter 9 ---
    # Multi30k German -> English in 8,000 joint BPE pieces: the size of the best published
    # from-scratch notebook (d_model 256, 3 + 3 layers, 8 heads, FFN 512), with one shared
    # embedding matrix. 227 batches of 128 sentence pairs make an epoch; 2,270 steps are
    # 10 epochs (README, Multi30k: the BLEU and time this run measured).
    "multi30k": {
        "model": {"N": 3, "d_model": 256, "d_ff": 512, "h": 8, "dropout": 0.1,
                  "tie_embeddings": True},
        "train": {"steps": 2270, "batch_size": 128, "warmup": 600, "factor": 0.7,
                  "valid_every": 227, "valid_decode": 100},
        "max_len": 80,
    },
}


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
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    criterion = LabelSmoothing(len(tgt_vocab), tgt_vocab.pad, 0.0)
    total, tokens = 0.0, 0
    for i in range(0, len(examples), batch_size):
        pairs = [(e.src, e.tgt) for e in examples[i : i + batch_size]]
        batch = make_batch(pairs, src_vocab, tgt_vocab).to(device)
        total += loss_sum(model, batch, criterion, precision_for("cpu", "fp32")).item()
        tokens += batch.ntokens
    model.train(was)
    return total / max(tokens, 1)


def exact_match_of(model: EncoderDecoder, examples: Sequence[Example], src_vocab: Vocab,
                   tgt_vocab: Vocab, max_len: int) -> float:
    """Share of `examples` whose greedy output equals the target exactly."""
    if not examples:
        return float("nan")
    hyps = translate_tokens(model, [e.src for e in examples], src_vocab, tgt_vocab, max_len)
    return sum(tuple(h) == e.tgt for h, e in zip(hyps, examples, strict=True)) / len(examples)


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path | str, state: dict) -> Path:
    """torch.save to a temporary file, then rename: a crash never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic on POSIX and Windows
    return path


def load_checkpoint(path: Path | str, task: str | None = None) -> dict:
    """Load a checkpoint with weights_only=True (no code runs); check it is for `task`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}; check the path, or train one with `python -m "
            f"annotated train TASK` (it writes runs/TASK/checkpoint.pt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated file or a non-checkpoint pickle
        raise ValueError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an annotated checkpoint (format "
                         f"{CHECKPOINT_FORMAT}); was it written by `python -m annotated train`?")
    if task is not None and state["task"] != task:
        raise ValueError(f"{path} is a checkpoint for task {state['task']!r}, not {task!r}")
    return state


def model_from_checkpoint(state: dict, device: torch.device | str = "cpu"
                          ) -> tuple[EncoderDecoder, Vocab, Vocab]:
    """Rebuild the model and vocabularies a checkpoint holds, in eval mode."""
    model = model_from_config(ModelConfig(**state["model_config"]))
    model.load_state_dict({k: v.float() for k, v in state["model"].items()})
    src_vocab, tgt_vocab = Vocab.from_dict(state["src_vocab"]), Vocab.from_dict(state["tgt_vocab"])
    cfg = model.config
    if (cfg.src_vocab, cfg.tgt_vocab) != (len(src_vocab), len(tgt_vocab)):
        raise ValueError("checkpoint's vocabularies do not match its model's sizes")
    return model.to(device).eval(), src_vocab, tgt_vocab


def check_vocab(state: dict, data: TaskData) -> None:
    """Raise if the checkpoint was trained on other vocabularies than `data` has."""
    for side in ("src_vocab", "tgt_vocab"):
        if Vocab.from_dict(state[side]) != getattr(data, side):
            raise ValueError(
                f"the checkpoint's {side.replace('_', ' ')}ulary differs from the one task "
                f"{data.task!r} generates with seed {data.seed} and settings "
                f"{data.settings}; it was trained on other data")


# ---------------------------------------------------------------- distributed


@dataclass(frozen=True)
class Dist:
    """This process's place among the torchrun workers (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str = "auto") -> tuple[Dist, torch.device]:
    """Join torchrun's process group (NCCL on GPUs, gloo on CPUs) when WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist(), default_device(device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = default_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank, world, local), dev


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


def train(task: str | TaskData = "copy", config: TrainConfig | None = None,
          model_config: dict | None = None, out: Path | str | None = None,
          resume: Path | str | None = None,
          callback: Callable[[History], None] | None = None, save_all_ranks: bool = False,
          **task_settings) -> TrainResult:
    """Train a model on `task` and return it with its history.

    `config` defaults to the task's DEFAULTS["train"], `model_config` (ModelConfig fields)
    to DEFAULTS["model"]. With `out`, a checkpoint is written to out/checkpoint.pt at every
    validation and at the end. `resume` continues from a checkpoint: the result is the same
    as a run that never stopped. `callback(history)` runs after each validation (draw the
    loss curve there). Under torchrun, `save_all_ranks` makes every process write its final
    weights to out/weights.rank{R}.pt (to check that they agree).
    """
    name = task if isinstance(task, str) else task.task
    defaults = DEFAULTS.get(name, DEFAULTS["copy"])
    config = config or TrainConfig(**defaults["train"])
    state = load_checkpoint(resume, name) if resume is not None else None
    if state is not None:
        # The run's settings come from the checkpoint; only the number of steps may grow.
        steps = config.steps
        config = TrainConfig(**(state["train_config"] | {"steps": steps,
                                                         "progress": config.progress}))
        # ...and where the data lives (a folder), which a checkpoint never records.
        local = get_task(name).local_settings
        task_settings = state["task_settings"] | {k: v for k, v in task_settings.items()
                                                  if k in local}
    dist_info, device = init_distributed(config.device)
    precision = precision_for(device, config.mixed)

    if isinstance(task, TaskData):
        data = task
    else:
        data = make_data(name, seed=config.seed, **task_settings)
    if state is not None:
        check_vocab(state, data)
    settings = dict(data.settings)

    torch.manual_seed(config.seed)
    mcfg = ModelConfig(**({"src_vocab": len(data.src_vocab), "tgt_vocab": len(data.tgt_vocab)}
                          | defaults["model"] | (model_config or {})
                          | (state["model_config"] if state else {})))
    model = model_from_config(mcfg).to(device)
    optimizer, scheduler = make_optimizer(model, mcfg.d_model, config.factor, config.warmup,
                                          fused=mcfg.fast)
    scaler = precision.grad_scaler()
    history = History()
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        history = History(**state["history"])
        start = state["step"]
        torch.set_rng_state(state["rng"]["cpu"])
        if device.type == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)
    train_model: nn.Module = model
    if config.compile:
        # A compiled view of the same parameters for the training steps only; validation's
        # step-by-step decoding (changing shapes, a cache) stays eager.
        train_model = torch.compile(model)
    if dist_info.world > 1:
        ids = [device.index] if device.type == "cuda" else None
        train_model = nn.parallel.DistributedDataParallel(train_model, device_ids=ids)

    criterion = make_criterion(len(data.tgt_vocab), data.tgt_vocab.pad, config.smoothing,
                               mcfg.fast)
    stream = BatchStream(data.train, data.src_vocab, data.tgt_vocab, config.batch_size,
                         config.seed, dist_info.rank, dist_info.world)
    max_len = defaults["max_len"]
    ckpt = Path(out) / "checkpoint.pt" if out is not None else None

    def checkpoint_state(step: int) -> dict:
        return {
            "format": CHECKPOINT_FORMAT, "task": name,
            "task_settings": settings, "train_config": asdict(config),
            "model_config": mcfg.to_dict(), "src_vocab": data.src_vocab.to_dict(),
            "tgt_vocab": data.tgt_vocab.to_dict(), "max_len": max_len, "assets": data.assets,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "step": step, "history": history.to_dict(),
            "rng": {"cpu": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None},
        }

    bar = tqdm(total=config.steps, initial=start, desc=f"train {name}", unit="step",
               disable=not (config.progress and dist_info.main), dynamic_ncols=True)
    t0 = time.perf_counter() - history.seconds
    model.train()
    step = start
    post: dict[str, str] = {}
    while step < config.steps:
        micro = [stream.batch(step * config.accum + i).to(device) for i in range(config.accum)]
        lr = optimizer.param_groups[0]["lr"]  # the rate this step uses
        loss = train_step(train_model, micro, criterion, optimizer, scheduler, scaler,
                          precision, config.clip)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss} at step {step + 1}; lower the learning "
                f"rate factor (now {config.factor}) or raise warmup (now {config.warmup})")
        step += 1
        history.step.append(step)
        history.loss.append(loss)
        history.lr.append(lr)
        bar.update(1)
        post["loss"] = f"{loss:.3f}"
        bar.set_postfix(post, refresh=False)
        stop = False
        if step % config.valid_every == 0 or step == config.steps:
            vloss = validation_loss(model, data.valid, data.src_vocab, data.tgt_vocab)
            exact = exact_match_of(model, data.valid[: config.valid_decode], data.src_vocab,
                                   data.tgt_vocab, max_len)
            history.valid_step.append(step)
            history.valid_loss.append(vloss)
            history.valid_exact.append(exact)
            history.seconds = time.perf_counter() - t0
            post.update(valid=f"{vloss:.3f}", exact=f"{exact:.3f}")
            bar.set_postfix(post)
            stop = config.stop_at is not None and exact >= config.stop_at
            if dist_info.world > 1:  # every process must stop at the same step
                flag = torch.tensor([float(stop)], device=device)
                dist.broadcast(flag, 0)
                stop = bool(flag.item())
            if callback is not None and dist_info.main:
                callback(history)
            if ckpt is not None and dist_info.main:
                save_checkpoint(ckpt, checkpoint_state(step))
        if stop:
            break
    bar.close()
    history.seconds = time.perf_counter() - t0
    # No save here: the last step (or the one that met stop_at) validated and saved.
    if save_all_ranks and out is not None:
        save_checkpoint(Path(out) / f"weights.rank{dist_info.rank}.pt", model.state_dict())
    return TrainResult(model.eval(), data, history, ckpt, max_len)


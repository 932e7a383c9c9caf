"""Chapters 7-9: checkpoints, written atomically and read with weights_only=True.

A checkpoint is a plain dict (format `CHECKPOINT_FORMAT`): the task and its settings, the
training and model configs, both vocabularies, the weights, and, when `train` wrote it, the
optimizer, scheduler, scaler, random states and history that let a run resume exactly.
`export` keeps only what a Translator needs, in float16.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .data import Vocab
from .model import EncoderDecoder, ModelConfig, model_from_config
from .tasks import TaskData

CHECKPOINT_FORMAT = 1


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


def validate_vocab(state: dict, data: TaskData) -> None:
    """Raise if the checkpoint was trained on other vocabularies than `data` has."""
    for side in ("src_vocab", "tgt_vocab"):
        if Vocab.from_dict(state[side]) != getattr(data, side):
            raise ValueError(
                f"the checkpoint's {side.replace('_', ' ')}ulary differs from the one task "
                f"{data.task!r} generates with seed {data.seed} and settings "
                f"{data.settings}; it was trained on other data")


def export(state: dict, path: Path | str) -> Path:
    """Write what a Translator needs (no optimizer state), weights in float16: a small file.

    float16 keeps 3 significant digits of each weight, which leaves the translations of the
    numbers model unchanged (benchmarks/targets.py measures the exported file).
    """
    keep = ("format", "task", "task_settings", "train_config", "model_config", "src_vocab",
            "tgt_vocab", "max_len", "step", "history")
    slim = {k: state[k] for k in keep}
    slim["assets"] = state.get("assets", {})  # chapter 9: the subword model
    # Tied embeddings are one tensor under three names (source, target, generator): convert
    # each tensor once, so that the file stores it once.
    converted: dict[int, torch.Tensor] = {}
    slim["model"] = {}
    for k, v in state["model"].items():
        key = v.untyped_storage().data_ptr() + v.storage_offset()
        if key not in converted or converted[key].shape != v.shape:
            converted[key] = (v.half() if v.is_floating_point() else v).detach().cpu().clone()
        slim["model"][k] = converted[key]
    return save_checkpoint(path, slim)

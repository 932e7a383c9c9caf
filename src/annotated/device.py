"""One place that picks the device and the precision: cuda > mps > cpu; bf16 > fp16 > fp32."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

MIXED = ("auto", "bf16", "fp16", "fp32")


def default_device(prefer: str = "auto") -> torch.device:
    """The best available device ('auto'), or the one named ('cpu', 'cuda', 'cuda:1', 'mps')."""
    if prefer != "auto":
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {prefer!r} was asked for but CUDA is not available; "
                               "use device='auto' or 'cpu'")
        if dev.type == "mps" and not _mps_available():
            raise RuntimeError(f"device {prefer!r} was asked for but MPS is not available; "
                               "use device='auto' or 'cpu'")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


@dataclass(frozen=True)
class Precision:
    """The device and the autocast dtype training uses there (float32 means no autocast)."""

    device: torch.device
    dtype: torch.dtype

    @property
    def enabled(self) -> bool:
        """True when autocast runs in a lower precision."""
        return self.dtype != torch.float32

    @property
    def needs_scaler(self) -> bool:
        """float16 gradients underflow without loss scaling; bfloat16 has float32's range."""
        return self.dtype == torch.float16

    def autocast(self) -> contextlib.AbstractContextManager:
        """A context in which forward passes run in `dtype` (a no-op for float32)."""
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler, active only for float16."""
        return torch.amp.GradScaler(self.device.type, enabled=self.needs_scaler)


def precision_for(device: torch.device | str | None = None, mixed: str = "auto") -> Precision:
    """Choose autocast for `device`: on CUDA bf16 where supported, else fp16 (with a scaler).

    'auto' keeps float32 on CPU and MPS: bf16 autocast there is often slower than float32
    and buys nothing for models of this course's size. Ask for 'bf16' to use it anyway.
    """
    if mixed not in MIXED:
        raise ValueError(f"unknown precision {mixed!r}; choose one of {', '.join(MIXED)}")
    dev = default_device() if device is None else torch.device(device)
    if mixed == "auto":
        if dev.type == "cuda":
            bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
            mixed = "bf16" if bf16 else "fp16"
        else:
            mixed = "fp32"
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[mixed]
    return Precision(dev, dtype)


def describe(precision: Precision) -> str:
    """A one-line summary such as 'cuda (NVIDIA H100), bfloat16 autocast'."""
    dev = precision.device
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else dev.type
    dtype = str(precision.dtype).removeprefix("torch.")
    mode = f"{dtype} autocast" if precision.enabled else "float32"
    scaler = " with a GradScaler" if precision.needs_scaler else ""
    return f"{dev} ({name}), {mode}{scaler}"

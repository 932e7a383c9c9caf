"""Chapter 7: training under torchrun, one process per device (DistributedDataParallel)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .device import default_device


@dataclass(frozen=True)
class Dist:
    """This process's place among the torchrun workers (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """True for the process that prints, validates for the record and saves."""
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


def close_distributed(info: Dist) -> None:
    """Leave torchrun's process group (nothing to do in a single process)."""
    if info.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_flag(flag: bool, info: Dist, device: torch.device) -> bool:
    """Rank 0's `flag` on every process, so that all of them stop at the same step."""
    if info.world == 1:
        return flag
    tensor = torch.tensor([float(flag)], device=device)
    dist.broadcast(tensor, 0)
    return bool(tensor.item())

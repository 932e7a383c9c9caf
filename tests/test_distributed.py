"""The training entry point under torchrun: 2 gloo processes on the CPU stay in step."""

import os
import subprocess
import sys

import pytest
import torch

from annotated.distributed import Dist, broadcast_flag, close_distributed, init_distributed

TINY = ["--layers", "1", "--d-model", "16", "--d-ff", "32", "--heads", "2", "--dropout", "0.1",
        "--batch-size", "16", "--steps", "4", "--valid-every", "2", "--device", "cpu"]


def test_two_gloo_processes_end_with_identical_weights(tmp_path):
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "annotated", "train", "copy", *TINY, "--out", str(tmp_path), "--no-progress",
           "--save-all-ranks"]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 processes" in run.stdout and "4 steps" in run.stdout
    w0 = torch.load(tmp_path / "weights.rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "weights.rank1.pt", weights_only=True)
    assert w0.keys() == w1.keys()
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
    # They trained: the saved weights differ from the initial ones of the same seed.
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 4 and torch.equal(ckpt["model"]["generator.proj.weight"],
                                             w0["generator.proj.weight"])
    torch.manual_seed(0)
    from annotated import make_model

    init = make_model(14, 14, N=1, d_model=16, d_ff=32, h=2).state_dict()
    assert not torch.equal(init["generator.proj.weight"], w0["generator.proj.weight"])
    assert len(ckpt["history"]["loss"]) == 4
    assert all(torch.isfinite(torch.tensor(ckpt["history"]["loss"])))


def test_a_single_process_is_rank_0_of_1(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info, device = init_distributed("cpu")
    assert info == Dist() and (info.rank, info.world, info.local_rank) == (0, 1, 0)
    assert info.main and not Dist(rank=1, world=2).main
    assert device == torch.device("cpu")
    assert broadcast_flag(True, info, device) is True  # nothing to agree on alone
    assert broadcast_flag(False, info, device) is False
    close_distributed(info)  # no process group: nothing to leave, no error
    with pytest.raises(AttributeError):
        info.rank = 1  # frozen

"""benchmarks/speed.py runs at a tiny size, counts FLOPs right and refuses what it cannot do.

The benchmark itself (minutes) is never run here; see benchmarks/results/ for its numbers.
"""

import json
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from annotated import ModelConfig, model_from_config

from reference import torch_transformer_like

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import speed  # noqa: E402

TINY = speed.SIZES["tiny"]["small"]


def test_tiny_run_writes_json_markdown_and_plot(tmp_path, capsys):
    assert speed.main(["--tiny", "--out", str(tmp_path), "train", "attention", "decode"]) == 0
    results = json.loads((tmp_path / "cpu.json").read_text())
    sections = results["sections"]
    assert set(sections) == {"train", "attention", "decode"}
    for norm in ("pre", "post"):
        rows = sections["train"]["result"]["norms"][norm]["paths"]
        assert set(rows) == {"teaching", "default", "fast", "nn.Transformer",
                             "nn.Transformer, teaching step"}
        assert all(r["median_s"] > 0 and r["tokens_per_s"] > 0 for r in rows.values())
        assert rows["nn.Transformer"]["vs_torch"] == pytest.approx(1.0)
        assert rows["nn.Transformer, teaching step"]["vs_torch"] == pytest.approx(1.0)
        assert sections["train"]["result"]["norms"][norm]["matmuls_alone_flops"] > 0
    assert [r["tokens"] for r in sections["attention"]["result"]["rows"]] == [16, 32]
    assert sections["decode"]["result"]["identical"] is True
    text = (tmp_path / "cpu.md").read_text()
    assert "| pre | fast |" in text and "python benchmarks/speed.py --tiny" in text
    assert "matrix products, run alone at their shapes" in text
    assert "Targets" not in text  # a tiny run measures nothing worth judging
    assert (tmp_path / "attention_cpu.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "cpu.md").unlink()
    assert speed.main(["--render", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "cpu.md").read_text() == text
    # A second run of one section keeps the others.
    assert speed.main(["--tiny", "--out", str(tmp_path), "decode"]) == 0
    assert set(json.loads((tmp_path / "cpu.json").read_text())["sections"]) == set(sections)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_gpu_run_refuses_clearly_without_cuda(tmp_path, capsys):
    assert speed.main(["--device", "cuda", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and "benchmarks/gpu.sh" in err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cpu_clock_needs_one_thread(tmp_path, capsys):
    threads = torch.get_num_threads()
    try:
        assert speed.main(["--tiny", "--threads", "2", "--clock", "cpu",
                           "--out", str(tmp_path)]) == 2
    finally:
        torch.set_num_threads(threads)
    assert "--threads 1" in capsys.readouterr().err


def test_training_flops_match_pytorchs_flop_counter():
    model = model_from_config(speed.model_config(TINY, "pre", attn_backend="naive"))
    batch = speed.random_batch(TINY, torch.device("cpu"))
    with FlopCounterMode(display=False) as counter:
        logp = model.generator(model(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask))
        logp.sum().backward()
    assert speed.training_flops(TINY) == counter.get_total_flops()


@pytest.mark.parametrize("size", ["small", "base"])
def test_matmuls_alone_do_the_steps_flops(size):
    for preset in ("tiny", "cpu"):
        shapes = speed.matmul_shapes(speed.SIZES[preset][size])
        flops = sum(2 * b * m * k * n for b, m, k, n in shapes)
        assert flops == speed.training_flops(speed.SIZES[preset][size])
    run, flops = speed.step_matmuls(TINY, torch.device("cpu"), torch.float32)
    with FlopCounterMode(display=False) as counter:
        run()
    assert counter.get_total_flops() == flops == speed.training_flops(TINY)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_torch_transformer_wrapper_computes_our_model(norm):
    cfg = ModelConfig(20, 20, N=2, d_model=16, d_ff=32, h=4, dropout=0.0, norm=norm)
    ours = model_from_config(cfg).eval()
    wrapper = speed.TorchTransformer(ours).eval()
    wrapper.transformer = torch_transformer_like(ours).eval()  # our weights in nn.Transformer
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    tgt = torch.tensor([[1, 9, 10, 11], [1, 12, 0, 0]])
    from annotated.data import Batch

    b = Batch(src, torch.cat([tgt, tgt[:, :1]], dim=1))
    real = (b.tgt != 0).unsqueeze(-1)  # padded query rows are never read
    ours_out = ours(b.src, b.tgt, b.src_mask, b.tgt_mask)
    torch.testing.assert_close(wrapper(b.src, b.tgt, b.src_mask, b.tgt_mask) * real,
                               ours_out * real, atol=1e-5, rtol=1e-5)

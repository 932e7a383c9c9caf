import pytest
import torch

from annotated import default_device, describe, precision_for


def test_cpu_machine_picks_cpu_and_float32():
    if torch.cuda.is_available():
        pytest.skip("this test describes a machine without a GPU")
    prec = precision_for()
    assert default_device().type in ("cpu", "mps")
    assert prec.dtype == torch.float32 and not prec.enabled and not prec.needs_scaler
    assert "float32" in describe(prec)


def test_bf16_on_cpu_needs_no_scaler():
    prec = precision_for("cpu", "bf16")
    assert prec.enabled and not prec.needs_scaler
    with prec.autocast():
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16
    assert not prec.grad_scaler().is_enabled()


def test_fp16_asks_for_a_grad_scaler():
    prec = precision_for("cpu", "fp16")
    assert prec.needs_scaler and prec.grad_scaler().is_enabled()


def test_unknown_precision_and_missing_device_are_named():
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        precision_for("cpu", "fp8")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            default_device("cuda")


@pytest.mark.parametrize("bf16, dtype, scaler", [(False, torch.float16, True),
                                                 (True, torch.bfloat16, False)])
def test_a_gpu_without_bf16_gets_fp16_with_a_grad_scaler(monkeypatch, bf16, dtype, scaler):
    # A T4 (Colab's free GPU) has no bf16: 'auto' must fall back to fp16 and loss scaling.
    asked = {}

    def is_bf16_supported(including_emulation=True):
        asked["emulation"] = including_emulation
        return bf16

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    prec = precision_for("cuda", "auto")
    assert prec.dtype == dtype and prec.needs_scaler == scaler
    assert asked == {"emulation": False}  # emulated bf16 on a T4 would be slow, not native

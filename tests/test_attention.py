import math

import pytest
import torch
import torch.nn.functional as F

from annotated import attention, subsequent_mask
from annotated.attention import masked_fill_value


def qkv(B=2, H=3, Tq=5, Tk=5, d=8, dtype=torch.float32):
    return [torch.randn(B, H, t, d, dtype=dtype) for t in (Tq, Tk, Tk)]


def test_matches_sdpa_without_mask():
    q, k, v = qkv()
    out, w = attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=1e-6, rtol=0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))


def test_matches_sdpa_with_padding_mask():
    q, k, v = qkv(Tq=4, Tk=6)
    lengths = torch.tensor([6, 3])
    mask = (torch.arange(6) < lengths[:, None])[:, None, None, :]  # (B, 1, 1, Tk)
    out, w = attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=0)
    assert w[1, :, :, 3:].abs().max() == 0  # padded keys get exactly zero weight


def test_matches_sdpa_with_causal_mask():
    q, k, v = qkv()
    out, w = attention(q, k, v, subsequent_mask(5))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=0)
    assert torch.all(w.triu(diagonal=1) == 0)


def test_worked_example_scores():
    # The article: q1 . k1 / sqrt(d_k) = 3/2 and q1 . k2 / sqrt(d_k) = 1/8, with d_k = 4.
    q = torch.tensor([[[3.0, 0.0, 0.0, 0.0]]])
    k = torch.tensor([[[1.0, 0.0, 0.0, 0.0], [1 / 12, 0.0, 0.0, 0.0]]])
    v = torch.tensor([[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
    out, w = attention(q, k, v)
    e = math.exp(1.5 - 0.125)
    assert w[0, 0].tolist() == pytest.approx([e / (1 + e), 1 / (1 + e)])
    torch.testing.assert_close(out[0, 0, :2], w[0, 0])


def test_gradcheck_float64():
    q, k, v = (t.requires_grad_() for t in qkv(B=1, H=2, Tq=3, Tk=4, d=5, dtype=torch.float64))
    mask = torch.tensor([[[[True, True, True, False]]]])
    assert torch.autograd.gradcheck(lambda q, k, v: attention(q, k, v, mask)[0], (q, k, v))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_low_precision_masks_stay_finite(dtype):
    q, k, v = qkv(dtype=dtype)
    mask = subsequent_mask(5) & torch.tensor([True, True, True, False, False])
    out, w = attention(q, k, v, mask)
    assert torch.isfinite(out).all() and torch.isfinite(w).all()


def test_article_minus_1e9_overflows_float16_but_dtype_minimum_does_not():
    scores = torch.zeros(2, 2, dtype=torch.float16)
    mask = torch.tensor([[True, False], [True, True]])
    with pytest.raises(RuntimeError, match="overflow"):
        scores.masked_fill(~mask, -1e9)
    filled = scores.masked_fill(~mask, masked_fill_value(torch.float16))
    assert torch.isfinite(filled).all() and filled[0, 1] == -65504


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_fully_masked_row_gives_zeros_not_nan(dtype):
    q, k, v = qkv(B=1, H=1, Tq=2, Tk=3, dtype=dtype)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    out, w = attention(q, k, v, mask)
    assert not torch.isnan(out).any() and not torch.isnan(w).any()
    assert w[0, 0, 1].abs().sum() == 0 and out[0, 0, 1].abs().sum() == 0
    ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask)
    torch.testing.assert_close(out.float(), ref, atol=1e-2, rtol=1e-2)


def test_mask_that_cannot_broadcast_is_named():
    q, k, v = qkv(Tq=4, Tk=6)
    with pytest.raises(ValueError, match=r"mask of shape \(1, 5\) cannot broadcast"):
        attention(q, k, v, torch.ones(1, 5, dtype=torch.bool))


def test_float_mask_is_refused():
    q, k, v = qkv()
    with pytest.raises(TypeError, match="bool"):
        attention(q, k, v, torch.zeros(5, 5))

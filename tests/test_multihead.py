import pytest
import torch
from torch import nn

from annotated import MultiHeadedAttention, subsequent_mask


def to_torch_mha(ours: MultiHeadedAttention) -> nn.MultiheadAttention:
    """PyTorch's module with our W_q, W_k, W_v (stacked) and W_o copied in."""
    d_model = ours.h * ours.d_k
    ref = nn.MultiheadAttention(d_model, ours.h, dropout=0.0, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([lin.weight for lin in ours.linears[:3]]))
        ref.in_proj_bias.copy_(torch.cat([lin.bias for lin in ours.linears[:3]]))
        ref.out_proj.weight.copy_(ours.linears[3].weight)
        ref.out_proj.bias.copy_(ours.linears[3].bias)
    return ref


@pytest.mark.parametrize("masked", [False, True])
def test_equals_torch_multihead_attention(masked):
    mha = MultiHeadedAttention(h=4, d_model=32, dropout=0.0, backend="naive").eval()
    ref = to_torch_mha(mha).eval()
    x = torch.randn(2, 6, 32)
    mask = subsequent_mask(6) if masked else None
    out = mha(x, x, x, mask)
    ref_out, ref_w = ref(x, x, x, attn_mask=None if mask is None else ~mask[0],
                         need_weights=True, average_attn_weights=True)
    torch.testing.assert_close(out, ref_out, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(mha.attn.mean(dim=1), ref_w, atol=1e-6, rtol=1e-5)


def test_cross_attention_shapes():
    mha = MultiHeadedAttention(h=2, d_model=8, dropout=0.0, backend="naive")
    q, mem = torch.randn(3, 4, 8), torch.randn(3, 7, 8)  # T=4 queries, S=7 keys
    out = mha(q, mem, mem, torch.ones(3, 1, 7, dtype=torch.bool))
    assert out.shape == (3, 4, 8) and mha.attn.shape == (3, 2, 4, 7)


def test_gradcheck_float64():
    mha = MultiHeadedAttention(h=2, d_model=4, dropout=0.0, backend="naive").double()
    x = torch.randn(1, 3, 4, dtype=torch.float64, requires_grad=True)
    mask = subsequent_mask(3)
    assert torch.autograd.gradcheck(lambda x: mha(x, x, x, mask), (x,))


def test_naive_and_sdpa_give_same_outputs_and_gradients():
    naive = MultiHeadedAttention(h=4, d_model=16, dropout=0.0, backend="naive")
    fast = MultiHeadedAttention(h=4, d_model=16, dropout=0.0, backend="sdpa")
    fast.load_state_dict(naive.state_dict())
    x = torch.randn(2, 5, 16)
    mask = subsequent_mask(5) & torch.tensor([True] * 4 + [False])
    outs, grads = [], []
    for m in (naive, fast):
        xi = x.clone().requires_grad_()
        out = m(xi, xi, xi, mask)
        out.square().sum().backward()
        outs.append(out)
        grads.append([xi.grad] + [p.grad for p in m.parameters()])
    torch.testing.assert_close(outs[0], outs[1], atol=1e-6, rtol=1e-5)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert naive.attn is not None and fast.attn is None


def test_auto_uses_sdpa_unless_weights_are_asked_for():
    mha = MultiHeadedAttention(h=2, d_model=8, backend="auto")
    x = torch.randn(1, 3, 8)
    mha(x, x, x)
    assert mha.attn is None
    mha.keep_attn = True
    mha(x, x, x)
    assert mha.attn.shape == (1, 2, 3, 3)


def test_d_model_not_divisible_by_h():
    with pytest.raises(ValueError, match=r"d_model \(30\) must be divisible .* h \(4\)"):
        MultiHeadedAttention(h=4, d_model=30)


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown attention backend 'flash'"):
        MultiHeadedAttention(h=2, d_model=8, backend="flash")


def test_mask_with_wrong_length_is_named():
    mha = MultiHeadedAttention(h=2, d_model=8)
    x = torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match=r"mask of shape \(2, 1, 4\) cannot broadcast"):
        mha(x, x, x, torch.ones(2, 1, 4, dtype=torch.bool))

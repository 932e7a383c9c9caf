import pytest
import torch

from annotated import (
    ModelConfig,
    count_parameters,
    evaluating,
    make_model,
    make_std_mask,
    padding_mask,
    precision_for,
)

from reference import torch_transformer_like

V = 20


def small(**kw):
    kw = {"N": 2, "d_model": 16, "d_ff": 32, "h": 4, "dropout": 0.0} | kw
    return make_model(V, V, **kw)


def batch():
    src = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    tgt = torch.tensor([[1, 11, 12, 13], [1, 14, 15, 16]])
    return src, tgt, padding_mask(src, 0), make_std_mask(tgt, 0)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_whole_model_equals_torch_transformer(norm):
    model = small(norm=norm, attn_backend="naive").eval()
    ref = torch_transformer_like(model).eval()
    src, tgt, src_mask, tgt_mask = batch()
    ours = model.generator(model(src, tgt, src_mask, tgt_mask))
    causal = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.bool)
    hidden = ref(model.src_embed(src), model.tgt_embed(tgt), tgt_mask=causal,
                 src_key_padding_mask=src == 0, memory_key_padding_mask=src == 0,
                 tgt_is_causal=True)
    torch.testing.assert_close(ours, model.generator(hidden), atol=1e-5, rtol=1e-5)


def test_decoder_is_causal():
    model = small().eval()
    src, tgt, src_mask, tgt_mask = batch()
    out = model(src, tgt, src_mask, tgt_mask)
    changed = tgt.clone()
    changed[:, 2:] = 3  # rewrite the future of position 1
    out2 = model(src, changed, src_mask, tgt_mask)
    torch.testing.assert_close(out[:, :2], out2[:, :2])
    assert not torch.allclose(out[:, 2:], out2[:, 2:])


def test_padding_is_ignored():
    model = small().eval()
    src, tgt, src_mask, tgt_mask = batch()
    other = src.clone()
    other[1, 4] = 17  # what the pad position holds, while the mask still hides it
    m1, m2 = model.encode(src, src_mask), model.encode(other, src_mask)
    torch.testing.assert_close(m1[1, :4], m2[1, :4])
    torch.testing.assert_close(model(src, tgt, src_mask, tgt_mask),
                               model(other, tgt, src_mask, tgt_mask))


def test_naive_and_sdpa_models_agree():
    naive, fast = small(attn_backend="naive"), small(attn_backend="sdpa")
    fast.load_state_dict(naive.state_dict())
    src, tgt, src_mask, tgt_mask = batch()
    a, b = naive(src, tgt, src_mask, tgt_mask), fast(src, tgt, src_mask, tgt_mask)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    a.sum().backward(), b.sum().backward()
    for p, q in zip(naive.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4)


def layer_params(d, d_ff, n_attn, n_norm):
    return n_attn * 4 * (d * d + d) + (d * d_ff + d_ff + d_ff * d + d) + n_norm * 2 * d


def test_parameter_count_of_the_papers_base_model():
    # Shared 37,000-token vocabulary, one tied embedding matrix, the generator's own bias.
    v, d, d_ff, n = 37000, 512, 2048, 6
    expected = (v * d + n * layer_params(d, d_ff, 1, 2) + n * layer_params(d, d_ff, 2, 3)
                + 2 * 2 * d + v)
    assert expected == 63_121_544  # the paper rounds to 65M
    assert count_parameters(make_model(v, v, tie_embeddings=True)) == expected


def test_parameter_count_of_the_papers_big_model():
    v, d, d_ff, n = 37000, 1024, 4096, 6
    expected = (v * d + n * layer_params(d, d_ff, 1, 2) + n * layer_params(d, d_ff, 2, 3)
                + 2 * 2 * d + v)
    assert expected == 214_286_472  # the paper's table says 213M
    model = make_model(v, v, d_model=d, d_ff=d_ff, h=16, tie_embeddings=True)
    assert count_parameters(model) == expected


def test_tied_embeddings_share_one_matrix():
    model = small(tie_embeddings=True)
    w = model.src_embed[0].lut.weight
    assert model.tgt_embed[0].lut.weight is w and model.generator.proj.weight is w
    with pytest.raises(ValueError, match="one shared vocabulary"):
        make_model(10, 12, tie_embeddings=True)


def train_steps(seed, steps=3):
    torch.manual_seed(seed)
    model = small(dropout=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src, tgt, src_mask, tgt_mask = batch()
    for _ in range(steps):
        loss = -model.generator(model(src, tgt, src_mask, tgt_mask)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def test_same_seed_same_loss():
    assert train_steps(1) == train_steps(1)
    assert train_steps(1) != train_steps(2)


def test_bf16_autocast_forward_backward_on_cpu_is_finite():
    model = small()
    prec = precision_for("cpu", "bf16")
    src, tgt, src_mask, tgt_mask = batch()
    with prec.autocast():
        out = model.generator(model(src, tgt, src_mask, tgt_mask))
        loss = -out.mean()
    loss.backward()
    assert out.dtype == torch.float32  # log-softmax runs in float32 under autocast
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"d_model": 30, "h": 4}, r"d_model \(30\) must be divisible by h \(4\)"),
        ({"norm": "sandwich"}, "unknown norm placement 'sandwich'"),
        ({"attn_backend": "flash"}, "unknown attention backend 'flash'"),
        ({"N": 0}, "N must be a positive integer"),
        ({"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_config_gets_clear_error(kw, words):
    with pytest.raises(ValueError, match=words):
        small(**kw)


def test_bad_inputs_at_the_model_boundary():
    model = small(max_len=8)
    src, tgt, src_mask, tgt_mask = batch()
    with pytest.raises(ValueError, match="empty batch"):
        model.encode(src[:0], src_mask[:0])
    with pytest.raises(ValueError, match=f"found {V}"):
        model.encode(torch.full((1, 3), V), None)
    with pytest.raises(ValueError, match="max_len 8"):
        model.encode(torch.ones(1, 9, dtype=torch.long), None)


def test_config_round_trips():
    model = small()
    assert ModelConfig(**model.config.to_dict()) == model.config


# ---------------------------------------------------------------- make_model's options, evaluating


def test_make_model_passes_every_option_on_to_model_config():
    from annotated.fast import FusedMultiHeadedAttention

    model = make_model(V, V, N=1, d_model=16, d_ff=32, h=4, dropout=0.0, norm="post",
                       tie_embeddings=True, attn_backend="naive", max_len=64, fast=True)
    assert model.config == ModelConfig(V, V, 1, 16, 32, 4, 0.0, norm="post",
                                       tie_embeddings=True, attn_backend="naive", max_len=64,
                                       fast=True)
    assert any(isinstance(m, FusedMultiHeadedAttention) for m in model.modules())
    assert model.generator.proj.weight is model.src_embed[0].lut.weight


def test_make_model_names_an_unknown_keyword_and_the_valid_ones():
    with pytest.raises(TypeError, match=r"unknown keyword\(s\) 'heads'.*valid keywords: .*"
                                        r"attn_backend, max_len, fast"):
        make_model(V, V, heads=4)
    with pytest.raises(ValueError, match="unknown norm placement 'middle'"):
        make_model(V, V, norm="middle")  # a known keyword still has its value checked


@pytest.mark.parametrize("start_training", [True, False])
def test_evaluating_restores_the_mode_even_after_an_exception(start_training):
    model = small(dropout=0.1).train(start_training)
    with evaluating(model) as m:
        assert m is model and not model.training
        assert not any(sub.training for sub in model.modules())
    assert model.training is start_training
    assert all(sub.training is start_training for sub in model.modules())
    with pytest.raises(RuntimeError, match="inside"), evaluating(model):
        assert not model.training
        raise RuntimeError("inside")
    assert model.training is start_training
    assert all(sub.training is start_training for sub in model.modules())

"""Chapter 10's switches (issue 20): each equals an independent reference, and every
combination builds, trains a step, and decodes the same with and without the cache."""

import itertools
import json
import math

import pytest
import torch
import torch.nn.functional as F

from annotated import ModelConfig, PositionwiseFeedForward, count_parameters, make_model
from annotated.data import Batch, Vocab
from annotated.decoder_only import DecoderOnly, joint_data, joint_vocab, left_pad
from annotated.decoding import beam_search, cache_bytes_per_token, greedy_decode
from annotated.fast import make_fast
from annotated.masks import padding_mask, subsequent_mask
from annotated.modern import (
    RMSNorm,
    RotaryEmbedding,
    SwiGLU,
    ablation_results,
    cache_bytes_formula,
    rotate_pair,
    steps_to_reach,
    swiglu_hidden,
)
from annotated.multihead import KVCache, MultiHeadedAttention
from annotated.registry import make_data

V = 20

# ---------------------------------------------------------------- RMSNorm


def test_rmsnorm_equals_torchs_with_the_same_weight():
    torch.manual_seed(0)
    ours, ref = RMSNorm(16, eps=1e-6), torch.nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        ours.weight.copy_(torch.randn(16))
        ref.weight.copy_(ours.weight)
    x = torch.randn(3, 5, 16) * 4 + 1
    torch.testing.assert_close(ours(x), ref(x))
    # Not LayerNorm: the mean is not removed.
    assert not torch.allclose(ours(x), F.layer_norm(x, (16,), ours.weight, eps=1e-6), atol=1e-2)


# ---------------------------------------------------------------- SwiGLU


@pytest.mark.parametrize("d_model, d_ff", [(128, 512), (512, 2048), (32, 64), (64, 100)])
def test_swiglu_matches_the_relu_blocks_parameter_count(d_model, d_ff):
    relu = sum(p.numel() for p in PositionwiseFeedForward(d_model, d_ff).parameters())
    swiglu = sum(p.numel() for p in SwiGLU(d_model, d_ff).parameters())
    hidden = swiglu_hidden(d_model, d_ff)
    assert swiglu == 3 * d_model * hidden
    assert abs(swiglu - relu) <= 1.5 * d_model  # the closest a whole width can get
    for other in (hidden - 1, hidden + 1):  # and no other width is closer
        assert abs(3 * d_model * other - relu) >= abs(swiglu - relu)
    assert abs(hidden - 2 * d_ff / 3) <= 2  # the 2/3 d_ff rule (plus the biases' share)
    if (d_model, d_ff) == (128, 512):  # the numbers model: exactly equal
        assert swiglu == relu == 131_712


def test_swiglu_equals_a_reference_and_keeps_shapes():
    torch.manual_seed(0)
    ffn = SwiGLU(16, 48, dropout=0.0)
    x = torch.randn(2, 7, 16)
    out = ffn(x)
    assert out.shape == (2, 7, 16)
    w1, w2, w3 = ffn.w1.weight, ffn.w2.weight, ffn.w3.weight  # (H, D), (D, H), (H, D)
    a = x @ w1.T
    ref = ((a / (1 + torch.exp(-a))) * (x @ w3.T)) @ w2.T  # silu(a) = a * sigmoid(a)
    torch.testing.assert_close(out, ref)


def test_gelu_activation_and_a_bad_name():
    torch.manual_seed(0)
    ffn = PositionwiseFeedForward(8, 16, dropout=0.0, activation="gelu")
    x = torch.randn(2, 3, 8)
    ref = ffn.w_2(0.5 * ffn.w_1(x) * (1 + torch.erf(ffn.w_1(x) / math.sqrt(2))))
    torch.testing.assert_close(ffn(x), ref)
    with pytest.raises(ValueError, match="'tanh'.*relu, gelu"):
        PositionwiseFeedForward(8, 16, activation="tanh")


# ---------------------------------------------------------------- RoPE


def complex_rope(x, offset=0, base=10000.0):
    """The reference: pairs (i, i + d/2) as complex numbers times e^(i * pos * freq)."""
    d = x.size(-1)
    T = x.size(-2)
    freq = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    pos = torch.arange(offset, offset + T, dtype=torch.float64)
    rot = torch.polar(torch.ones(T, d // 2, dtype=torch.float64), torch.outer(pos, freq))
    z = torch.view_as_complex(
        torch.stack([x[..., : d // 2], x[..., d // 2 :]], dim=-1).double().contiguous())
    r = torch.view_as_real(z * rot)  # (..., T, d/2, 2)
    return torch.cat([r[..., 0], r[..., 1]], dim=-1).to(x.dtype)


def test_rope_equals_the_complex_number_reference_and_keeps_norms():
    torch.manual_seed(0)
    rope = RotaryEmbedding(16)
    x = torch.randn(2, 3, 9, 16)
    for offset in (0, 5):
        out = rope(x, offset)
        torch.testing.assert_close(out, complex_rope(x, offset), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(rope(x[..., :1, :], 0), x[..., :1, :])  # position 0: unturned


def test_rope_scores_depend_only_on_the_distance():
    torch.manual_seed(0)
    rope = RotaryEmbedding(8)
    q, k = torch.randn(8), torch.randn(8)

    def score(m, n):
        qm = rope(q.view(1, 1, 1, 8), m)
        kn = rope(k.view(1, 1, 1, 8), n)
        return float((qm * kn).sum())

    for diff in (0, 3, -4):
        scores = [score(m, m - diff) for m in (4, 10, 37, 200)]
        assert max(scores) - min(scores) < 1e-4, (diff, scores)
    assert abs(score(10, 7) - score(10, 2)) > 1e-3  # and the distance matters


def test_rotate_pair_is_a_rotation():
    x1, x2, angle = torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([math.pi / 2])
    r1, r2 = rotate_pair(x1, x2, angle)
    torch.testing.assert_close(torch.stack([r1, r2]), torch.tensor([[0.0], [1.0]]))


def test_rope_refuses_odd_sizes():
    with pytest.raises(ValueError, match="d_k must be even"):
        RotaryEmbedding(7)
    with pytest.raises(ValueError, match="d_k = d_model / h must be even"):
        ModelConfig(V, V, d_model=12, h=4, position="rope")


def test_rope_attention_decodes_step_by_step_like_the_full_pass():
    torch.manual_seed(0)
    mha = MultiHeadedAttention(4, 32, dropout=0.0, kv_heads=2, rope=RotaryEmbedding(8)).eval()
    x = torch.randn(2, 6, 32)
    full = mha(x, x, x, subsequent_mask(6))
    cache = KVCache()
    steps = [mha(x[:, t : t + 1], x[:, t : t + 1], x[:, t : t + 1], None, cache=cache)
             for t in range(6)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- grouped-query attention


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
@pytest.mark.parametrize("backend", ["naive", "sdpa"])
def test_gqa_equals_torchs_enable_gqa(kv_heads, backend):
    torch.manual_seed(0)
    h, d, d_k = 4, 32, 8
    mha = MultiHeadedAttention(h, d, dropout=0.0, backend=backend, kv_heads=kv_heads).eval()
    assert mha.linears[1].out_features == kv_heads * d_k
    q_in, kv_in = torch.randn(2, 5, d), torch.randn(2, 7, d)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3], dtype=torch.bool).unsqueeze(1)  # (B,1,7)
    W_q, W_k, W_v, W_o = mha.linears
    q = W_q(q_in).view(2, 5, h, d_k).transpose(1, 2)
    k = W_k(kv_in).view(2, 7, kv_heads, d_k).transpose(1, 2)
    v = W_v(kv_in).view(2, 7, kv_heads, d_k).transpose(1, 2)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.unsqueeze(1), enable_gqa=True)
    ref = W_o(ref.transpose(1, 2).reshape(2, 5, d))
    torch.testing.assert_close(mha(q_in, kv_in, kv_in, mask), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
def test_gqa_cache_stores_kv_heads_heads(kv_heads):
    mha = MultiHeadedAttention(4, 32, dropout=0.0, kv_heads=kv_heads).eval()
    cache = KVCache()
    x = torch.randn(3, 1, 32)
    for _ in range(5):
        mha(x, x, x, None, cache=cache)
    assert cache.k.shape == cache.v.shape == (3, kv_heads, 5, 8)


def test_kv_heads_must_divide_h():
    for bad in (3, 0, 8):
        with pytest.raises(ValueError, match="kv_heads must"):
            MultiHeadedAttention(4, 32, kv_heads=bad)
        with pytest.raises(ValueError, match="kv_heads must"):
            ModelConfig(V, V, d_model=32, h=4, kv_heads=bad)


@pytest.mark.parametrize("arch", ["encoder-decoder", "decoder"])
def test_cache_bytes_shrink_by_h_over_kv_heads(arch):
    sizes = dict(N=2, d_model=32, d_ff=64, h=4, arch=arch)
    full = cache_bytes_per_token(make_model(V, V, **sizes))
    layers = 2 if arch == "encoder-decoder" else 4
    assert full == cache_bytes_formula(layers, 4, 8) == layers * 2 * 4 * 8 * 4
    for kv in (2, 1):
        assert cache_bytes_per_token(make_model(V, V, kv_heads=kv, **sizes)) == full * kv / 4


# ---------------------------------------------------------------- whole models

COMBOS = list(itertools.product(["layer", "rms"], ["relu", "gelu", "swiglu"],
                                ["sinusoidal", "learned", "rope"], [None, 2, 1],
                                ["encoder-decoder", "decoder"]))


def tiny(norm_type="layer", ffn="relu", position="sinusoidal", kv_heads=None,
         arch="encoder-decoder", **kw):
    torch.manual_seed(0)
    return make_model(V, V, N=1, d_model=16, d_ff=32, h=4, dropout=0.0, max_len=64,
                      norm_type=norm_type, ffn=ffn, position=position, kv_heads=kv_heads,
                      arch=arch, **kw)


def batch():
    src = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 11, 0, 0]])
    tgt = torch.tensor([[1, 12, 13, 14, 2], [1, 15, 2, 0, 0]])
    return Batch(src, tgt, pad=0)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(map(str, c)))
def test_every_switch_combination_trains_and_decodes_the_same_cached(combo):
    from annotated.decoder_only import seq2seq_view

    model = tiny(*combo)
    b = batch()
    out = seq2seq_view(model)(b.src, b.tgt, b.src_mask, b.tgt_mask)
    assert out.shape == (2, 4, 16)
    loss = -model.generator(out).gather(-1, b.tgt_y.unsqueeze(-1)).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    src = torch.tensor([[4, 5, 6, 7], [9, 10, 0, 0]])
    cached = greedy_decode(model, src, padding_mask(src, 0), 9, 1, 2, cache=True)
    again = greedy_decode(model, src, padding_mask(src, 0), 9, 1, 2, cache=False)
    assert torch.equal(cached, again)
    beam_search(model, src, padding_mask(src, 0), 6, 1, 2, beam_size=2)  # runs, with reorder


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(map(str, c)))
def test_fast_path_supports_the_switches(combo):
    from annotated.decoder_only import seq2seq_view

    teach = tiny(*combo).train()  # dropout is 0: training mode takes the fused kernels
    fast = make_fast(tiny(*combo)).train()
    fast.load_state_dict(teach.state_dict())
    b = batch()
    real = (b.tgt_y != 0).unsqueeze(-1)
    outs, grads = [], []
    for model in (teach, fast):
        out = seq2seq_view(model)(b.src, b.tgt, b.src_mask, b.tgt_mask) * real
        out.square().sum().backward()
        outs.append(out)
        grads.append({n: p.grad for n, p in model.named_parameters()})
    torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=1e-5)
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, atol=1e-4, rtol=1e-4, msg=name)
    assert make_model(V, V, N=1, d_model=16, d_ff=32, h=4, fast=True, kv_heads=2,
                      position="rope", norm_type="rms", ffn="swiglu").config.fast


def test_decoder_only_is_causal_and_steps_like_the_full_pass():
    model = tiny(position="rope", kv_heads=2, arch="decoder").eval()
    assert isinstance(model, DecoderOnly) and len(model.layers) == 2  # 2N layers
    torch.manual_seed(1)
    x = torch.randint(3, V, (2, 8))
    out = model(x)  # (B, T, D), causal by default
    assert out.shape == (2, 8, 16)
    torch.testing.assert_close(model(x, subsequent_mask(8)), out)
    for t in range(8):
        y = x.clone()
        y[:, t] = (y[:, t] + 1 - 3) % (V - 3) + 3  # another token at t
        changed = model(y)
        torch.testing.assert_close(changed[:, :t], out[:, :t])  # nothing before t moves
        assert not torch.allclose(changed[:, t], out[:, t])
    cache = model.new_cache()
    steps = [model(x[:, t : t + 1], None, cache) for t in range(8)]
    torch.testing.assert_close(torch.cat(steps, dim=1), out, atol=1e-5, rtol=1e-5)


def test_decoder_only_prompt_is_left_padded_and_pads_are_hidden():
    assert left_pad(torch.tensor([[5, 6, 0, 0], [7, 8, 9, 4]]), 0).tolist() == [
        [0, 0, 5, 6], [7, 8, 9, 4]]
    model = tiny(position="rope", arch="decoder").eval()
    alone = greedy_decode(model, torch.tensor([[4, 5]]), None, 6, 1, 2)
    padded = torch.tensor([[4, 5, 0, 0], [6, 7, 8, 9]])
    together = greedy_decode(model, padded, padding_mask(padded, 0), 6, 1, 2)
    # RoPE sees distances only, and pads are never attended: the same tokens in a batch.
    assert together[0, : alone.size(1)].tolist() == alone[0].tolist()


def test_joint_data_has_one_vocabulary_for_both_sides():
    data = make_data("numbers", 0, n_train=300, n_valid=10, n_test=10)
    joint = joint_data(data)
    assert joint.src_vocab is joint.tgt_vocab
    assert set(joint.src_vocab.itos) == set(data.src_vocab.itos) | set(data.tgt_vocab.itos)
    assert joint.train == data.train and joint.test == data.test
    assert joint_vocab(Vocab.build([["a", "b"]]), Vocab.build([["b", "c"]])).itos[4:] == [
        "a", "b", "c"]
    with pytest.raises(ValueError, match="joint vocabulary"):
        ModelConfig(10, 12, arch="decoder")


def test_switch_values_are_checked_with_the_allowed_ones():
    for field, bad in (("norm_type", "batch"), ("ffn", "tanh"), ("position", "alibi"),
                       ("arch", "encoder")):
        with pytest.raises(ValueError, match=f"{field} must be one of .*got '{bad}'"):
            ModelConfig(V, V, **{field: bad})


def test_defaults_are_the_2017_model_and_old_configs_load():
    old = {k: v for k, v in ModelConfig(V, V).to_dict().items()
           if k not in ("norm_type", "ffn", "position", "kv_heads", "arch")}
    cfg = ModelConfig(**old)  # a checkpoint written before chapter 10
    assert (cfg.norm_type, cfg.ffn, cfg.position, cfg.kv_heads, cfg.arch) == (
        "layer", "relu", "sinusoidal", None, "encoder-decoder")
    torch.manual_seed(0)
    a = make_model(V, V, N=1, d_model=16, d_ff=32, h=4)
    torch.manual_seed(0)
    b = make_model(V, V, N=1, d_model=16, d_ff=32, h=4, norm_type="layer", ffn="relu",
                   position="sinusoidal", kv_heads=4)
    assert a.state_dict().keys() == b.state_dict().keys()
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


def test_parameter_counts_of_the_switches():
    base = count_parameters(tiny())
    assert count_parameters(tiny(ffn="swiglu")) <= base + 2 * 1.5 * 16  # two FFN blocks
    assert count_parameters(tiny(norm_type="rms")) == base - 16 * 7  # 7 LayerNorm biases
    assert count_parameters(tiny(position="learned")) == base + 2 * 64 * 16  # two tables
    assert count_parameters(tiny(position="rope")) == base  # RoPE has no parameters


# ---------------------------------------------------------------- the ablation's results


def test_ablation_results_are_rows_with_every_measurement():
    rows = ablation_results()
    names = [r["name"] for r in rows]
    assert "base" in names
    for r in rows:
        for key in ("config", "params", "step_ms", "steps_to_99", "exact_match",
                    "cache_bytes_per_token", "seeds", "per_seed"):
            assert key in r, (r["name"], key)
        assert r["params"] > 0 and 0.0 <= r["exact_match"] <= 1.0
        assert set(r["per_seed"]) == {str(s) for s in r["seeds"]}


def test_ablation_results_explain_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks/ablation.py"):
        ablation_results(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ValueError, match="list of ablation rows"):
        ablation_results(bad)


def test_steps_to_reach():
    assert steps_to_reach([100, 200, 300], [0.5, 0.991, 1.0]) == 200
    assert steps_to_reach([100, 200], [0.5, 0.98]) is None


# ---------------------------------------------------------------- the command line

CLI_TINY = ["--layers", "1", "--d-model", "16", "--d-ff", "32", "--heads", "2",
            "--batch-size", "16", "--steps", "4", "--valid-every", "2", "--device", "cpu",
            "--no-progress"]


@pytest.mark.parametrize("switches", [
    ["--norm-type", "rms", "--ffn", "swiglu", "--position", "rope", "--kv-heads", "1"],
    ["--arch", "decoder", "--position", "learned", "--ffn", "gelu"],
])
def test_cli_trains_evaluates_translates_and_resumes_with_switches(switches, tmp_path, capsys):
    from annotated.checkpoint import load_checkpoint
    from annotated.cli import main

    out = tmp_path / "run"
    assert main(["train", "copy", *CLI_TINY, *switches, "--out", str(out)]) == 0
    state = load_checkpoint(out / "checkpoint.pt")
    given = dict(zip(switches[::2], switches[1::2], strict=True))
    cfg = state["model_config"]
    assert cfg["norm_type"] == given.get("--norm-type", "layer")
    assert cfg["arch"] == given.get("--arch", "encoder-decoder")
    assert str(cfg["kv_heads"]) == given.get("--kv-heads", "None")
    if cfg["arch"] == "decoder":  # one joint vocabulary on both sides
        assert state["src_vocab"] == state["tgt_vocab"]
    capsys.readouterr()
    assert main(["evaluate", str(out / "checkpoint.pt"), "--limit", "20"]) == 0
    assert "exact match" in capsys.readouterr().out
    assert main(["translate", "--checkpoint", str(out / "checkpoint.pt"), "1 2 3"]) == 0
    assert capsys.readouterr().out.startswith("1 2 3\t")
    assert main(["train", "copy", "--steps", "6", "--no-progress", "--out", str(out),
                 "--resume", str(out / "checkpoint.pt")]) == 0
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 6

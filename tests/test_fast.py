import pytest
import torch

from annotated import ModelConfig, keep_attention, model_from_config, subsequent_mask
from annotated.data import Batch
from annotated.decoding import greedy_decode
from annotated.fast import FastDropout, FusedMultiHeadedAttention, keep_mask, make_fast
from annotated.multihead import MultiHeadedAttention

V = 30


def pair(norm="pre", dropout=0.0, **kw):
    """A teaching-path model (explicit softmax) and a fast-path model with the same weights."""
    cfg = dict(src_vocab=V, tgt_vocab=V, N=2, d_model=32, d_ff=64, h=4, dropout=dropout,
               norm=norm) | kw
    teach = model_from_config(ModelConfig(**cfg, attn_backend="naive"))
    fast = model_from_config(ModelConfig(**cfg, fast=True))
    fast.load_state_dict(teach.state_dict())
    return teach, fast


def padded_batch():
    src = torch.tensor([[3, 4, 5, 6, 7, 8], [9, 10, 11, 0, 0, 0], [5, 5, 0, 0, 0, 0]])
    tgt = torch.tensor([[1, 12, 13, 14, 2], [1, 15, 16, 2, 0], [1, 17, 2, 0, 0]])
    return Batch(src, tgt, pad=0)


def loss_and_grads(model, b):
    logp = model.generator(model(b.src, b.tgt, b.src_mask, b.tgt_mask))  # (B, T, V)
    loss = -logp.gather(-1, b.tgt_y.unsqueeze(-1)).squeeze(-1)[b.tgt_y != 0].sum()
    loss.backward()
    return logp, {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_fast_path_gives_the_teaching_paths_outputs_and_gradients(norm):
    teach, fast = pair(norm)
    b = padded_batch()
    out_t, grads_t = loss_and_grads(teach.train(), b)
    out_f, grads_f = loss_and_grads(fast.train(), b)
    real = (b.tgt_y != 0).unsqueeze(-1)  # padded rows are never read
    torch.testing.assert_close(out_f * real, out_t * real, atol=1e-5, rtol=1e-5)
    assert grads_t.keys() == grads_f.keys()
    for name, g in grads_t.items():
        torch.testing.assert_close(grads_f[name], g, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_the_fast_training_loss_gives_the_teaching_loss_and_gradients(norm):
    # What train() computes on each path: the model, then the generator's scores and
    # label smoothing (the fast path fuses log-softmax and loss), on a padded batch.
    from annotated.device import precision_for
    from annotated.losses import FastLabelSmoothing, make_criterion
    from annotated.training import loss_sum

    teach, fast = pair(norm)
    b = padded_batch()
    results = []
    for model, crit in ((teach, make_criterion(V, 0, 0.1)),
                        (fast, make_criterion(V, 0, 0.1, fast=True))):
        loss = loss_sum(model.train(), b, crit, precision_for("cpu", "fp32"))
        (loss / b.ntokens).backward()
        results.append((loss.detach(), {n: p.grad for n, p in model.named_parameters()}))
    assert isinstance(crit, FastLabelSmoothing)
    (loss_t, grads_t), (loss_f, grads_f) = results
    torch.testing.assert_close(loss_f, loss_t, atol=1e-5, rtol=1e-5)
    for name, g in grads_t.items():
        torch.testing.assert_close(grads_f[name], g, atol=1e-5, rtol=1e-4, msg=name)


def test_fast_path_uses_the_fused_modules_and_keeps_the_state_dict():
    teach, fast = pair()
    assert all(type(m) is FusedMultiHeadedAttention for m in fast.modules()
               if isinstance(m, MultiHeadedAttention))
    assert sum(isinstance(m, FusedMultiHeadedAttention) for m in fast.modules()) == 2 + 2 * 2
    dropouts = [m for m in fast.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(type(m) is FastDropout for m in dropouts)
    assert list(teach.state_dict()) == list(fast.state_dict())
    assert fast.config.fast and ModelConfig(**fast.config.to_dict()) == fast.config


def test_fast_path_with_dropout_equals_the_teaching_math_under_the_same_seed():
    # The fast path's fused projections and sdpa-free CPU attention (used while dropout is on)
    # draw the same masks as explicit attention with FastDropout: equal losses and gradients.
    teach, fast = pair(dropout=0.3)
    make_fast(teach)  # FastDropout everywhere; its attention stays explicit ("naive")
    b = padded_batch()
    torch.manual_seed(7)
    out_t, grads_t = loss_and_grads(teach.train(), b)
    torch.manual_seed(7)
    out_f, grads_f = loss_and_grads(fast.train(), b)
    torch.testing.assert_close(out_f, out_t, atol=1e-5, rtol=1e-5)
    for name, g in grads_t.items():
        torch.testing.assert_close(grads_f[name], g, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("kind", ["self", "cross", "separate"])
def test_fused_projections_equal_separate_ones(kind):
    ref = MultiHeadedAttention(h=4, d_model=16, dropout=0.0, backend="naive")
    fused = make_fast(MultiHeadedAttention(h=4, d_model=16, dropout=0.0))
    fused.load_state_dict(ref.state_dict())
    assert type(fused) is FusedMultiHeadedAttention and type(fused.dropout) is FastDropout
    x = torch.randn(2, 5, 16)
    memory, other = torch.randn(2, 7, 16), torch.randn(2, 7, 16)
    q, k, v = {"self": (x, x, x), "cross": (x, memory, memory),
               "separate": (x, memory, other)}[kind]
    mask = subsequent_mask(5) if kind == "self" else torch.tensor([[[1] * 6 + [0]]] * 2)
    outs, grads = [], []
    for m in (ref, fused):
        m.zero_grad()
        out = m(q, k, v, mask)
        out.square().sum().backward()
        outs.append(out)
        grads.append([p.grad.clone() for p in m.parameters()])
    torch.testing.assert_close(outs[1], outs[0], atol=1e-6, rtol=1e-5)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    assert fused.attn is None


def test_fast_model_still_keeps_attention_weights_for_pictures():
    teach, fast = pair()
    b = padded_batch()
    keep_attention(fast)
    teach.eval()(b.src, b.tgt, b.src_mask, b.tgt_mask)
    fast.eval()(b.src, b.tgt, b.src_mask, b.tgt_mask)
    for m_t, m_f in zip(teach.modules(), fast.modules(), strict=True):
        if isinstance(m_t, MultiHeadedAttention):
            torch.testing.assert_close(m_f.attn, m_t.attn)


def test_fast_model_decodes_the_same_tokens_cached_and_not():
    teach, fast = pair()
    b = padded_batch()
    expected = greedy_decode(teach.eval(), b.src, b.src_mask, 9, 1, cache=False)
    for cache in (True, False):
        assert torch.equal(greedy_decode(fast.eval(), b.src, b.src_mask, 9, 1, cache=cache),
                           expected)


def test_fast_dropout_drops_p_and_keeps_the_mean():
    drop = FastDropout(0.1).train()
    x = torch.ones(1000, 1000, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.1) < 0.002  # 1M draws: std 0.0003
    q = 1 - round(0.1 * 65536) / 65536  # the keep probability it really uses
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / q))
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())  # d(x * mask) / dx = mask
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(FastDropout(0.0).train()(x), x)


def test_keep_mask_bits_are_uniform_and_seeded():
    torch.manual_seed(3)
    a, qa = keep_mask((501, 7), 0.5)
    torch.manual_seed(3)
    b, _ = keep_mask((501, 7), 0.5)
    assert torch.equal(a, b) and a.shape == (501, 7) and qa == 0.5
    big, _ = keep_mask((4096, 256), 0.5)  # all four int16 quarters of each random word
    for quarter in range(4):
        assert abs(big[:, quarter::4].float().mean().item() - 0.5) < 0.01
    none, q = keep_mask((10,), 0.0)
    assert none.all() and q == 1.0
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\)"):
        keep_mask((3,), 1.0)


# ---------------------------------------------------------------- training flags

TRAIN_DATA = {"n_train": 400, "n_valid": 16, "n_test": 16}
TINY_MODEL = {"N": 1, "d_model": 16, "d_ff": 32, "h": 2, "dropout": 0.0}


def tiny_train_config(**kw):
    from annotated.training import TrainConfig

    return TrainConfig(**({"steps": 4, "batch_size": 16, "warmup": 4, "valid_every": 4,
                           "valid_decode": 8, "progress": False} | kw))


def test_training_on_the_fast_path_gives_the_same_losses():
    from annotated.training import train

    runs = [train("copy", tiny_train_config(), TINY_MODEL | {"fast": fast}, **TRAIN_DATA)
            for fast in (False, True)]
    assert runs[1].model.config.fast and not runs[0].model.config.fast
    assert runs[1].history.loss == pytest.approx(runs[0].history.loss, rel=1e-4)


def test_compile_flag_compiles_the_training_model_only(monkeypatch):
    from annotated.training import train

    compiled = []

    def fake_compile(model, **kw):  # real compilation takes minutes; benchmarks/ measures it
        compiled.append(model)
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    result = train("copy", tiny_train_config(compile=True), TINY_MODEL, **TRAIN_DATA)
    assert compiled == [result.model]
    train("copy", tiny_train_config(), TINY_MODEL, **TRAIN_DATA)
    assert len(compiled) == 1  # off by default


def test_cli_fast_and_compile_reach_the_checkpoint(tmp_path, monkeypatch):
    from annotated.cli import main

    monkeypatch.setattr(torch, "compile", lambda model, **kw: model)
    args = ["train", "copy", "--layers", "1", "--d-model", "16", "--d-ff", "32", "--heads", "2",
            "--batch-size", "16", "--steps", "2", "--valid-every", "2", "--device", "cpu",
            "--no-progress", "--fast", "--compile", "--out", str(tmp_path)]
    assert main(args) == 0
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["model_config"]["fast"] is True and state["train_config"]["compile"] is True


# --- fused Adam (the fast path's optimizer) ---


def test_fused_adam_takes_the_same_steps():
    from annotated.training import make_optimizer

    models = [torch.nn.Linear(8, 5) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [make_optimizer(m, 8, 1.0, 4, fused=f)
            for m, f in zip(models, (False, True), strict=True)]
    assert opts[1][0].defaults["fused"] and not opts[0][0].defaults["fused"]
    x = torch.randn(16, 8, generator=torch.Generator().manual_seed(1))
    start = models[0].weight.detach().clone()
    for _ in range(5):
        for m, (opt, sched) in zip(models, opts, strict=True):
            m(x).square().sum().backward()
            opt.step()
            opt.zero_grad()
            sched.step()
    assert not torch.allclose(models[0].weight, start, atol=1e-2)  # the steps moved it
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_training_on_the_fast_path_uses_the_closed_form_loss_and_fused_adam(monkeypatch):
    from annotated import losses, training

    made = []
    real = training.make_optimizer
    monkeypatch.setattr(training, "make_optimizer",
                        lambda *a, **kw: made.append(kw) or real(*a, **kw))
    calls = []
    monkeypatch.setattr(losses.FastLabelSmoothing, "from_logits",
                        lambda self, x, t: calls.append(1)
                        or losses.LabelSmoothing.from_logits(self, x, t))
    training.train("copy", tiny_train_config(), TINY_MODEL | {"fast": True}, **TRAIN_DATA)
    assert made == [{"fused": True}] and len(calls) == 4
    training.train("copy", tiny_train_config(), TINY_MODEL, **TRAIN_DATA)
    assert made[-1] == {"fused": False} and len(calls) == 4

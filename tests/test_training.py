import math

import pytest
import torch

from annotated import make_model, precision_for
from annotated.data import Vocab, make_batch
from annotated.losses import LabelSmoothing
from annotated.registry import TASKS, make_data
from annotated.training import (
    TrainConfig,
    make_optimizer,
    rate,
    train,
    train_step,
)

TINY = {"N": 1, "d_model": 16, "d_ff": 32, "h": 2, "dropout": 0.1}
DATA = {"n_train": 400, "n_valid": 16, "n_test": 16}


def tiny_config(**kw):
    return TrainConfig(**({"steps": 6, "batch_size": 16, "warmup": 4, "valid_every": 3,
                           "valid_decode": 8, "progress": False} | kw))


def test_rate_is_the_papers_schedule():
    d, w = 512, 4000
    assert rate(1, d, 1.0, w) == pytest.approx(d**-0.5 * w**-1.5)
    assert rate(w, d, 1.0, w) == pytest.approx(d**-0.5 * w**-0.5)  # the peak
    assert rate(4 * w, d, 2.0, w) == pytest.approx(2 * d**-0.5 * (4 * w) ** -0.5)
    assert rate(0, d, 1.0, w) == rate(1, d, 1.0, w)
    rates = [rate(s, d, 1.0, w) for s in range(1, 3 * w)]
    assert max(rates) == rates[w - 1]


def test_scheduler_steps_once_per_optimizer_step():
    model = make_model(8, 8, **TINY)
    opt, sched = make_optimizer(model, 16, factor=1.0, warmup=10)
    assert opt.param_groups[0]["lr"] == pytest.approx(rate(1, 16, 1.0, 10))
    assert opt.defaults["betas"] == (0.9, 0.98) and opt.defaults["eps"] == 1e-9
    v = Vocab.build([list("abcd")])
    batches = [make_batch([(list("abc"), list("cab"))], v, v) for _ in range(3)]
    crit = LabelSmoothing(len(v), v.pad, 0.1)
    prec = precision_for("cpu", "fp32")
    for _ in range(2):
        train_step(model, batches, crit, opt, sched, prec.grad_scaler(), prec)
    assert sched.last_epoch == 2  # 2 optimizer steps of 3 micro-batches each
    assert opt.param_groups[0]["lr"] == pytest.approx(rate(3, 16, 1.0, 10))


def test_gradient_accumulation_equals_one_big_batch():
    v = Vocab.build([list("abcdefg")])
    pairs = [(list("abc"), list("gfe")), (list("de"), list("a")), (list("gg"), list("abcd")),
             (list("f"), list("ed"))]
    one, two = (make_model(len(v), len(v), **(TINY | {"dropout": 0.0})) for _ in range(2))
    two.load_state_dict(one.state_dict())
    prec = precision_for("cpu", "fp32")
    crit = LabelSmoothing(len(v), v.pad, 0.1)
    losses = []
    for model, batches in ((one, [make_batch(pairs, v, v)]),
                           (two, [make_batch(pairs[:1], v, v), make_batch(pairs[1:], v, v)])):
        # SGD with lr 1 moves each weight by its gradient (Adam's first step is ~sign(grad)).
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
        losses.append(train_step(model, batches, crit, opt, sched, prec.grad_scaler(), prec,
                                 clip=None))
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for p, q in zip(one.parameters(), two.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("mixed", ["bf16", "fp16"])
def test_mixed_precision_step_is_finite(mixed):
    prec = precision_for("cpu", mixed)
    v = Vocab.build([list("abcd")])
    model = make_model(len(v), len(v), **TINY)
    opt, sched = make_optimizer(model, 16, 1.0, 4)
    scaler = prec.grad_scaler()
    assert scaler.is_enabled() == (mixed == "fp16")
    loss = train_step(model, [make_batch([(list("abc"), list("cba"))], v, v)],
                      LabelSmoothing(len(v), v.pad, 0.1), opt, sched, scaler, prec)
    assert math.isfinite(loss)


def test_train_returns_history_and_calls_back_each_validation(tmp_path):
    seen = []
    result = train("copy", tiny_config(), TINY, out=tmp_path,
                   callback=lambda h: seen.append(len(h.valid_step)), **DATA)
    h = result.history
    assert h.step == [1, 2, 3, 4, 5, 6] and len(h.loss) == len(h.lr) == 6
    assert h.valid_step == [3, 6] and seen == [1, 2]
    assert all(math.isfinite(x) for x in h.loss + h.valid_loss)
    assert h.lr[3] == pytest.approx(rate(4, 16, 1.0, 4))
    assert (tmp_path / "checkpoint.pt").is_file()
    assert not list(tmp_path.glob("*.tmp"))  # written atomically: no leftover temp file


def test_resumed_run_ends_with_the_same_losses(tmp_path):
    full = train("copy", tiny_config(), TINY, **DATA)
    train("copy", tiny_config(steps=3), TINY, out=tmp_path, **DATA)
    resumed = train("copy", tiny_config(), resume=tmp_path / "checkpoint.pt")
    assert resumed.history.loss == full.history.loss  # exactly, dropout included
    assert resumed.history.valid_loss[-1] == full.history.valid_loss[-1]
    for p, q in zip(full.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_stop_at_ends_training_early():
    result = train("copy", tiny_config(steps=50, stop_at=0.0), TINY, **DATA)
    assert result.history.step[-1] == 3  # the first validation already reaches 0.0


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="steps must be positive"):
        TrainConfig(steps=0)


def test_an_unknown_task_is_an_error_that_lists_the_known_ones():
    known = ", ".join(TASKS)
    with pytest.raises(ValueError, match=f"unknown task 'poetry'; choose one of: {known}"):
        train("poetry", tiny_config())
    # Data of a task nobody knows no longer falls back to the copy task's settings.
    data = make_data("copy", n_train=40, n_valid=4, n_test=4)
    data.task = "poetry"
    with pytest.raises(ValueError, match="unknown task 'poetry'"):
        train(data, tiny_config())


def test_train_defaults_come_from_the_tasks_recipe():
    recipe = TASKS["copy"].recipe
    result = train("copy", tiny_config(steps=1, valid_every=1, valid_decode=2), **DATA)
    config = result.model.config.to_dict()
    assert {k: config[k] for k in recipe.model} == recipe.model
    assert result.max_len == recipe.max_len


def test_gradient_clipping_bounds_the_update():
    v = Vocab.build([list("abcd")])
    model = make_model(len(v), len(v), **(TINY | {"dropout": 0.0}))
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)  # the update is the (clipped) gradient
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    prec = precision_for("cpu", "fp32")
    train_step(model, [make_batch([(list("abc"), list("dcba"))], v, v)],
               LabelSmoothing(len(v), v.pad, 0.1), opt, sched, prec.grad_scaler(), prec,
               clip=1e-3)
    step = torch.cat([(p - b).flatten() for p, b in zip(model.parameters(), before,
                                                         strict=True)])
    assert 0 < step.norm() <= 1e-3 * 1.0001

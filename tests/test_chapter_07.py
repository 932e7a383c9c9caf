"""Chapter 7: label smoothing and schedule figures, the schedule explorer, the live loss
curves, and the rate / smoothed-targets graders."""

import io
import math
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from annotated import figures  # noqa: E402
from annotated.exercises import check_rate, check_smoothed_targets  # noqa: E402
from annotated.training import History, LabelSmoothing, rate  # noqa: E402
from annotated.widgets import (  # noqa: E402
    LiveHistory,
    draw_history,
    draw_schedule,
    schedule_explorer,
)


def test_smoothed_targets_is_label_smoothings_distribution():
    q = figures.smoothed_targets([2, 1, 0, 3], 5, 0, 0.4)
    assert q[0].tolist() == pytest.approx([0, 0.4 / 3, 0.6, 0.4 / 3, 0.4 / 3])
    assert q[2].sum() == 0 and q[:, 0].sum() == 0
    torch.testing.assert_close(q[[0, 1, 3]].sum(-1), torch.ones(3))


def test_smoothing_penalty_is_smallest_at_one_minus_epsilon():
    p = np.linspace(0.05, 0.995, 191)  # steps of 0.005
    for eps in (0.1, 0.3):
        losses = figures.smoothing_penalty(p, eps)
        assert p[int(np.argmin(losses))] == pytest.approx(1 - eps, abs=0.003)
        assert min(losses) == pytest.approx(0.0, abs=1e-5)  # KL of q with itself
    plain = figures.smoothing_penalty(p, 0.0)
    assert plain == sorted(plain, reverse=True)  # without smoothing: more certain, lower loss
    # A model that gives exactly the smoothed target pays exactly that KL: compare by hand.
    crit = LabelSmoothing(5, 0, 0.1)
    probs = torch.tensor([[0.0, 0.5, 0.5 / 3, 0.5 / 3, 0.5 / 3]])
    assert figures.smoothing_penalty(0.5, 0.1)[0] == pytest.approx(
        crit(probs.log(), torch.tensor([1])).item())


def test_label_smoothing_figure_shows_the_targets_and_the_minima():
    fig = figures.FIGURES["07_label_smoothing"].make()
    left, right = fig.axes[:2]  # the heatmap and the curves (then the colour bar)
    cells = np.asarray(left.collections[0].get_array()).reshape(5, 5)
    assert cells[0].tolist() == pytest.approx([0, 0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3])
    assert cells[4].sum() == 0 and cells[:, 0].sum() == 0
    dots = [line for line in right.get_lines() if line.get_marker() == "o"]
    assert [d.get_xdata()[0] for d in dots] == pytest.approx([0.999, 0.9, 0.7], abs=0.005)
    plt.close("all")


def test_schedule_figure_peaks_at_each_warmup():
    fig = figures.FIGURES["07_schedule"].make()
    lines = fig.axes[0].get_lines()
    assert len(lines) == len(figures.SCHEDULES)
    for line, (d_model, warmup, factor) in zip(lines, figures.SCHEDULES, strict=True):
        y = line.get_ydata()
        assert int(np.argmax(y)) + 1 == warmup
        assert y.max() == pytest.approx(factor * d_model**-0.5 * warmup**-0.5)
    plt.close("all")


def test_draw_schedule_shows_the_choice_over_the_papers_curve():
    fig = draw_schedule(128, 400, 0.5, steps=2000)
    ax = fig.axes[0]
    reference, chosen = ax.get_lines()[:2]
    assert reference.get_label().startswith("paper base")
    assert int(np.argmax(chosen.get_ydata())) + 1 == 400
    assert chosen.get_ydata()[999] == pytest.approx(rate(1000, 128, 0.5, 400))
    assert ax.get_title() == f"peak {rate(400, 128, 0.5, 400):.2e} at step 400"
    only = draw_schedule(512, 4000, 1.0, steps=1000).axes[0]  # the paper's own: one curve
    assert len([ln for ln in only.get_lines() if len(ln.get_xdata()) > 2]) == 1
    with pytest.raises(ValueError, match="must be positive"):
        draw_schedule(512, 0, 1.0)
    plt.close("all")


def test_schedule_explorer_follows_its_sliders_quickly():
    w = schedule_explorer()
    d_model, warmup, factor = w.children[:3]
    w.update()
    took = []
    for control, value in ((warmup, 8000), (d_model, 128), (factor, 0.5)):
        start = time.perf_counter()
        control.value = value
        w.result.savefig(io.BytesIO(), format="png", dpi=72)  # the browser gets a PNG too
        took.append(time.perf_counter() - start)
    y = w.result.axes[0].get_lines()[1].get_ydata()
    assert int(np.argmax(y)) + 1 == 8000
    assert y.max() == pytest.approx(rate(8000, 128, 0.5, 8000))
    assert max(took) < 0.2, f"updates took {[f'{t:.3f}' for t in took]} s"
    plt.close("all")


def fake_history(steps: int = 100, every: int = 25) -> History:
    h = History()
    for s in range(1, steps + 1):
        h.step.append(s)
        h.loss.append(3.0 / s)
        h.lr.append(0.001)
        if s % every == 0:
            h.valid_step.append(s)
            h.valid_loss.append(2.0 / s)
            h.valid_exact.append(s / steps)
    return h


def test_draw_history_draws_every_loss_and_validation():
    h = fake_history()
    fig = draw_history(h)
    left, right = fig.axes
    train_line, valid_line = left.get_lines()
    assert list(train_line.get_xdata()) == h.step and list(valid_line.get_ydata()) == h.valid_loss
    assert left.get_yscale() == "log"
    assert list(right.get_lines()[0].get_ydata()) == h.valid_exact
    assert right.get_title() == "validation exact match: 1.000"
    assert left.get_title() == "step 100: training loss 0.030"
    plt.close("all")


def test_live_history_redraws_at_each_call(capsys):
    live = LiveHistory()
    h = fake_history(50)
    live(h)
    h.step.append(51)
    h.loss.append(0.01)
    live(h)
    assert live.updates == 2
    assert live.figure.axes[0].get_title() == "step 51: training loss 0.010"
    assert "Figure" in capsys.readouterr().out  # outside a notebook: the text form
    assert plt.get_fignums() == []  # closed: the inline backend will not show it twice


def papers_rate(step, model_size, factor, warmup):
    return factor / math.sqrt(model_size) * min(1 / math.sqrt(step), step / warmup**1.5)


def test_rate_grader():
    assert check_rate(papers_rate).passed
    assert check_rate(rate).passed
    cases = {
        "-1.5": lambda s, d, f, w: f * d**-0.5 * min(s**-0.5, s * w**-0.5),
        "min of the two parts": lambda s, d, f, w: f * d**-0.5 * max(s**-0.5, s * w**-1.5),
        "multiply by model_size ** -0.5": lambda s, d, f, w: f * min(s**-0.5, s * w**-1.5),
        "not 0.5": lambda s, d, f, w: f * d**0.5 * min(s**-0.5, s * w**-1.5),
        "`factor` too": lambda s, d, f, w: d**-0.5 * min(s**-0.5, s * w**-1.5),
    }
    for hint, wrong in cases.items():
        r = check_rate(wrong)
        assert not r.passed and hint in r.message, (hint, r.message)
    r = check_rate(lambda s, d, f, w: 0.001)
    assert not r.passed and "test case 1" in r.message

    def unwritten(step, model_size, factor, warmup):
        ...

    r = check_rate(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")
    r = check_rate(papers_rate(1, 512, 1.0, 4000))  # called, not passed
    assert not r.passed and "no parentheses" in r.message


def smoothed(target, size, padding_idx, smoothing, spread_over=None):
    """The right answer; spread_over=size - 1 gives a common mistake."""
    q = torch.full((len(target), size), smoothing / (spread_over or size - 2))
    q.scatter_(1, target.unsqueeze(1), 1 - smoothing)
    q[:, padding_idx] = 0
    q[target == padding_idx] = 0
    return q


def test_smoothed_targets_grader():
    assert check_smoothed_targets(smoothed).passed

    def keep_pad_column(target, size, padding_idx, smoothing):
        q = torch.full((len(target), size), smoothing / (size - 2))
        q.scatter_(1, target.unsqueeze(1), 1 - smoothing)
        q[target == padding_idx] = 0
        return q

    def torch_convention(target, size, padding_idx, smoothing):
        q = torch.nn.functional.one_hot(target, size) * (1 - smoothing) + smoothing / size
        q[target == padding_idx] = 0
        return q

    def v_minus_1(target, size, padding_idx, smoothing):
        return smoothed(target, size, padding_idx, smoothing, spread_over=size - 1)

    cases = [(keep_pad_column, "<pad> column must be 0"),
             (torch_convention, "CrossEntropyLoss(label_smoothing"),
             (v_minus_1, "V - 2 tokens, not V - 1")]
    for wrong, hint in cases:
        r = check_smoothed_targets(wrong)
        assert not r.passed and hint in r.message, (hint, r.message)

    def unwritten(target, size, padding_idx, smoothing):
        ...

    r = check_smoothed_targets(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")

    def one_column_too_many(target, size, padding_idx, smoothing):
        return torch.zeros(len(target), size + 1)

    r = check_smoothed_targets(one_column_too_many)
    assert not r.passed and "has shape (5, 6), expected (5, 5)" in r.message

"""Chapter 7: teacher forcing, label smoothing and schedule figures, the schedule explorer,
the live loss curves, the break-it runs, and the chapter's graders."""

import io
import math
import statistics
import time

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from annotated.attention_maps import AttentionMaps
from annotated.exercises import (
    check_factor_for_peak,
    check_no_mask_prediction,
    check_no_warmup_prediction,
    check_rate,
    check_smoothed_targets,
)
from annotated.losses import LabelSmoothing
from annotated.training import History, rate
from annotated.viz import draw, figures, measure
from annotated.viz.draw import draw_attention, draw_history, draw_schedule
from annotated.viz.measure import break_it_run, schedule_steps
from annotated.viz.widgets import LiveHistory, schedule_explorer


def test_smoothing_penalty_is_smallest_at_one_minus_epsilon():
    p = np.linspace(0.05, 0.995, 191)  # steps of 0.005
    for eps in (0.1, 0.3):
        losses = measure.smoothing_penalty(p, eps)
        assert p[int(np.argmin(losses))] == pytest.approx(1 - eps, abs=0.003)
        assert min(losses) == pytest.approx(0.0, abs=1e-5)  # KL of q with itself
    plain = measure.smoothing_penalty(p, 0.0)
    assert plain == sorted(plain, reverse=True)  # without smoothing: more certain, lower loss
    # A model that gives exactly the smoothed target pays exactly that KL: compare by hand.
    crit = LabelSmoothing(5, 0, 0.1)
    probs = torch.tensor([[0.0, 0.5, 0.5 / 3, 0.5 / 3, 0.5 / 3]])
    assert measure.smoothing_penalty(0.5, 0.1)[0] == pytest.approx(
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
    assert len(lines) == len(draw.SCHEDULES)
    for line, (d_model, warmup, factor) in zip(lines, draw.SCHEDULES, strict=True):
        y = line.get_ydata()
        assert int(np.argmax(y)) + 1 == warmup
        assert y.max() == pytest.approx(factor * d_model**-0.5 * warmup**-0.5)
    plt.close("all")


def test_schedule_steps_cover_the_range_and_hit_the_peaks():
    x = schedule_steps(100_000, [4000, 333, 200_000])
    assert x[0] == 1 and x[-1] == 100_000 and 4000 in x and 333 in x and 200_000 not in x
    assert len(x) <= 1002 and x == sorted(set(x))
    assert schedule_steps(400, [100]) == list(range(1, 401))  # short runs: every step


def test_draw_schedule_shows_the_choice_over_the_papers_curve():
    fig = draw_schedule(128, 400, 0.5, steps=2000)
    ax = fig.axes[0]
    reference, chosen = ax.get_lines()[:2]
    assert reference.get_label().startswith("paper base")
    x, y = np.asarray(chosen.get_xdata()), np.asarray(chosen.get_ydata())
    assert x[int(np.argmax(y))] == 400
    assert all(v == pytest.approx(rate(int(s), 128, 0.5, 400)) for s, v in zip(x, y, strict=True))
    assert ax.get_title() == f"peak {rate(400, 128, 0.5, 400):.2e} at step 400"
    assert ax.get_xlim() == (0, 2000)
    only = draw_schedule(512, 4000, 1.0, steps=1000).axes[0]  # the paper's own: one curve
    assert len([ln for ln in only.get_lines() if len(ln.get_xdata()) > 2]) == 1
    assert only.get_title() == "still warming up: the peak comes at step 4000"
    with pytest.raises(ValueError, match="must be positive"):
        draw_schedule(512, 0, 1.0)
    plt.close("all")


def test_schedule_explorer_follows_its_sliders_quickly():
    w = schedule_explorer()
    d_model, warmup, factor, steps = w.children[:4]
    w.update()
    took = []
    moves = [(warmup, 8000), (d_model, 128), (factor, 0.5), (steps, 100_000), (steps, 400),
             (warmup, 100), (d_model, 64), (factor, 0.3), (steps, 20_000)]
    for control, value in moves:
        # CPU time of this process: the work of one update, which other jobs on a shared
        # machine do not inflate the way they inflate wall-clock time.
        start = time.process_time()
        control.value = value
        w.result.savefig(io.BytesIO(), format="png", dpi=72)  # the browser gets a PNG too
        took.append(time.process_time() - start)
        if control is steps and value == 400:  # the copy task's run: warm-up 8000 not reached
            assert w.result.axes[0].get_title().startswith("still warming up")
    x, y = (np.asarray(a) for a in w.result.axes[0].get_lines()[1].get_data())
    assert x[int(np.argmax(y))] == 100 and x[-1] == 20_000
    assert y.max() == pytest.approx(rate(100, 64, 0.3, 100))  # the copy task's 0.00375
    assert statistics.median(took) < 0.2, f"updates took {[f'{t:.3f}' for t in took]} s"
    with pytest.raises(ValueError, match="steps must be one of"):
        schedule_explorer(steps=500)
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


def test_rate_grader_accepts_any_real_number_type():
    assert check_rate(papers_rate).passed
    assert check_rate(rate).passed
    as_float32 = lambda *a: torch.tensor(papers_rate(*a), dtype=torch.float32)  # noqa: E731
    assert check_rate(as_float32).passed  # float32 keeps about 7 digits: good enough
    assert check_rate(lambda *a: torch.tensor([papers_rate(*a)])).passed  # shape (1,)
    for kind in (np.float32, np.float64, np.array):
        r = check_rate(lambda *a, kind=kind: kind(papers_rate(*a)))
        assert r.passed, (kind, r.message)
    r = check_rate(lambda *a: papers_rate(*a) * (1 + 1e-4))  # 0.01% off is wrong
    assert not r.passed
    r = check_rate(lambda *a: str(papers_rate(*a)))
    assert not r.passed and "returned a str, expected a number" in r.message


def test_rate_grader_names_each_mistake():
    cases = {
        "-1.5": lambda s, d, f, w: f * d**-0.5 * min(s**-0.5, s * w**-0.5),
        "min of the two parts": lambda s, d, f, w: f * d**-0.5 * max(s**-0.5, s * w**-1.5),
        "lost its minus sign": lambda s, d, f, w: f * d**-0.5 * min(s**-0.5, s * w**1.5),
        "only the falling part": lambda s, d, f, w: f * d**-0.5 * s**-0.5,
        "only the rising part": lambda s, d, f, w: f * d**-0.5 * s * w**-1.5,
        "multiply by model_size ** -0.5": lambda s, d, f, w: f * min(s**-0.5, s * w**-1.5),
        "not 0.5": lambda s, d, f, w: f * d**0.5 * min(s**-0.5, s * w**-1.5),
        "`factor` too": lambda s, d, f, w: d**-0.5 * min(s**-0.5, s * w**-1.5),
    }
    for hint, wrong in cases.items():
        r = check_rate(wrong)
        assert not r.passed and hint in r.message, (hint, r.message)
    r = check_rate(lambda s, d, f, w: 0.001)
    assert not r.passed
    assert "rate(step=1, model_size=512, factor=1.0, warmup=4000) returned 0.001, expected " \
           "1.74693e-07" in r.message
    assert "min(" not in r.message and "** -1.5" not in r.message  # the todo gives no code

    def unwritten(step, model_size, factor, warmup):
        ...

    r = check_rate(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")
    assert "min(" not in r.message
    r = check_rate(papers_rate(1, 512, 1.0, 4000))  # called, not passed
    assert not r.passed and "no parentheses" in r.message


def test_factor_for_peak_grader():
    right = lambda p, d, w: p * math.sqrt(d * w)  # noqa: E731
    assert check_factor_for_peak(right).passed
    # Using the package's rate: the rate is proportional to factor, so this is right too.
    assert check_factor_for_peak(lambda p, d, w: p / rate(w, d, 1.0, w)).passed
    assert check_factor_for_peak(lambda p, d, w: np.float32(right(p, d, w))).passed
    cases = {
        "multiply by sqrt(warmup) too": lambda p, d, w: p * d**0.5,
        "it does not divide": lambda p, d, w: p * d**0.5 / w**0.5,
        "the step counts too": lambda p, d, w: p * d**0.5 * w**1.5,
        "as a multiplier, not a divisor": lambda p, d, w: p * w**0.5 / d**0.5,
        "you need the inverse": lambda p, d, w: rate(w, d, p, w),
        "square roots": lambda p, d, w: p * d * w,
    }
    for hint, wrong in cases.items():
        r = check_factor_for_peak(wrong)
        assert not r.passed and hint in r.message, (hint, r.message)
    r = check_factor_for_peak(lambda p, d, w: 0.5)
    assert not r.passed and "factor_for_peak(peak_lr=0.00375, model_size=64, warmup=100) " \
                           "returned 0.5, expected 0.3" in r.message

    def unwritten(peak_lr, model_size, warmup):
        ...

    assert check_factor_for_peak(unwritten).message.startswith("Not attempted yet")


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

    def pad_is_zero(target, size, padding_idx, smoothing):
        return smoothed(target, size, 0, smoothing)  # right whenever <pad> is 0

    def zero_then_scatter(target, size, padding_idx, smoothing):
        q = torch.full((len(target), size), smoothing / (size - 2))
        q[:, padding_idx] = 0
        q[target == padding_idx] = 0
        q.scatter_(1, target.unsqueeze(1), 1 - smoothing)  # puts 0.9 back on padded rows
        return q

    cases = [(keep_pad_column, "<pad> column must be 0"),
             (torch_convention, "CrossEntropyLoss(label_smoothing"),
             (v_minus_1, "V - 2 tokens, not V - 1"),
             (pad_is_zero, "use padding_idx, not 0"),
             (zero_then_scatter, "AFTER the scatter")]
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
    assert "for target=[2, 1, 0, 3, 3], size=5, padding_idx=0, smoothing=0.4" in r.message

    def forgets_smoothing_on_last_case(target, size, padding_idx, smoothing):
        q = smoothed(target, size, padding_idx, smoothing)
        return q if padding_idx == 0 else smoothed(target, size, padding_idx, 0.0)

    r = check_smoothed_targets(forgets_smoothing_on_last_case)
    assert not r.passed
    assert ("for target=[2, 0, 3, 1, 2], size=5, padding_idx=2, smoothing=0.2, the result has "
            "the right shape but differs by up to 0.2 (row 1, whose target is 0, column 0: "
            "1.0000, expected 0.8000)") in r.message, r.message


def test_draw_attention_shows_every_head_of_the_last_layer_with_a_colour_bar():
    weights = torch.softmax(torch.randn(2, 4, 3, 5), dim=-1)  # (N, H, T, S)
    weights[-1, 2] = torch.eye(3, 5)  # head 2 of the last layer: a diagonal
    maps = AttentionMaps({"cross": weights}, list("abcde"), ["<s>", "a", "b"])
    fig = draw_attention(maps, "cross")
    heads, bar = fig.axes[:4], fig.axes[4]
    assert "cross-attention, layer 1 (last of 2)" in fig.get_suptitle()
    assert heads[0].get_ylabel() == "query" and heads[-1].get_xlabel() == "key"
    assert [t.get_text() for t in heads[0].get_yticklabels()] == ["<s>", "a", "b"]
    assert bar.get_ylabel() == "attention weight"
    cells = np.asarray(heads[2].collections[0].get_array()).reshape(3, 5)
    assert cells.tolist() == torch.eye(3, 5).tolist()  # the last layer, not the first
    plt.close("all")


def test_teacher_forcing_figure_reads_the_shifted_target_once_and_decodes_word_by_word():
    fig = figures.FIGURES["07_teacher_forcing"].make()
    left, right = fig.axes
    words = [t.get_text() for t in left.texts]
    read, write = draw.TEACHER_TARGET[:-1], draw.TEACHER_TARGET[1:]
    # Training: every position read and written once, in one pass.
    assert sorted(w for w in words if w in read or w in write) == sorted(read + write)
    assert "one pass, all 5 positions" in left.get_title()
    # Decoding: pass k reads k words and writes one; 5 passes for 5 words.
    passes = [t.get_text() for t in right.texts if t.get_text().startswith("pass ")]
    assert passes == [f"pass {k}" for k in range(1, 6)]
    rtexts = [t.get_text() for t in right.texts]
    assert rtexts.count("<s>") == 5 and rtexts.count("the") == 1 + 4  # written once, read 4x
    with pytest.raises(ValueError, match="needs <s>, a word and </s>"):
        draw.teacher_forcing_figure(["<s>", "</s>"])
    plt.close("all")


def test_rate_axes_put_the_scale_in_the_label_not_an_offset():
    # The paper's peaks are below 1e-3 (0.000988 at most); the copy run's 0.00375 is above.
    for fig, k, tick in ((figures.FIGURES["07_schedule"].make(), -4, "8"),
                         (draw_schedule(64, 100, 0.3, steps=400), -3, "3.5")):
        ax = fig.axes[0]
        fig.canvas.draw()
        assert ax.get_ylabel() == f"learning rate ($\\times 10^{{{k}}}$)"
        assert ax.yaxis.get_offset_text().get_text() == ""
        assert tick in [t.get_text() for t in ax.get_yticklabels()]  # plain numbers
    plt.close("all")


def test_break_it_runs_show_the_leak_and_validate():
    masked, leaky = break_it_run(steps=80), break_it_run(causal=False, steps=80)
    # Reading the answer one position to the right is easier than copying from the source...
    assert sum(leaky["loss"][-10:]) < sum(masked["loss"][-10:])
    # ...and useless when decoding, where the next word is not there yet.
    assert leaky["exact"] == 0.0
    with pytest.raises(ValueError, match="warmup >= 1"):
        break_it_run(warmup=0)


@pytest.mark.parametrize(("grader", "answer", "wrong_loss", "hint"), [
    (check_no_mask_prediction, {"loss": "lower", "exact match": "lower"}, "higher",
     "shifted by one"),
    (check_no_warmup_prediction, {"loss": "higher", "exact match": "lower"}, "lower",
     "full rate"),
])
def test_break_it_graders(grader, answer, wrong_loss, hint):
    assert grader(answer).passed
    r = grader(answer | {"loss": wrong_loss})
    assert not r.passed and "Not yet (loss)" in r.message and hint in r.message
    r = grader(answer | {"exact match": "same"})
    assert not r.passed and "Not yet (exact match)" in r.message
    r = grader({"loss": ..., "exact match": ...})
    assert not r.passed and r.message.startswith("Not attempted yet") and "Hint 1" in r.message
    r = grader(answer | {"loss": "much lower"})
    assert not r.passed and "'much lower' is not one of lower, same, higher" in r.message
    assert not grader(["lower", "lower"]).passed

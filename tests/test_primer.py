"""The PyTorch primer (notebooks/A1_pytorch_primer): its figures, the descent widget, the line
problem's numbers and the three graders with their named mistakes."""

import matplotlib.pyplot as plt
import pytest
import torch

from annotated.examples import LINE_START, LINE_X, LINE_Y, largest_stable_rate, line_loss
from annotated.exercises import check_broadcast, check_largest_rate, check_linear
from annotated.exercises.a1 import BROADCAST_PAIRS
from annotated.exercises.solutions import solution
from annotated.viz import figures
from annotated.viz.draw import broadcasting_figure, draw_descent, draw_rates
from annotated.viz.measure import best_line, descent_path, loss_surface
from annotated.viz.widgets import descent_explorer


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- the line problem ---

def test_line_loss_is_the_mean_squared_error_and_broadcasts():
    x, y = torch.tensor(LINE_X), torch.tensor(LINE_Y)
    w, b = LINE_START
    assert line_loss(torch.tensor(w), torch.tensor(b)).item() == pytest.approx(
        ((w * x + b - y) ** 2).mean().item())
    W, B, loss = loss_surface((-1.0, 1.0), (0.0, 2.0), n=5)
    assert loss.shape == W.shape == B.shape == (5, 5)
    assert loss[2, 4].item() == pytest.approx(line_loss(W[2, 4], B[2, 4]).item())


def test_first_sgd_step_is_the_update_by_hand():
    lr = 0.1
    w = torch.tensor(LINE_START[0], requires_grad=True)
    b = torch.tensor(LINE_START[1], requires_grad=True)
    line_loss(w, b).backward()
    path = descent_path(lr, 1)
    assert path["w"][1] == pytest.approx(LINE_START[0] - lr * w.grad.item())
    assert path["b"][1] == pytest.approx(LINE_START[1] - lr * b.grad.item())
    assert len(path["loss"]) == 2


def test_the_largest_stable_rate_separates_falling_from_growing_loss():
    limit = largest_stable_rate()
    assert 0.2 < limit < 0.3  # inside the widget's slider, which stops at 0.3
    falling = descent_path(0.97 * limit, 400)["loss"]
    growing = descent_path(1.03 * limit, 400)["loss"]
    assert falling[-1] < 1e-2 * falling[0]
    assert growing[-1] > growing[0]


def test_descent_ends_at_the_least_squares_line_and_stops_when_it_blows_up():
    path = descent_path(0.2, 2000)
    assert (path["w"][-1], path["b"][-1]) == pytest.approx(best_line(), abs=1e-3)
    assert best_line() == pytest.approx((2.02, 0.97), abs=1e-4)  # near y = 2x + 1
    exploding = descent_path(1.0, 1000)
    assert len(exploding["loss"]) < 1001 and exploding["loss"][-1] >= 1e6
    with pytest.raises(ValueError, match="lr must be positive"):
        descent_path(0.0, 5)


# --- figures ---

def test_broadcasting_figure_shows_the_shapes_and_the_sum():
    fig = broadcasting_figure()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "a: shape (3, 1)" in texts and "b: shape (1, 4)" in texts
    assert "a + b: shape (3, 4)" in texts
    numbers = [float(t) for t in texts if t.replace(".", "").isdigit()]
    # 12 cells per panel: a stretched, b stretched, and their sum 0, 1, ..., 23
    assert len(numbers) == 36
    assert sorted(numbers[24:]) == sorted(float(10 * i + j) for i in range(3) for j in range(4))
    faded = [p for p in fig.axes[0].patches if p.get_alpha() is not None and p.get_alpha() < 1]
    assert len(faded) == 8 + 9  # a: 3 real cells of 12, b: 4 real cells of 12
    assert "compared from the right" in fig._suptitle.get_text()


def test_descent_figure_draws_the_path_that_descent_path_computes():
    fig = draw_descent(0.2, 30)
    left, right = fig.axes[:2]
    path = descent_path(0.2, 30)
    line = next(ln for ln in left.get_lines() if ln.get_label() == "descent path")
    assert list(line.get_xdata()) == pytest.approx(path["w"])
    assert list(line.get_ydata()) == pytest.approx(path["b"])
    assert list(right.get_lines()[0].get_ydata()) == pytest.approx(path["loss"])
    assert right.get_yscale() == "log"
    assert right.get_title().startswith("loss 67.7 ->")
    assert "lr = 0.2" in left.get_title()
    assert draw_descent(0.3, 30).axes[1].get_title().startswith("loss grows")


def test_descent_figure_marks_the_lowest_possible_loss():
    right = draw_descent(0.2, 30).axes[1]
    lowest = right.get_lines()[1]
    assert lowest.get_label() == "lowest possible loss"
    # float32 arithmetic in another order: equal to about 6 digits
    assert lowest.get_ydata()[0] == pytest.approx(line_loss(*best_line()).item(), rel=1e-4)
    assert lowest.get_ydata()[0] == pytest.approx(0.0045, abs=1e-4)  # the caption's number


def test_rates_figure_compares_a_falling_and_a_growing_loss():
    fig = draw_rates((0.05, 0.25), steps=30)
    left, right = fig.axes[:2]
    paths = [ln for ln in left.get_lines() if ln.get_label().startswith("lr = ")]
    assert [ln.get_label() for ln in paths] == ["lr = 0.05", "lr = 0.25"]
    slow, fast = (list(ln.get_ydata()) for ln in right.get_lines()[:2])
    assert slow == pytest.approx(descent_path(0.05, 30)["loss"])
    assert slow[-1] < slow[0] < fast[-1]  # 0.05 falls, 0.25 grows
    assert right.get_yscale() == "log"


def test_primer_figures_are_registered_with_captions():
    for name in ("A1_broadcasting", "A1_descent"):
        entry = figures.FIGURES[name]
        assert entry.caption
        assert entry.make().axes


# --- the widget ---

def test_descent_explorer_controls_change_the_picture():
    w = descent_explorer()
    lr, steps = w.children[:2]
    assert (lr.value, steps.value) == (0.1, 30)
    assert lr.max == 0.3 > largest_stable_rate()  # the slider reaches past the limit
    lr.value = 0.25
    assert w.result.axes[1].get_title().startswith("loss grows")
    steps.value = 5
    assert len(w.result.axes[1].get_lines()[0].get_ydata()) == 6
    assert "lr = 0.25" in w.result.axes[0].get_title()


# --- exercise 1: broadcasting predictions ---

RIGHT = [None, (6, 6), (4, 2, 3), (3, 4, 5)]


def test_broadcast_answer_agrees_with_torch():
    for (a, b), shape in zip(BROADCAST_PAIRS, RIGHT, strict=True):
        if shape is None:
            with pytest.raises(RuntimeError):
                torch.zeros(a) + torch.zeros(b)
        else:
            assert (torch.zeros(a) + torch.zeros(b)).shape == shape
    assert solution("check_broadcast") == RIGHT
    assert check_broadcast([None, torch.Size([6, 6]), [4, 2, 3], (3, 4, 5)]).passed


@pytest.mark.parametrize(("answers", "named"), [
    ([(5, 4), (6, 6), (4, 2, 3), (3, 4, 5)], "Lining them up on the left"),
    ([None, None, (4, 2, 3), (3, 4, 5)], "a shape with fewer axes gets 1s added"),
    ([None, (6,), (4, 2, 3), (3, 4, 5)], "as many axes as the longer shape"),
    ([None, (6, 1), (4, 2, 3), (3, 4, 5)], "the number of axes is right, but not every size"),
    ([None, (6, 6), (4, 2, 3), (3, 1, 5)], "a 1 is stretched"),
])
def test_broadcast_names_each_misreading(answers, named):
    result = check_broadcast(answers)
    assert not result.passed
    assert named in result.message


def test_broadcast_unwritten_and_malformed_answers_get_the_rule():
    unwritten = check_broadcast([..., ..., ..., ...])
    assert not unwritten.passed and unwritten.message.startswith("Not attempted yet")
    assert "lined up on the right" in unwritten.message
    assert "(6, 6)" not in unwritten.message  # the hint never gives an answer
    assert "one per pair" in check_broadcast([(6, 6)]).message
    assert "tuple of whole numbers" in check_broadcast(["6x6", None, None, None]).message


# --- exercise 2: the largest stable learning rate ---

def test_largest_rate_passes_just_below_the_limit():
    limit = largest_stable_rate()
    assert check_largest_rate(solution("check_largest_rate")).passed
    assert check_largest_rate(0.95 * limit).passed
    assert check_largest_rate(torch.tensor(limit)).passed


@pytest.mark.parametrize(("factor", "named"), [
    (1.05, "the loss grows"),
    (0.5, "crosses the steep direction"),
    (0.3, "the loss still falls"),
])
def test_largest_rate_names_each_mistake(factor, named):
    result = check_largest_rate(factor * largest_stable_rate())
    assert not result.passed and named in result.message


def test_largest_rate_unwritten_gets_the_concept_not_the_number():
    result = check_largest_rate(...)
    assert result.message.startswith("Not attempted yet") and "valley" in result.message
    assert f"{largest_stable_rate():.2f}" not in result.message
    assert "opposite wall" not in result.message  # the overshoot comes after a wrong answer
    assert "opposite wall" in check_largest_rate(1.05 * largest_stable_rate()).message
    assert "200 steps" in result.message and "10%" in result.message
    assert "one number" in check_largest_rate("0.2").message


# --- exercise 3: nn.Linear by hand ---

def test_linear_solution_matches_nn_linear():
    layer = torch.nn.Linear(5, 2)
    x = torch.randn(3, 4, 5)
    with torch.no_grad():
        assert torch.allclose(solution("check_linear")(x, layer.weight, layer.bias), layer(x))
    assert check_linear(solution("check_linear")).passed


@pytest.mark.parametrize(("attempt", "named"), [
    (lambda x, w, b: x @ w + b, "multiply by its transpose"),
    (lambda x, w, b: x @ w.T, "add the bias"),
    (lambda x, w, b: x @ w, "the bias is missing"),
    (lambda x, w, b: (x + b) @ w.T, "added after the product"),
])
def test_linear_names_each_mistake(attempt, named):
    result = check_linear(attempt)
    assert not result.passed and named in result.message


def test_linear_unwritten_and_square_only_attempts():
    def unwritten(x, weight, bias):
        ...

    assert check_linear(unwritten).message.startswith("Not attempted yet")
    # Right on square weights only: the grader goes on to (out != in) and says what broke.
    square_only = check_linear(lambda x, w, b: x @ w.T + b[: w.shape[1]] if w.shape[0] == w.shape[1]
                               else x @ w + b)
    assert not square_only.passed and "raised RuntimeError" in square_only.message

import torch

from annotated.exercises import Mistake, check_function
from annotated.exercises.grading import grade_choice


def double(x):
    return 2 * x


CASES = [(torch.arange(3.0),), (torch.ones(2, 2),)]
MISTAKES = [Mistake(lambda x: x + 2, "multiply by 2, do not add 2")]


def grade(fn):
    return check_function(fn, double, CASES, todo="Return twice x.", mistakes=MISTAKES)


def test_correct_attempt_passes():
    assert grade(lambda x: x * 2).passed


def test_unwritten_attempt_gets_a_hint_not_an_error():
    def stub(x):
        ...

    def raises(x):
        raise NotImplementedError

    for fn in (stub, raises):
        r = grade(fn)
        assert not r.passed and r.message.startswith("Not attempted yet") and "twice" in repr(r)


def test_known_mistake_gets_its_hint():
    r = grade(lambda x: x + 2)
    assert not r.passed and "do not add 2" in r.message


def test_other_wrong_answers_are_described():
    assert "shape (1,)" in grade(lambda x: x.sum().reshape(1)).message
    assert "differs by up to" in grade(lambda x: 3 * x).message
    broken = grade(lambda x: x.no_such_method())
    assert "raised AttributeError" in broken.message and not broken.passed
    assert "no parentheses" in grade(None).message


def test_rtol_and_describe_are_optional_additions():
    tiny = [(torch.tensor(1e-7),), (torch.tensor(3.0),)]
    close = lambda x: 2 * x * (1 + 1e-7)  # noqa: E731  (a float32-sized relative error)
    off = lambda x: 2 * x + 1e-7  # noqa: E731  (tiny absolutely, 50% relatively at 2e-7)
    loose = check_function(off, double, tiny, todo="Return twice x.")
    assert loose.passed  # the default: rtol = atol = 1e-5, blind to a 1e-7 error
    strict = dict(atol=0.0, rtol=1e-6)
    assert check_function(close, double, tiny, todo="", **strict).passed
    r = check_function(off, double, tiny, todo="Return twice x.", **strict,
                       describe=lambda args, out, want: f"double({args[0].item():g}) gave "
                                                        f"{out.item():.3g}, not {want.item():.3g}")
    assert not r.passed
    assert r.message == "Not yet: double(1e-07) gave 3e-07, not 2e-07. Return twice x."


def test_a_mask_must_be_bool_not_just_the_right_numbers():
    def positive(x):
        return x > 0

    cases = [(torch.tensor([-1.0, 2.0, 0.5]),)]
    assert check_function(lambda x: x > 0, positive, cases, todo="").passed
    r = check_function(lambda x: (x > 0).float(), positive, cases, todo="Return x > 0.")
    assert not r.passed
    assert "the result has dtype torch.float32, expected torch.bool" in r.message


def test_grade_choice_reads_a_letter_and_names_the_mistake():
    def grade(answer):
        return grade_choice(answer, "b", {"a": "too early"}, "Pick a or b.", "Right!")

    assert grade("b").passed and grade(" (B) ").message == "Right!"
    assert grade("a").message == "Not yet: too early" and not grade("a").passed
    assert grade(...).message == "Not attempted yet. Pick a or b."
    assert grade(None).message.startswith("Not attempted yet")
    assert grade("z").message == "Not yet: 'z' is not one of the letters. Pick a or b."

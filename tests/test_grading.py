import torch

from annotated.exercises import Mistake, check_function


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

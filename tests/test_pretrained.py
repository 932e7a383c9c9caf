"""The shipped translators (numbers, Multi30k): they load offline from the package and
translate well."""

import random
import tomllib
from pathlib import Path

import pytest
import torch

from annotated import pretrained
from annotated.tasks import MAX_NUMBER, number_words

ISSUE_EXAMPLES = {
    "einundzwanzig": "twenty-one",
    "三十四万五千六百七十八":
        "three hundred and forty-five thousand, six hundred and seventy-eight",
}


@pytest.fixture(scope="module")
def numbers():
    return pretrained.load("numbers")


def test_the_model_ships_inside_the_package_and_is_small():
    path = pretrained.model_path("numbers")
    assert path.is_file() and path.parent.parent.name == "annotated"
    assert path.stat().st_size < 5_000_000


def test_setuptools_ships_the_model_file():
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "models/*.pt" in meta["tool"]["setuptools"]["package-data"]["annotated"]


def test_issue_examples(numbers):
    assert numbers.translate(list(ISSUE_EXAMPLES)) == list(ISSUE_EXAMPLES.values())


def test_translates_num2words_output_of_random_numbers(numbers):
    rng = random.Random(2024)
    ns = [rng.randrange(MAX_NUMBER + 1) for _ in range(150)] + [0, 7, 11, 100, 1000, 101000]
    for lang in ("de", "ja"):
        outs = numbers.translate([number_words(n, lang) for n in ns])
        right = sum(o == number_words(n, "en") for o, n in zip(outs, ns, strict=True))
        assert right >= len(ns) - 2, (lang, right, len(ns))


def test_beam_search_agrees_on_easy_inputs(numbers):
    texts = ["dreiundsiebzigtausend", "七千七百七十七"]
    assert numbers.translate(texts, beam_size=4) == ["seventy-three thousand",
                                                     "seven thousand, seven hundred and "
                                                     "seventy-seven"]


def test_clear_errors(numbers):
    with pytest.raises(TypeError, match="list of strings"):
        numbers.translate("einundzwanzig")
    with pytest.raises(ValueError, match="not a German number word"):
        numbers.translate(["twenty-one"])
    with pytest.raises(ValueError, match="no pretrained model 'poems'"):
        pretrained.load("poems")


# ---------------------------------------------------------------- chapter 9's Multi30k model

@pytest.fixture(scope="module")
def multi30k_model():
    return pretrained.load("multi30k")


def test_the_multi30k_model_ships_compact_with_its_note():
    path = pretrained.model_path("multi30k")
    assert path.is_file() and path.stat().st_size < 15_000_000  # float16, embedding stored once
    note = (path.parent / "multi30k.md").read_text()
    assert "Elliott et al." in note and "research and teaching" in note
    assert "python -m annotated train multi30k" in note and "export(" in note
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "models/*.md" in meta["tool"]["setuptools"]["package-data"]["annotated"]


def test_the_multi30k_model_is_the_default_run_and_translates(multi30k_model):
    from annotated.registry import get_task

    state = multi30k_model.state
    recipe = get_task("multi30k").recipe
    assert state["step"] == recipe.train["steps"]  # the whole default run, not a short one
    assert {k: state["model_config"][k] for k in recipe.model} == recipe.model
    assert all(v.dtype == torch.float16 for v in state["model"].values()
               if v.is_floating_point())
    assert len(multi30k_model.task.subwords) == 8000  # the subword model travels with it
    out = multi30k_model.translate(["Ein Hund läuft im Schnee.",
                                    "Zwei Männer spielen Fußball auf einem Feld."])
    assert "dog" in out[0] and "snow" in out[0], out
    assert "men" in out[1].lower() and ("soccer" in out[1] or "football" in out[1]), out

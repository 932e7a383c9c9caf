import multiprocessing
import os
import random
from concurrent.futures import ProcessPoolExecutor

import pytest
from num2words import num2words

from annotated.model import ModelConfig
from annotated.multi30k import Multi30kTask
from annotated.registry import TASKS, get_task, make_data
from annotated.tasks import (
    GERMAN_MORPHEMES,
    MAX_NUMBER,
    CopyTask,
    NumbersTask,
    Recipe,
    join_english,
    number_words,
    split_english,
    split_german,
)
from annotated.training import TrainConfig


def test_examples_from_the_issue():
    assert num2words(21, lang="de") == "einundzwanzig"
    assert number_words(21, "en") == "twenty-one"
    assert number_words(345678, "ja") == "三十四万五千六百七十八"
    assert number_words(345678, "en") == (
        "three hundred and forty-five thousand, six hundred and seventy-eight")
    assert split_german(number_words(73000, "de")) == ["drei", "und", "siebzig", "tausend"]
    assert split_german("einhunderteinstausend") == ["ein", "hundert", "eins", "tausend"]


def test_fast_number_words_equal_num2words():
    # Every 97th number plus the edges, in all three languages.
    numbers = [*range(0, MAX_NUMBER + 1, 97), 1, 100, 1000, 10_000, 100_000, MAX_NUMBER]
    for lang in ("de", "ja", "en"):
        for n in numbers:
            assert number_words(n, lang) == num2words(n, lang=lang), (n, lang)


def split_range(start: int, stop: int) -> set[str]:
    """Split the German words of start..stop-1; return the morphemes used."""
    known, seen = set(GERMAN_MORPHEMES), set()
    for n in range(start, stop):
        word = number_words(n, "de")
        pieces = split_german(word)
        if "".join(pieces) != word or not known.issuperset(pieces):
            raise AssertionError(f"{n}: {word} -> {pieces}")
        seen.update(pieces)
    return seen


def test_german_splitter_round_trips_every_number():
    # Exhaustive, 0 .. 999,999: known morphemes that join back exactly. num2words takes most
    # of the time, so the range is shared among the CPU cores.
    chunks = [(i, min(i + 50_000, MAX_NUMBER + 1)) for i in range(0, MAX_NUMBER + 1, 50_000)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1), mp_context=ctx) as pool:
        seen = set().union(*pool.map(split_range, *zip(*chunks, strict=True)))
    assert seen == set(GERMAN_MORPHEMES)  # and every morpheme is used


def test_german_splitter_rejects_other_words():
    with pytest.raises(ValueError, match="not a German number word"):
        split_german("einundzwanzigx")
    with pytest.raises(ValueError, match="not a German number word"):
        split_german("Einundzwanzig")


def test_english_tokens_round_trip():
    for n in random.Random(0).sample(range(MAX_NUMBER + 1), 3000) + [0, 21, 1001, 345678]:
        text = number_words(n, "en")
        assert join_english(split_english(text)) == text
    assert split_english("twenty-one thousand, six") == [
        "twenty", "-", "one", "thousand", ",", "six"]


def test_number_range_is_checked():
    with pytest.raises(ValueError, match="0..999,999"):
        number_words(1_000_000, "de")
    with pytest.raises(ValueError, match="0..999,999"):
        number_words(-1, "ja")


def test_numbers_task_is_deterministic_and_disjoint():
    a = make_data("numbers", seed=1, n_train=3000, n_valid=200, n_test=300)
    b = make_data("numbers", seed=1, n_train=3000, n_valid=200, n_test=300)
    c = make_data("numbers", seed=2, n_train=3000, n_valid=200, n_test=300)
    assert a.train == b.train and a.test == b.test and a.src_vocab == b.src_vocab
    assert a.test != c.test
    assert len(a.train) == 6000 and len(a.valid) == 400 and len(a.test) == 600
    assert {e.group for e in a.test} == {"de", "ja"}
    splits = [{e.tgt for e in s} for s in (a.train, a.valid, a.test)]  # one number, one target
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])
    # Every German morpheme has an id, even one the training numbers never used.
    assert set(GERMAN_MORPHEMES) <= set(a.src_vocab.itos)
    de, ja = a.test[0], a.test[1]  # each held-out number appears in both languages
    assert (de.group, ja.group) == ("de", "ja") and de.tgt == ja.tgt
    assert a.test[2].tgt != de.tgt


def test_numbers_source_tokens_detect_the_language():
    task = get_task("numbers")
    assert task.source_tokens("三十四万") == ["三", "十", "四", "万"]
    assert task.source_tokens("einundzwanzig") == ["ein", "und", "zwanzig"]
    assert task.language("三十") == "ja" and task.language("dreißig") == "de"
    assert task.target_text(["twenty", "-", "one"]) == "twenty-one"


def test_copy_task_is_deterministic_and_disjoint():
    a = make_data("copy", seed=0, n_train=2000, n_valid=100, n_test=100)
    assert a.train == make_data("copy", seed=0, n_train=2000, n_valid=100, n_test=100).train
    assert all(e.src == e.tgt and len(e.src) == 10 for e in a.train)
    srcs = [{e.src for e in s} for s in (a.train, a.valid, a.test)]
    assert not (srcs[0] & srcs[1] or srcs[0] & srcs[2] or srcs[1] & srcs[2])
    assert a.src_vocab.itos[4:] == [str(i) for i in range(1, 11)]
    with pytest.raises(ValueError, match="too few distinct"):
        make_data("copy", symbols=3, length=3, n_train=100)


def test_unknown_task_and_setting_get_clear_errors():
    with pytest.raises(ValueError,
                       match="unknown task 'poetry'; choose one of: copy, numbers, multi30k"):
        get_task("poetry")
    with pytest.raises(ValueError, match="unknown task 'poetry'; choose one of: copy"):
        make_data("poetry")
    with pytest.raises(ValueError, match="has no setting"):
        make_data("copy", colour="red")
    with pytest.raises(ValueError, match="source languages"):
        make_data("numbers", langs=["fr"], n_train=10)


def test_parse_number_words_inverts_num2words():
    from annotated.tasks import parse_number_words

    rng = random.Random(8)
    numbers = [*range(0, 2_000), *rng.sample(range(MAX_NUMBER + 1), 3_000), MAX_NUMBER]
    for n in numbers:
        for lang in ("de", "ja"):
            assert parse_number_words(number_words(n, lang)) == (n, lang), (n, lang)
    assert parse_number_words(" Einundzwanzig ") == (21, "de")  # case and spaces forgiven
    for text, message in (("百万", "1,000,000 is above 999,999"),
                          ("zweizwei", "num2words writes 4 as 'vier'"),
                          ("hundert", "num2words writes 100 as 'einhundert'"),
                          ("一万万", "num2words writes 10000 as '一万'"),
                          ("一億", "'億' is not a Japanese number character"),
                          ("twenty-one", "not a German number word"), ("  ", "no number words")):
        with pytest.raises(ValueError, match=message):
            parse_number_words(text)


# ---------------------------------------------------------------- the registry and recipes


def test_the_registry_knows_every_task_without_import_tricks():
    assert list(TASKS) == ["copy", "numbers", "multi30k"]
    assert [type(t) for t in TASKS.values()] == [CopyTask, NumbersTask, Multi30kTask]
    assert all(get_task(name).name == name for name in TASKS)


def test_no_module_registers_a_task_as_a_side_effect_of_being_imported():
    import annotated.multi30k
    import annotated.tasks

    # The modules that define tasks hold no table for an import to fill in.
    assert not hasattr(annotated.tasks, "TASKS") and not hasattr(annotated.multi30k, "TASKS")
    assert not hasattr(annotated.tasks, "get_task")


@pytest.mark.parametrize("name", ["copy", "numbers", "multi30k"])
def test_each_task_carries_a_recipe_that_builds_its_configs(name):
    recipe = get_task(name).recipe
    assert isinstance(recipe, Recipe) and recipe.max_len > 0
    config = TrainConfig(**recipe.train)  # every key is a TrainConfig field
    assert all(getattr(config, k) == v for k, v in recipe.train.items())
    model = ModelConfig(src_vocab=100, tgt_vocab=100, **recipe.model)
    assert all(getattr(model, k) == v for k, v in recipe.model.items())
    with pytest.raises(AttributeError):
        recipe.max_len = 1  # frozen


def test_the_recipes_differ_by_task_and_the_old_table_is_gone():
    import annotated.training

    recipes = {name: task.recipe for name, task in TASKS.items()}
    assert recipes["copy"].max_len < recipes["numbers"].max_len < recipes["multi30k"].max_len
    assert recipes["multi30k"].model["tie_embeddings"] is True
    assert not hasattr(annotated.training, "DEFAULTS")

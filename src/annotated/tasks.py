"""Chapters 7-8: the two tasks, generated offline and deterministic from a seed.

(`annotated.registry` knows every task by name, chapter 9's multi30k included.)

- `copy`: the Annotated Transformer's toy task, repeat a random sequence of symbols.
- `numbers`: German or Japanese number words -> English number words, all as num2words
  writes them: "einundzwanzig" -> "twenty-one", "三十四万五千六百七十八" -> "three hundred
  and forty-five thousand, six hundred and seventy-eight".

Train, valid and test never share a source sequence (copy) or a number (numbers).
"""

from __future__ import annotations

import copy as _copy
import functools
import random
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .data import SPECIALS, Vocab

MAX_NUMBER = 999_999

# ---------------------------------------------------------------- number words


@functools.cache
def _converter(lang: str):
    """num2words' converter for `lang`, minus the number words above a million.

    num2words' `splitnum` walks its whole table of number words (up to 10^600) for every
    call and skips the ones larger than the value; dropping the ones we can never reach
    makes it ~10x faster with the very same output (tests/test_tasks.py checks it).
    """
    from num2words import CONVERTER_CLASSES

    if lang not in CONVERTER_CLASSES:
        raise ValueError(f"num2words has no language {lang!r}")
    conv = _copy.copy(CONVERTER_CLASSES[lang])
    cards = getattr(conv, "cards", None)
    if isinstance(cards, OrderedDict):
        conv.cards = OrderedDict((k, v) for k, v in cards.items() if k <= MAX_NUMBER)
    return conv


def number_words(n: int, lang: str) -> str:
    """`n` in words exactly as `num2words(n, lang=lang)` writes it, for 0 <= n <= 999,999."""
    if not 0 <= n <= MAX_NUMBER or int(n) != n:
        raise ValueError(f"the numbers task covers whole numbers 0..{MAX_NUMBER:,}, got {n}")
    return _converter(lang).to_cardinal(int(n))


# German writes a number as one long word; its morphemes give attention pieces to align.
GERMAN_MORPHEMES = (
    "null", "ein", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
    "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn",
    "achtzehn", "neunzehn", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig",
    "achtzig", "neunzig", "und", "hundert", "tausend",
)  # fmt: skip
# Longest first, so "siebzehn" wins over "sieben"'s prefix and "eins" over "ein".
GERMAN_RE = re.compile("|".join(sorted(GERMAN_MORPHEMES, key=len, reverse=True)))


def split_german(word: str) -> list[str]:
    """'dreiundsiebzigtausend' -> ['drei', 'und', 'siebzig', 'tausend'] (joins back exactly)."""
    pieces = GERMAN_RE.findall(word)
    if "".join(pieces) != word:
        raise ValueError(
            f"{word!r} is not a German number word as num2words writes it (0 to 999,999, "
            f"lower case, one word, e.g. 'einundzwanzig'); known pieces: "
            f"{', '.join(GERMAN_MORPHEMES)}"
        )
    return pieces


_ENGLISH_RE = re.compile(r"[a-z]+|[-,]")


def split_english(text: str) -> list[str]:
    """'twenty-one thousand, six' -> ['twenty', '-', 'one', 'thousand', ',', 'six']."""
    return _ENGLISH_RE.findall(text)


def join_english(tokens: Sequence[str]) -> str:
    """The inverse of split_english: no spaces around '-', none before ','."""
    return " ".join(tokens).replace(" - ", "-").replace(" ,", ",")


_JAPANESE_RE = re.compile(r"[\u3005\u3007\u4e00-\u9fff]")


def is_japanese(text: str) -> bool:
    """True when `text` contains a kanji (so it is Japanese, not German)."""
    return bool(_JAPANESE_RE.search(text))


# Chapter 8: back from words to the number, to check what a learner types.
_JAPANESE_DIGITS = dict(zip("零一二三四五六七八九", range(10), strict=True))
_JAPANESE_UNITS = {"十": 10, "百": 100, "千": 1000}
_GERMAN_VALUES = (
    {"null": 0, "ein": 1, "eins": 1}
    | {m: v for v, m in enumerate(GERMAN_MORPHEMES[3:21], 2)}  # zwei .. neunzehn
    | {m: 10 * v for v, m in enumerate(GERMAN_MORPHEMES[21:29], 2)}  # zwanzig .. neunzig
)


def _japanese_value(text: str) -> int:
    """'三十四万五千六百七十八' -> 345678: digits multiply 十/百/千, 万 closes a group of 10^4."""
    total = section = digit = 0
    for ch in text:
        if ch in _JAPANESE_DIGITS:
            digit = _JAPANESE_DIGITS[ch]
        elif ch in _JAPANESE_UNITS:
            section += (digit or 1) * _JAPANESE_UNITS[ch]  # a bare 十 means 1 x 10
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        else:
            raise ValueError(f"{ch!r} is not a Japanese number character; use "
                             f"{''.join(_JAPANESE_DIGITS)}{''.join(_JAPANESE_UNITS)}万")
    return total + section + digit


def _german_value(word: str) -> int:
    """'dreiundsiebzigtausend' -> 73000: morphemes add, hundert and tausend multiply."""
    total = current = 0
    for piece in split_german(word):
        if piece == "tausend":
            total, current = (current or 1) * 1000, 0
        elif piece == "hundert":
            current = (current or 1) * 100
        elif piece != "und":
            current += _GERMAN_VALUES[piece]
    return total + current


def parse_number_words(text: str) -> tuple[int, str]:
    """German or Japanese number words, exactly as num2words writes them -> (number, 'de'/'ja').

    Raises a ValueError that says what is wrong for anything else (digits, English, a
    number above 999,999, a word num2words would write differently).
    """
    text = text.strip()
    if not text:
        raise ValueError("no number words given: type e.g. 'einundzwanzig' or '二十一'")
    lang = "ja" if is_japanese(text) else "de"
    if lang == "de":
        text = text.lower()
    value = _japanese_value(text) if lang == "ja" else _german_value(text)
    if value > MAX_NUMBER:
        why = f"{value:,} is above {MAX_NUMBER:,}"
    elif number_words(value, lang) != text:
        why = f"num2words writes {value} as {number_words(value, lang)!r}"
    else:
        return value, lang
    raise ValueError(f"{text!r} is not a number from 0 to {MAX_NUMBER:,} as num2words writes "
                     f"it in {'Japanese' if lang == 'ja' else 'German'} ({why})")


DIGIT_LANGUAGES = {"de": "German", "ja": "Japanese"}


def read_number(text: str, digits: str = "de") -> tuple[str, int, str]:
    """What a learner typed -> (number words as num2words writes them, number, 'de' or 'ja').

    Digits ('21', '345,678') become number words in the language `digits`; German or
    Japanese number words are checked to be exactly what num2words writes.
    """
    plain = re.sub(r"[\s,_.']", "", text)  # 345,678 or 345 678 or 345_678
    if re.fullmatch(r"[0-9]+", plain):
        if digits not in DIGIT_LANGUAGES:
            raise ValueError(f"digits can be read as {' or '.join(DIGIT_LANGUAGES)}, "
                             f"got {digits!r}")
        n = int(plain)
        if n > MAX_NUMBER:
            raise ValueError(f"{n:,} is too large: the model knows the numbers 0 to "
                             f"{MAX_NUMBER:,}")
        return number_words(n, digits), n, digits
    n, lang = parse_number_words(text)
    return number_words(n, lang), n, lang


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Example:
    """One source/target pair of token lists; `group` names its language or kind."""

    src: tuple[str, ...]
    tgt: tuple[str, ...]
    group: str = ""


@dataclass
class TaskData:
    """The three splits of a task, their vocabularies, and the settings that made them."""

    task: str
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    src_vocab: Vocab
    tgt_vocab: Vocab
    settings: dict = field(default_factory=dict)
    seed: int = 0
    # What a checkpoint must carry to turn text into tokens again (chapter 9: the
    # sentencepiece model's bytes); plain values, so weights_only=True loads them.
    assets: dict = field(default_factory=dict)

    def split(self, name: str) -> list[Example]:
        """The split called `name` ('train', 'valid' or 'test')."""
        if name not in ("train", "valid", "test"):
            raise ValueError(f"unknown split {name!r}; use 'train', 'valid' or 'test'")
        return getattr(self, name)


@dataclass(frozen=True)
class Recipe:
    """A task's default run: `model` (ModelConfig fields), `train` (TrainConfig fields), and
    `max_len`, the longest output decoding may write."""

    model: dict[str, Any]
    train: dict[str, Any]
    max_len: int


class Task:
    """A task: how to generate its data and how to turn text into tokens and back."""

    name = ""
    defaults: dict = {}
    # The default model and training run; `python -m annotated train TASK` uses it.
    recipe = Recipe(model={}, train={}, max_len=64)
    # Settings that say where the data is, not what it is: never saved in checkpoints.
    local_settings: tuple[str, ...] = ()

    def generate(self, seed: int, **settings) -> TaskData:  # pragma: no cover - abstract
        raise NotImplementedError

    def make_data(self, seed: int = 0, **settings) -> TaskData:
        """Generate the splits and vocabularies; unknown settings get a clear error."""
        unknown = settings.keys() - self.defaults.keys()
        if unknown:
            raise ValueError(f"task {self.name!r} has no setting(s) {sorted(unknown)}; "
                             f"its settings are {sorted(self.defaults)}")
        data = self.generate(seed, **(self.defaults | settings))
        data.seed = seed
        return data

    def for_checkpoint(self, state: dict) -> Task:
        """The task as a checkpoint's model needs it (chapter 9: with its own tokenizer)."""
        return self

    def source_tokens(self, text: str) -> list[str]:
        """What a user types -> source tokens."""
        return text.split()

    def target_text(self, tokens: Sequence[str]) -> str:
        """Target tokens -> the text a user reads."""
        return " ".join(tokens)

    def source_text(self, tokens: Sequence[str]) -> str:
        """Source tokens -> text, for printing examples."""
        return " ".join(tokens)


class CopyTask(Task):
    """Copy a sequence of `length` symbols drawn from 1..symbols-1 (the Annotated Transformer)."""

    name = "copy"
    defaults = {"symbols": 11, "length": 10, "n_train": 30_000, "n_valid": 500, "n_test": 1000}
    recipe = Recipe(
        model={"N": 2, "d_model": 64, "d_ff": 128, "h": 4, "dropout": 0.0},
        train={"steps": 1200, "batch_size": 64, "warmup": 200, "factor": 0.5,
               "valid_every": 100, "valid_decode": 500},
        max_len=12,
    )

    def generate(self, seed: int, symbols: int, length: int, n_train: int, n_valid: int,
                 n_test: int) -> TaskData:
        if symbols < 3 or length < 1:
            raise ValueError(f"copy needs symbols >= 3 and length >= 1, got {symbols}, {length}")
        total = n_train + n_valid + n_test
        if (symbols - 1) ** length < 2 * total:
            raise ValueError(f"{symbols - 1} symbols of length {length} make too few distinct "
                             f"sequences for {total} examples; raise symbols or length")
        rng = random.Random(seed)
        seen: set[tuple[str, ...]] = set()
        splits = []
        for n in (n_train, n_valid, n_test):
            part = []
            while len(part) < n:
                seq = tuple(str(rng.randrange(1, symbols)) for _ in range(length))
                if seq not in seen:  # disjoint splits: a test sequence is never trained on
                    seen.add(seq)
                    part.append(Example(seq, seq, "copy"))
            splits.append(part)
        vocab = Vocab([*SPECIALS, *(str(i) for i in range(1, symbols))])
        settings = {"symbols": symbols, "length": length, "n_train": n_train,
                    "n_valid": n_valid, "n_test": n_test}
        return TaskData(self.name, *splits, vocab, vocab, settings)


class NumbersTask(Task):
    """German and Japanese number words -> English number words (num2words for all three)."""

    name = "numbers"
    defaults = {"langs": ("de", "ja"), "n_train": 60_000, "n_valid": 500, "n_test": 2000}
    recipe = Recipe(
        model={"N": 2, "d_model": 128, "d_ff": 512, "h": 4, "dropout": 0.1},
        train={"steps": 2500, "batch_size": 128, "warmup": 400, "factor": 1.0,
               "valid_every": 250},
        max_len=20,
    )
    TOKENIZERS = {"de": split_german, "ja": list}

    def generate(self, seed: int, langs: Sequence[str], n_train: int, n_valid: int,
                 n_test: int) -> TaskData:
        langs = tuple(langs)
        bad = [lang for lang in langs if lang not in self.TOKENIZERS]
        if bad or not langs:
            raise ValueError(f"numbers supports source languages {sorted(self.TOKENIZERS)}, "
                             f"got {list(langs)}")
        rng = random.Random(seed)
        # Held-out numbers are uniform over 0..999,999, so most have six digits.
        held = rng.sample(range(MAX_NUMBER + 1), n_valid + n_test)
        valid_numbers, test_numbers = held[:n_valid], held[n_valid:]
        held_set = set(held)
        # Training numbers may repeat: then the few short numbers (there are only ten with
        # one digit) are seen often enough to be learned.
        train_numbers: list[int] = []
        while len(train_numbers) < n_train:
            n = self._draw(rng)
            if n not in held_set:
                train_numbers.append(n)
        splits = [self.examples(ns, langs) for ns in (train_numbers, valid_numbers, test_numbers)]
        train = splits[0]
        src_vocab = Vocab.build(
            [list(GERMAN_MORPHEMES)] * ("de" in langs) + [e.src for e in train])
        tgt_vocab = Vocab.build(e.tgt for e in train)
        settings = {"langs": list(langs), "n_train": n_train, "n_valid": n_valid,
                    "n_test": n_test}
        return TaskData(self.name, *splits, src_vocab, tgt_vocab, settings)

    @staticmethod
    def _draw(rng: random.Random) -> int:
        """Half uniform, half with a uniform number of digits: short numbers get seen too."""
        if rng.random() < 0.5:
            return rng.randrange(MAX_NUMBER + 1)
        digits = rng.randrange(1, 7)
        return rng.randrange(0 if digits == 1 else 10 ** (digits - 1), 10**digits)

    def examples(self, numbers: Sequence[int], langs: Sequence[str]) -> list[Example]:
        """One Example per number and language."""
        out = []
        for n in numbers:
            tgt = tuple(split_english(number_words(n, "en")))
            for lang in langs:
                src = tuple(self.TOKENIZERS[lang](number_words(n, lang)))
                out.append(Example(src, tgt, lang))
        return out

    def source_tokens(self, text: str) -> list[str]:
        """Japanese -> characters, German -> morphemes (text exactly as num2words writes it)."""
        text = text.strip()
        return list(text) if is_japanese(text) else split_german(text)

    def target_text(self, tokens: Sequence[str]) -> str:
        return join_english(tokens)

    def source_text(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)

    @staticmethod
    def language(text: str) -> str:
        """'ja' or 'de', from the script."""
        return "ja" if is_japanese(text) else "de"

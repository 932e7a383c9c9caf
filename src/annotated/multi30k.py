"""Chapter 9: the Multi30k German -> English corpus (task 1, raw text), in subword pieces.

The files are read from a folder given by argument, else from $ANNOTATED_MULTI30K, else from
~/.cache/annotated/multi30k. Where they are absent, `download()` (or `download_missing=True`)
fetches them from the public multi30k/dataset repository at a fixed commit, or from the URL
template in $ANNOTATED_MULTI30K_URL (a mirror; the tests serve a local copy); every .gz file is
checked against its SHA-256 sum, so a corrupt or truncated file is refused. `corpus()` is
chapter 9's first step: the real corpus, found or downloaded, else a generated sample and a
notice that says so.

`Multi30kTask` (the task "multi30k" in `annotated.registry`) trains one joint
sentencepiece BPE model on the training split and cuts every sentence into its pieces;
checkpoints carry the model's bytes. `bleu_scores` gives sacreBLEU's default score and a
lower-cased one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tempfile
import textwrap
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .data import Vocab
from .metrics import Bleu, corpus_bleu
from .tasks import Example, Recipe, Task, TaskData

COMMIT = "a3d2e0d"
URL = f"https://github.com/multi30k/dataset/raw/{COMMIT}/data/task1/raw/{{name}}"
ENV = "ANNOTATED_MULTI30K"
SPACE = "\u2581"  # sentencepiece's mark for "a word starts here"
URL_ENV = "ANNOTATED_MULTI30K_URL"  # another source of the same files, e.g. http://host/{name}
SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}
SIZES = {"train": 29_000, "val": 1_014, "test": 1_000}
SHA256 = {
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
}


def default_folder(folder: str | Path | None = None) -> Path:
    """The folder Multi30k is read from: the argument, else $ANNOTATED_MULTI30K, else a cache."""
    if folder is not None:
        return Path(folder).expanduser()
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    return Path.home() / ".cache" / "annotated" / "multi30k"


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path) -> None:
    """Refuse a .gz file whose SHA-256 is not the published one."""
    expected = SHA256[path.name]
    actual = sha256(path)
    if actual != expected:
        raise ValueError(
            f"{path} is corrupt or truncated: its SHA-256 is {actual}, expected {expected}. "
            f"Delete it and download it again (annotated.multi30k.download(folder))"
        )


def source_url(url: str | None = None) -> str:
    """The download URL template: the argument, else $ANNOTATED_MULTI30K_URL, else GitHub."""
    url = url or os.environ.get(URL_ENV) or URL
    if "{name}" not in url:
        raise ValueError(f"the Multi30k URL {url!r} has no {{name}} for the file name; "
                         "write it like https://host/path/{name}")
    return url


def download(folder: str | Path | None = None, timeout: float = 30.0,
             url: str | None = None) -> Path:
    """Fetch the six .gz files into `folder`, checking each one's SHA-256; returns the folder.

    `url` is a template with {name} for the file name (default: `source_url()`).
    """
    folder = default_folder(folder)
    template = source_url(url)
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHA256:
        target = folder / name
        if target.exists():
            verify(target)
            continue
        url = template.format(name=name)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, \
                    tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
                shutil.copyfileobj(response, tmp)
        except (urllib.error.URLError, OSError) as e:
            raise FileNotFoundError(
                f"could not download {url} ({e}). Put the Multi30k task 1 raw files "
                f"({', '.join(sorted(SHA256))}) into {folder}, or point ${ENV} at a folder "
                "holding them"
            ) from None
        tmp_path = Path(tmp.name)  # checked before it takes the real name
        actual = sha256(tmp_path)
        if actual != SHA256[name]:
            tmp_path.unlink()
            raise ValueError(f"downloaded {url} but its SHA-256 is {actual}, "
                             f"expected {SHA256[name]}: refusing it")
        tmp_path.replace(target)
    return folder


def _read_lines(folder: Path, stem: str, lang: str) -> list[str] | None:
    gz, plain = folder / f"{stem}.{lang}.gz", folder / f"{stem}.{lang}"
    if gz.exists():
        verify(gz)
        with gzip.open(gz, "rt", encoding="utf-8") as f:
            return f.read().splitlines()
    if plain.exists():
        return plain.read_text(encoding="utf-8").splitlines()
    return None


def load_split(split: str, folder: str | Path | None = None,
               download_missing: bool = False) -> list[tuple[str, str]]:
    """The (German, English) sentence pairs of 'train', 'val' or 'test' (test_2016_flickr)."""
    if split not in SPLITS:
        raise ValueError(f"unknown Multi30k split {split!r}; choose one of {', '.join(SPLITS)}")
    folder = default_folder(folder)
    stem = SPLITS[split]
    de, en = _read_lines(folder, stem, "de"), _read_lines(folder, stem, "en")
    if (de is None or en is None) and download_missing:
        download(folder)
        de, en = _read_lines(folder, stem, "de"), _read_lines(folder, stem, "en")
    if de is None or en is None:
        raise FileNotFoundError(
            f"Multi30k {split} files are missing from {folder}: expected {stem}.de(.gz) and "
            f"{stem}.en(.gz). Put them there, point ${ENV} at the folder holding them, or call "
            "load_split(..., download_missing=True) on a machine with internet (Colab)"
        )
    if len(de) != len(en):
        raise ValueError(f"{folder}/{stem}: {len(de)} German lines but {len(en)} English lines; "
                         "the files are truncated or mismatched")
    return list(zip(de, en, strict=True))


# ---------------------------------------------------------------- subwords

# One joint BPE model for German and English: the two languages share names, numbers,
# punctuation and many word pieces, and a joint vocabulary lets the encoder's and decoder's
# embeddings and the output projection be one matrix (the paper, section 3.4).
# Its ids 0-3 are our Vocab's <pad>, <s>, </s>, <unk>, so a piece's id is the model's id.
SENTENCEPIECE_OPTIONS = {
    "character_coverage": 1.0,  # keep every letter of the training text (umlauts, accents)
    "pad_id": 0, "bos_id": 1, "eos_id": 2, "unk_id": 3,
    "pad_piece": "<pad>", "bos_piece": "<s>", "eos_piece": "</s>", "unk_piece": "<unk>",
    "num_threads": 1,  # one thread: the same sentences always give the same model
    "minloglevel": 2,  # no training log on stderr
}


class Subwords:
    """A sentencepiece model kept as its serialized bytes, so that a checkpoint can carry it."""

    def __init__(self, proto: bytes):
        import sentencepiece as spm

        self.proto = bytes(proto)
        try:
            self.processor = spm.SentencePieceProcessor(model_proto=self.proto)
        except RuntimeError as e:
            raise ValueError(f"these {len(self.proto)} bytes are not a sentencepiece "
                             f"model ({e})") from None

    def __len__(self) -> int:
        return self.processor.get_piece_size()

    def __repr__(self) -> str:
        return f"Subwords({len(self)} pieces, {len(self.proto):,} bytes)"

    def pieces(self, text: str) -> list[str]:
        """'Zwei junge Männer.' -> ['▁Zwei', '▁junge', '▁Männer', '.']"""
        return self.processor.encode(text, out_type=str)

    def text(self, pieces: Sequence[str]) -> str:
        """The inverse of `pieces`: join them and turn each '▁' back into a space."""
        return self.processor.decode_pieces(list(pieces))

    def vocab(self) -> Vocab:
        """A Vocab with the model's pieces in the model's order (ids agree with sentencepiece)."""
        return Vocab(self.processor.id_to_piece(i) for i in range(len(self)))


def train_subwords(sentences: Iterable[str], vocab_size: int = 8000,
                   model_type: str = "bpe") -> Subwords:
    """Train a sentencepiece model (BPE or unigram); the same sentences give the same bytes."""
    import sentencepiece as spm

    sentences = [s for s in sentences if s.strip()]
    if not sentences:
        raise ValueError("no sentences to train subwords on")
    if model_type not in ("bpe", "unigram"):
        raise ValueError(f"model_type must be 'bpe' or 'unigram', got {model_type!r}")
    out = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=out, vocab_size=vocab_size,
            model_type=model_type, **SENTENCEPIECE_OPTIONS)
    except RuntimeError as e:
        # sentencepiece says e.g. "Vocabulary size is too high (8000). Please set it to a
        # value <= 131."; keep its words, and say what to change here.
        raise ValueError(f"could not train a {vocab_size}-piece {model_type} model on "
                         f"{len(sentences)} sentences: {e}; lower vocab_size") from None
    return Subwords(out.getvalue())


# ---------------------------------------------------------------- the task


class Multi30kTask(Task):
    """Multi30k German -> English, in joint subword pieces (chapter 9).

    `generate` reads the three splits from `folder` (see `default_folder`), trains the
    subword model on the training split's German and English sentences, and cuts every
    sentence into pieces. Its TaskData carries the model's bytes in `assets`, so that a
    checkpoint can translate new text without the corpus.
    """

    name = "multi30k"
    defaults = {"vocab_size": 8000, "model_type": "bpe", "n_train": None, "folder": None}
    local_settings = ("folder",)
    # The size of the best published from-scratch notebook (d_model 256, 3 + 3 layers, 8
    # heads, FFN 512), with one shared embedding matrix. 227 batches of 128 sentence pairs
    # make an epoch; 2,270 steps are 10 epochs (README, Multi30k: the BLEU and time this
    # run measured).
    recipe = Recipe(
        model={"N": 3, "d_model": 256, "d_ff": 512, "h": 8, "dropout": 0.1,
               "tie_embeddings": True},
        train={"steps": 2270, "batch_size": 128, "warmup": 600, "factor": 0.7,
               "valid_every": 227, "valid_decode": 100},
        max_len=80,
    )

    def __init__(self, subwords: Subwords | None = None):
        self.subwords = subwords

    def generate(self, seed: int, vocab_size: int, model_type: str, n_train: int | None,
                 folder: str | Path | None) -> TaskData:
        splits = {s: load_split(s, folder) for s in SPLITS}
        train_pairs = splits["train"][:n_train] if n_train else splits["train"]
        subwords = train_subwords([s for pair in train_pairs for s in pair], vocab_size,
                                  model_type)
        task = Multi30kTask(subwords)
        examples = [task.examples(pairs) for pairs in
                    (train_pairs, splits["val"], splits["test"])]
        vocab = subwords.vocab()  # joint: the same table for both sides
        settings = {"vocab_size": vocab_size, "model_type": model_type, "n_train": n_train}
        return TaskData(self.name, *examples, vocab, vocab, settings,
                        assets={"subwords": subwords.proto})

    def examples(self, pairs: Sequence[tuple[str, str]]) -> list[Example]:
        """(German, English) sentences -> Examples of subword pieces."""
        return [Example(tuple(self.source_tokens(de)), tuple(self.source_tokens(en)), "de")
                for de, en in pairs]

    def for_checkpoint(self, state: dict) -> Multi30kTask:
        """The task with the subword model that `state` (a checkpoint) carries."""
        proto = state.get("assets", {}).get("subwords")
        if proto is None:
            raise ValueError("this multi30k checkpoint carries no subword model (assets"
                             "['subwords']); train it again with `python -m annotated train "
                             "multi30k`")
        return Multi30kTask(Subwords(proto))

    def _model(self) -> Subwords:
        if self.subwords is None:
            raise ValueError("this Multi30kTask has no subword model yet: take the task from "
                             "data (make_data('multi30k').assets) or from a checkpoint "
                             "(Translator.from_checkpoint)")
        return self.subwords

    def source_tokens(self, text: str) -> list[str]:
        return self._model().pieces(text)

    def target_text(self, tokens: Sequence[str]) -> str:
        return self._model().text(tokens)

    def source_text(self, tokens: Sequence[str]) -> str:
        return self._model().text(tokens)


def bleu_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, Bleu]:
    """Two BLEUs of detokenised output against the raw references, both with sacrebleu.

    'sacrebleu': its default (cased, 13a tokenizer): the score to compare with sacreBLEU.
    'lowercased': lower-cased, then the same 13a tokenizer splits punctuation off words;
    the closest we can get without spaCy to the lower-cased tokenised BLEU that
    from-scratch Multi30k notebooks report (torchtext's bleu_score on spaCy tokens).
    """
    return {"sacrebleu": corpus_bleu(hyps, refs),
            "lowercased": corpus_bleu(hyps, refs, lowercase=True)}


# ---------------------------------------------------------------- a stand-in sample

_SUBJECTS = (("Ein Hund", "A dog"), ("Ein großer Hund", "A big dog"), ("Eine Frau", "A woman"),
             ("Eine junge Frau", "A young woman"), ("Ein Mann", "A man"),
             ("Ein alter Mann", "An old man"), ("Ein Junge", "A boy"),
             ("Ein kleines Mädchen", "A little girl"))
_VERBS = (("läuft", "runs"), ("spielt", "plays"), ("steht", "stands"), ("sitzt", "sits"),
          ("springt", "jumps"), ("schläft", "sleeps"))
_PLACES = (("im Park", "in the park"), ("am Strand", "on the beach"),
           ("auf der Straße", "on the street"), ("im Schnee", "in the snow"),
           ("vor einem Haus", "in front of a house"), ("im Wasser", "in the water"))


def has_corpus(folder: str | Path | None) -> bool:
    """True when `folder` holds all three splits of both languages (.gz or plain)."""
    if folder is None:
        return False
    folder = Path(folder).expanduser()
    return all((folder / f"{stem}.{lang}.gz").exists() or (folder / f"{stem}.{lang}").exists()
               for stem in SPLITS.values() for lang in ("de", "en"))


def write_sample(folder: str | Path, n_train: int = 300, n_val: int = 30, n_test: int = 30,
                 seed: int = 0) -> Path:
    """Write a small made-up corpus in Multi30k's file layout (plain text): NOT Multi30k.

    Its sentences ("Ein Hund läuft im Park." -> "A dog runs in the park.") are drawn
    from 288 templates; tests and the offline path of chapter 9 use it where the real
    corpus is absent. Its scores say nothing about Multi30k.
    """
    import random

    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        pairs = []
        for _ in range(n):
            (sd, se), (vd, ve), (pd, pe) = (rng.choice(x) for x in (_SUBJECTS, _VERBS, _PLACES))
            pairs.append((f"{sd} {vd} {pd}.", f"{se} {ve} {pe}."))
        for i, lang in enumerate(("de", "en")):
            text = "".join(pair[i] + "\n" for pair in pairs)
            (folder / f"{SPLITS[split]}.{lang}").write_text(text, encoding="utf-8")
    return folder


def find_corpus(folder: str | Path | None = None) -> Path | None:
    """The first folder holding the whole corpus, or None.

    Looked at in order: `folder`, the folder named by the environment variable
    $ANNOTATED_MULTI30K (set it to where you keep the six files), and the download cache
    (~/.cache/annotated/multi30k, where `download()` puts them).
    """
    cache = Path.home() / ".cache" / "annotated" / "multi30k"
    candidates = [folder, os.environ.get(ENV), cache]
    return next((Path(c).expanduser() for c in candidates if c and has_corpus(c)), None)


# ---------------------------------------------------------------- chapter 9's first step

SAMPLE_NOTICE = (
    "NOT MULTI30K: {why}. This notebook uses a small GENERATED SAMPLE of template sentences "
    "instead, so its corpus numbers describe that sample, not Multi30k. To get the real "
    "corpus, run it online (it downloads about 1.3 MB), or put the six task-1 files "
    "(train, val, test_2016_flickr; .de.gz and .en.gz) in a folder and set {env} to it.")


@dataclass
class Corpus:
    """Where chapter 9's sentences come from: `real` is False for the generated sample."""

    folder: Path
    real: bool
    notice: str

    @property
    def tag(self) -> str:
        """'' for Multi30k; a mark for every printed number that describes the sample instead."""
        return "" if self.real else "  (generated sample, not Multi30k)"

    def banner(self) -> str:
        """The notice in a box of # signs, hard to miss at the top of a cell's output."""
        lines = textwrap.wrap(self.notice, 76)
        if self.real:
            return "\n".join(lines)
        rule = "#" * 80
        return "\n".join([rule, *(f"# {line:<76} #" for line in lines), rule])


def corpus(folder: str | Path | None = None, timeout: float = 10.0,
           url: str | None = None) -> Corpus:
    """The real corpus where it is found or can be downloaded, else a generated sample.

    Looks where `find_corpus` looks; if nothing is there, downloads into the cache
    (`download`, each file's SHA-256 checked); if that fails (offline, or a file with the
    wrong checksum), writes a sample into a temporary folder and says so in `notice`.
    """
    found = find_corpus(folder)
    if found is not None:
        return Corpus(found, True, f"Multi30k found: the numbers below are about the real "
                                   f"corpus ({sum(SIZES.values()):,} sentence pairs).")
    try:
        fetched = download(timeout=timeout, url=url)
    except (OSError, ValueError) as e:  # offline, refused by a checksum, or a bad URL
        reason = str(e).split(". ")[0]  # the first sentence says which file and why
        why = f"Multi30k was not found, and the download failed: {reason}"
        sample = write_sample(tempfile.mkdtemp(prefix="annotated-sample-"),
                              n_train=3000, n_val=100, n_test=100)
        return Corpus(sample, False, SAMPLE_NOTICE.format(why=why, env=ENV))
    return Corpus(fetched, True, "Multi30k downloaded, each file's SHA-256 checked: the "
                                 "numbers below are about the real corpus.")


# ---------------------------------------------------------------- BPE by hand


def bpe_merges(counts: dict[str, int], n: int
               ) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """The first `n` merges of byte-pair encoding on words with their counts, and each word's
    pieces after them: every merge joins the most frequent neighbouring pair (first seen on a
    tie)."""
    if n < 0:
        raise ValueError(f"n is the number of merges, at least 0; got {n}")
    spelled = {w: [SPACE, *w] for w in counts}  # a word starts with '▁', then its letters
    merges = []
    for _ in range(n):
        pairs: Counter[tuple[str, str]] = Counter()
        for w, pieces in spelled.items():
            for pair in zip(pieces, pieces[1:], strict=False):
                pairs[pair] += counts[w]  # a pair in a frequent word counts once per use
        if not pairs:
            break  # every word is one piece: nothing left to merge
        best = max(pairs, key=pairs.__getitem__)  # max keeps the first of equal counts
        merges.append(best)
        for w, pieces in spelled.items():
            out, i = [], 0
            while i < len(pieces):
                if tuple(pieces[i : i + 2]) == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(pieces[i])
                    i += 1
            spelled[w] = out
    return merges, spelled

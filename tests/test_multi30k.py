import gzip
import io
import urllib.request
from pathlib import Path

import pytest
import torch

from annotated import multi30k
from annotated.registry import TASKS, make_data

# The real corpus, where $ANNOTATED_MULTI30K (tests/conftest.py) names a folder holding it.
REAL = multi30k.find_corpus()
NO_CORPUS = "Multi30k is not on this machine (set ANNOTATED_MULTI30K)"


def write_sample(folder: Path, split="train", n=3):
    stem = multi30k.SPLITS[split]
    (folder / f"{stem}.de").write_text("\n".join(f"Ein Hund {i}." for i in range(n)) + "\n")
    (folder / f"{stem}.en").write_text("\n".join(f"A dog {i}." for i in range(n)) + "\n")


def test_reads_plain_sample_from_argument_and_environment(tmp_path, monkeypatch):
    write_sample(tmp_path)
    pairs = multi30k.load_split("train", tmp_path)
    assert pairs == [("Ein Hund 0.", "A dog 0."), ("Ein Hund 1.", "A dog 1."),
                     ("Ein Hund 2.", "A dog 2.")]
    monkeypatch.setenv(multi30k.ENV, str(tmp_path))
    assert multi30k.load_split("train") == pairs


def test_find_corpus_reads_the_argument_or_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # an empty download cache
    monkeypatch.delenv(multi30k.ENV, raising=False)
    sample = multi30k.write_sample(tmp_path / "sample", n_train=5, n_val=2, n_test=2)
    assert multi30k.find_corpus(sample) == sample
    # Without the argument or the variable nothing is found, even on a machine that keeps
    # a copy beside the repository: the library never looks there.
    assert multi30k.find_corpus() is None
    monkeypatch.setenv(multi30k.ENV, str(sample))
    assert multi30k.find_corpus() == sample
    assert multi30k.find_corpus(tmp_path / "elsewhere") == sample  # an empty argument: next
    monkeypatch.setenv(multi30k.ENV, str(tmp_path / "empty"))
    assert multi30k.find_corpus() is None
    cache = multi30k.write_sample(tmp_path / "home" / ".cache" / "annotated" / "multi30k",
                                  n_train=5, n_val=2, n_test=2)
    assert multi30k.find_corpus() == cache  # where download() puts the files


def test_mismatched_sides_are_refused(tmp_path):
    write_sample(tmp_path)
    (tmp_path / "train.en").write_text("only one line\n")
    with pytest.raises(ValueError, match="3 German lines but 1 English"):
        multi30k.load_split("train", tmp_path)


def test_missing_files_offline_say_where_to_put_them(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="Put them there"):
        multi30k.load_split("val", tmp_path)
    with pytest.raises(FileNotFoundError, match="could not download .* Put the Multi30k"):
        multi30k.load_split("val", tmp_path, download_missing=True)


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown Multi30k split 'dev'"):
        multi30k.load_split("dev")


def test_corrupt_gz_is_refused_by_its_checksum(tmp_path):
    with gzip.open(tmp_path / "val.de.gz", "wt") as f:
        f.write("Ein Hund.\n")
    with gzip.open(tmp_path / "val.en.gz", "wt") as f:
        f.write("A dog.\n")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        multi30k.load_split("val", tmp_path)


def test_download_checks_each_file(tmp_path, monkeypatch):
    """A fake server returning the real bytes passes; one returning a truncated file fails."""
    if REAL is None:
        pytest.skip(NO_CORPUS)

    def serve(truncate):
        def urlopen(url, timeout=None):
            data = (REAL / url.rsplit("/", 1)[1]).read_bytes()
            return io.BytesIO(data[:-10] if truncate else data)
        return urlopen

    monkeypatch.setattr(urllib.request, "urlopen", serve(truncate=True))
    with pytest.raises(ValueError, match="refusing it"):
        multi30k.download(tmp_path / "bad")
    assert not any((tmp_path / "bad").glob("*.gz"))
    monkeypatch.setattr(urllib.request, "urlopen", serve(truncate=False))
    folder = multi30k.download(tmp_path / "good")
    assert sorted(p.name for p in folder.glob("*.gz")) == sorted(multi30k.SHA256)


@pytest.mark.skipif(REAL is None, reason=NO_CORPUS)
def test_real_corpus_sizes():
    for split, size in multi30k.SIZES.items():
        pairs = multi30k.load_split(split, REAL)
        assert len(pairs) == size
    assert multi30k.load_split("train", REAL)[0][0].startswith("Zwei junge")


# ---------------------------------------------------------------- chapter 9: subwords and the task

TINY_MODEL = {"N": 1, "d_model": 16, "d_ff": 32, "h": 2, "dropout": 0.0}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return multi30k.write_sample(tmp_path_factory.mktemp("sample"))


def test_sample_has_the_corpus_layout(sample, tmp_path):
    assert multi30k.has_corpus(sample) and not multi30k.has_corpus(tmp_path)
    assert not multi30k.has_corpus(None)
    pairs = multi30k.load_split("test", sample)
    assert len(pairs) == 30 and all(de.endswith(".") and en.endswith(".") for de, en in pairs)
    assert multi30k.write_sample(tmp_path / "again").joinpath("train.de").read_bytes() == \
        (sample / "train.de").read_bytes()  # the same seed writes the same sample


def test_subwords_are_deterministic_and_round_trip(sample):
    sentences = [s for pair in multi30k.load_split("train", sample) for s in pair]
    a = multi30k.train_subwords(sentences, vocab_size=120)
    b = multi30k.train_subwords(sentences, vocab_size=120)
    assert a.proto == b.proto  # the same sentences give the same model, byte for byte
    assert len(a) == 120 and a.vocab().itos[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    pieces = a.pieces("Ein großer Hund schläft im Schnee.")
    assert pieces[0] == "▁Ein" and len(pieces) >= 6
    assert a.text(pieces) == "Ein großer Hund schläft im Schnee."
    vocab = a.vocab()
    assert vocab.encode(pieces) == a.processor.encode("Ein großer Hund schläft im Schnee.")
    assert "<unk>" not in a.pieces("Eine Frau läuft am Strand.")  # every letter was seen
    assert multi30k.Subwords(a.proto).pieces("Ein Hund.") == a.pieces("Ein Hund.")


def test_subword_errors_are_clear(sample):
    sentences = [de for de, _ in multi30k.load_split("train", sample)]
    with pytest.raises(ValueError, match="could not train a 100000-piece bpe .*lower vocab_size"):
        multi30k.train_subwords(sentences, vocab_size=100_000)
    with pytest.raises(ValueError, match="no sentences"):
        multi30k.train_subwords(["", " "])
    with pytest.raises(ValueError, match="'bpe' or 'unigram'"):
        multi30k.train_subwords(sentences, model_type="word")
    with pytest.raises(ValueError, match="not a sentencepiece model"):
        multi30k.Subwords(b"not a model")
    with pytest.raises(ValueError, match="no subword model yet"):
        TASKS["multi30k"].source_tokens("Ein Hund.")


def test_task_reads_the_folder_and_keeps_it_out_of_its_settings(sample):
    data = make_data("multi30k", folder=sample, vocab_size=150)
    assert (len(data.train), len(data.valid), len(data.test)) == (300, 30, 30)
    assert data.settings == {"vocab_size": 150, "model_type": "bpe", "n_train": None}
    assert data.src_vocab is data.tgt_vocab and len(data.src_vocab) == 150  # joint
    task = multi30k.Multi30kTask(multi30k.Subwords(data.assets["subwords"]))
    de, en = multi30k.load_split("train", sample)[0]
    assert data.train[0].src == tuple(task.source_tokens(de))
    assert task.target_text(data.train[0].tgt) == en
    assert len(make_data("multi30k", folder=sample, vocab_size=150, n_train=50).train) == 50


def test_checkpoint_carries_the_subword_model(sample, tmp_path, monkeypatch):
    from annotated.pretrained import Translator
    from annotated.training import TrainConfig, train

    config = TrainConfig(steps=4, batch_size=32, valid_every=2, valid_decode=5, progress=False)
    result = train("multi30k", config, TINY_MODEL, out=tmp_path / "run", folder=sample,
                   vocab_size=150)
    state = torch.load(result.checkpoint, weights_only=True)
    assert isinstance(state["assets"]["subwords"], bytes)
    assert "folder" not in state["task_settings"]
    assert state["model_config"]["tie_embeddings"] is True
    # Translating needs the checkpoint only: no corpus anywhere.
    monkeypatch.setenv(multi30k.ENV, str(tmp_path / "nowhere"))
    tr = Translator.from_checkpoint(result.checkpoint)
    out = tr.translate(["Ein Hund läuft im Park.", "Eine Frau sitzt."])
    assert len(out) == 2 and all(isinstance(o, str) for o in out)
    # Resuming finds the corpus through the folder given again, which is not saved.
    resumed = train("multi30k", TrainConfig(steps=6, progress=False), out=tmp_path / "run",
                    resume=result.checkpoint, folder=sample)
    assert resumed.history.step[-1] == 6
    del state["assets"]
    torch.save(state, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="carries no subword model"):
        Translator.from_checkpoint(tmp_path / "old.pt")


def test_bleu_scores_cased_and_lowercased():
    refs = ["A dog runs in the park.", "Two men play soccer."]
    hyps = ["a dog runs in the park.", "two men play soccer ."]
    scores = multi30k.bleu_scores(hyps, refs)
    assert scores["lowercased"].score == pytest.approx(100.0)  # 13a splits "soccer." too
    assert scores["sacrebleu"].score < 80  # "a" and "two" miss the cased references
    assert "case:mixed|eff:no|tok:13a" in scores["sacrebleu"].signature
    assert "case:lc|eff:no|tok:13a" in scores["lowercased"].signature


@pytest.mark.skipif(REAL is None, reason=NO_CORPUS)
def test_real_corpus_subwords():
    data = make_data("multi30k", folder=REAL)
    assert len(data.src_vocab) == 8000
    assert data.train[0].tgt[:3] == ("▁Two", "▁young", ",")
    unknown = data.src_vocab.unk
    test_ids = [i for e in data.test for i in data.src_vocab.encode(e.src + e.tgt)]
    assert test_ids.count(unknown) / len(test_ids) < 0.001


def test_torchtext_style_bleu_agrees_with_sacrebleu_on_the_same_tokens():
    """benchmarks/spacy_bleu.py's formula = sacrebleu with no tokenizer and no smoothing."""
    import importlib.util

    from sacrebleu.metrics import BLEU

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "spacy_bleu.py"
    spec = importlib.util.spec_from_file_location("spacy_bleu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    refs = ["a man in a blue shirt is standing on a ladder .", "two dogs play in the snow ."]
    hyps = ["a man in a blue shirt stands on a ladder .", "two dogs are playing in snow ."]
    ours = module.bleu_score([h.split() for h in hyps], [r.split() for r in refs])
    theirs = BLEU(tokenize="none", smooth_method="none").corpus_score(hyps, [refs]).score
    assert ours == pytest.approx(theirs)
    assert module.bleu_score([["a", "b"]], [["c", "d"]]) == 0.0

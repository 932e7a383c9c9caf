import gzip
import io
import urllib.request
from pathlib import Path

import pytest

from annotated import multi30k

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"


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
    if not SHARED.exists():
        pytest.skip("the shared Multi30k copy is not on this machine")

    def serve(truncate):
        def urlopen(url, timeout=None):
            data = (SHARED / url.rsplit("/", 1)[1]).read_bytes()
            return io.BytesIO(data[:-10] if truncate else data)
        return urlopen

    monkeypatch.setattr(urllib.request, "urlopen", serve(truncate=True))
    with pytest.raises(ValueError, match="refusing it"):
        multi30k.download(tmp_path / "bad")
    assert not any((tmp_path / "bad").glob("*.gz"))
    monkeypatch.setattr(urllib.request, "urlopen", serve(truncate=False))
    folder = multi30k.download(tmp_path / "good")
    assert sorted(p.name for p in folder.glob("*.gz")) == sorted(multi30k.SHA256)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared Multi30k copy is not on this machine")
def test_real_corpus_sizes():
    for split, size in multi30k.SIZES.items():
        pairs = multi30k.load_split(split, SHARED)
        assert len(pairs) == size
    assert multi30k.load_split("train", SHARED)[0][0].startswith("Zwei junge")

"""Chapter 9: the Multi30k German -> English corpus (task 1, raw text), read or downloaded.

The files are read from a folder given by argument, else from $ANNOTATED_MULTI30K, else from
~/.cache/annotated/multi30k. Where they are absent, `download_missing=True` (for a machine online,
such as Colab) fetches them from the public multi30k/dataset
repository at a fixed commit; every .gz file is checked against its SHA-256 sum, so a
corrupt or truncated file is refused.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

COMMIT = "a3d2e0d"
URL = f"https://github.com/multi30k/dataset/raw/{COMMIT}/data/task1/raw/{{name}}"
ENV = "ANNOTATED_MULTI30K"
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


def download(folder: str | Path | None = None, timeout: float = 30.0) -> Path:
    """Fetch the six .gz files into `folder`, checking each one's SHA-256; returns the folder."""
    folder = default_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHA256:
        target = folder / name
        if target.exists():
            verify(target)
            continue
        url = URL.format(name=name)
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

"""Every chapter notebook: Colab badge to its own path, install cell, in sync with its .py."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nbscript", ROOT / "scripts" / "notebooks.py")
nbscript = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbscript)

SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_colab_url_points_at_main_branch():
    url = nbscript.colab_url("01_embeddings")
    repo = nbscript.repository_url().removeprefix("https://github.com/")
    assert url == (f"https://colab.research.google.com/github/{repo}/blob/main/"
                   "notebooks/01_embeddings.ipynb")


def test_install_cell_is_a_no_op_outside_colab():
    namespace = {}
    exec(nbscript.install_source(), namespace)  # runs here, where google.colab is absent
    assert "subprocess" not in namespace
    assert f"git+{nbscript.repository_url()}" in nbscript.install_source()


@pytest.mark.parametrize("src", SOURCES, ids=[p.stem for p in SOURCES])
def test_chapter_header_and_sync(src):
    nb = json.loads(src.with_suffix(".ipynb").read_text())
    first, install = nb["cells"][0], nb["cells"][1]
    assert first["cell_type"] == "markdown"
    assert nbscript.colab_url(src.stem) in "".join(first["source"])
    assert "".join(install["source"]) == nbscript.install_source()
    assert nbscript.check(src) == []
    assert "widgets" not in nb["metadata"]

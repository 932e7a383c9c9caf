"""Every chapter notebook: Colab badge to its own path, install cell, in sync with its .py."""

import ast
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nbscript", ROOT / "scripts" / "notebooks.py")
nbscript = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbscript)

SOURCES = nbscript.chapters()


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


def test_install_cell_keeps_colabs_torch():
    # pip keeps an installed torch that meets the package's floor unless told otherwise.
    calls = [n for n in ast.walk(ast.parse(nbscript.install_source()))
             if isinstance(n, ast.Call) and ast.unparse(n.func) == "subprocess.run"]
    assert len(calls) == 1
    args = [a.value for a in calls[0].args[0].elts if isinstance(a, ast.Constant)]
    assert args[:3] == ["-m", "pip", "install"], args
    assert not {"-U", "--upgrade", "--force-reinstall", "--no-deps"} & set(args), args
    assert not [a for a in args if a.startswith("torch")], args  # no torch of its own


@pytest.mark.parametrize("src", SOURCES, ids=[p.stem for p in SOURCES])
def test_chapter_header_and_sync(src):
    nb = json.loads(src.with_suffix(".ipynb").read_text())
    first, install = nb["cells"][0], nb["cells"][1]
    assert first["cell_type"] == "markdown"
    assert nbscript.colab_url(src.stem) in "".join(first["source"])
    assert "".join(install["source"]) == nbscript.install_source()
    assert nbscript.check(src) == []
    assert "widgets" not in nb["metadata"]


# Things that need a JupyterLab extension (or only work in one front end): Colab and classic
# Notebook would show a blank output or a JavaScript error instead.
FRONT_END_ONLY = ("%matplotlib widget", "%matplotlib ipympl", "%matplotlib notebook", "ipympl",
                  "%%javascript", "Javascript(", "anywidget", "bqplot", "jupyterlab")


@pytest.mark.parametrize("src", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_needs_no_jupyterlab_only_extension(src):
    code = src.read_text()
    found = [marker for marker in FRONT_END_ONLY if marker in code]
    assert not found, f"{src.name} uses {found}: use core ipywidgets and inline matplotlib"
    widgets_module = (ROOT / "src" / "annotated" / "viz" / "widgets.py").read_text()
    assert not [m for m in FRONT_END_ONLY if m in widgets_module]


def test_sync_gives_new_sources_keeps_outputs_and_refuses_new_cells(tmp_path):
    import nbformat

    src = tmp_path / "01_x.py"
    src.write_text("# %% [markdown]\n# # Chapter X\n\n# %%\nprint(1)\n")
    nb = nbscript.build(src)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[2].execution_count = 1
    nbformat.write(nb, src.with_suffix(".ipynb"))
    src.write_text(src.read_text().replace("print(1)", "print(1)  # the same output"))
    assert nbscript.check(src)  # out of date
    nbscript.sync(src)
    assert nbscript.check(src) == []
    stored = nbformat.read(src.with_suffix(".ipynb"), as_version=4)
    assert stored.cells[2].source == "print(1)  # the same output"
    assert stored.cells[2].outputs[0].text == "1\n"
    src.write_text(src.read_text() + "\n# %%\nprint(2)\n")
    with pytest.raises(SystemExit, match="sync only edits sources"):
        nbscript.sync(src)

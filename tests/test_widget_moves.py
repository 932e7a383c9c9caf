"""tests/widget_moves.py, the nbval plugin that moves every widget control, on tiny notebooks.

Each notebook runs under nbval in this env's kernel, in a pytest of its own (no project
configuration), with the plugin loaded the way conftest.py loads it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

SHOW = """\
import ipywidgets as w
from IPython.display import display

def draw(n, word, flag):
    print({body})

display(w.interactive(draw, n=w.IntSlider(value=1, min=0, max=5),
                      word=w.Dropdown(options=["a", "b"]), flag=w.Checkbox(value=False)))
"""


def run_notebook(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SHOW.format(body=body))])
    path = tmp_path / "widget.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"),
           "ANNOTATED_WIDGET_MOVES_OUT": str(tmp_path / "moves")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-c", os.devnull, "--rootdir", str(tmp_path), "--nbval-lax",
                           "--nbval-current-env", "-p", "widget_moves", str(path)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)


def test_every_control_moves_and_each_move_shows_a_new_picture(tmp_path):
    done = run_notebook(tmp_path, "n, word, flag")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout  # the cell, then its "widgets" item
    summary = json.loads((tmp_path / "moves" / "widget.json").read_text())
    assert [m["kind"] for m in summary["moves"]] == ["IntSlider", "Dropdown", "Checkbox"]


def test_a_move_that_changes_nothing_fails(tmp_path):
    done = run_notebook(tmp_path, '"always the same"')
    assert done.returncode == 1, done.stdout + done.stderr
    assert "IntSlider 'n' moved to 2: the picture did not change" in done.stdout, done.stdout


def test_an_error_in_an_update_fails(tmp_path):
    done = run_notebook(tmp_path, "1 / (n - 2)")  # the first move (to n=2) divides by zero
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ZeroDivisionError" in done.stdout, done.stdout

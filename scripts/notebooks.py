"""Build, run and check the chapter notebooks.

Each chapter is written as `notebooks/NN_name.py` in jupytext's py:percent format (clean
diffs; linters and duplicate finders can read it); the primer before chapter 0 is
`notebooks/A1_pytorch_primer.py`. `run` turns it into `NN_name.ipynb` with the
Colab badge and install cell in front (both made from the repository address in
pyproject.toml), executes it from a fresh kernel, strips widget state and timestamps, and
saves it with its outputs: the outputs nbval checks.

    python scripts/notebooks.py run                 # every chapter
    python scripts/notebooks.py run 03_attention    # one chapter (or: run 03, run A1)
    python scripts/notebooks.py check               # .ipynb in sync with .py and the header
    python scripts/notebooks.py sync 09             # new sources, stored outputs kept

`sync` is for a chapter whose stored outputs cannot be made again here (e.g. outputs of a
long training run): it copies each cell's new source into the stored notebook and keeps
the outputs. nbval then checks that the outputs still match what the code prints.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from pathlib import Path
from queue import Empty

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
INSTALL_TAG = "colab-install"
# Stored outputs use the real Multi30k where a copy sits beside the checkout, as the tests do
# (conftest.py); an ANNOTATED_MULTI30K already set wins, and the kernels inherit it.
SHARED_MULTI30K = ROOT.parent / "shared" / "data" / "multi30k"
if not os.environ.get("ANNOTATED_MULTI30K") and SHARED_MULTI30K.is_dir():
    os.environ["ANNOTATED_MULTI30K"] = str(SHARED_MULTI30K)


def repository_url() -> str:
    """The public repository address, set once in pyproject.toml's project.urls."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return meta["urls"]["Repository"].rstrip("/")


def colab_url(name: str) -> str:
    """The Open-in-Colab address of notebooks/<name>.ipynb on the main branch."""
    repo = repository_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{name}.ipynb"


def badge(name: str) -> str:
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(name)})")


def install_source() -> str:
    """The install cell: in Colab, pip installs the course (Colab's own packages are kept).

    Quiet: one line says what was installed (or that it already was). On failure it stops
    Run All with what went wrong and what to do (no traceback). pip runs in a subprocess,
    not `!pip`, and the package's floors accept Colab's versions (colab/constraints.txt,
    tests/test_colab.py), so nothing Colab has loaded is replaced and no restart is asked
    for; should pip replace one anyway, the cell says which and how to restart.
    """
    return INSTALL_CELL.replace("REPOSITORY", repository_url())


# The install cell's code; REPOSITORY becomes pyproject's project.urls Repository.
INSTALL_CELL = """\
# @title Colab only: install the course's package (run this cell first)
# In Google Colab, install the course's package (Colab's own torch and widgets are kept).
# Anywhere else this cell does nothing: `make course` has installed it already.
import sys

if "google.colab" in sys.modules:
    import importlib.metadata as md
    import json, subprocess, tempfile

    SOURCE = "annotated @ git+REPOSITORY"
    key = lambda name: (name or "").lower().replace("_", "-")

    class InstallFailed(Exception):  # shown as its message alone; it stops Run All
        def _render_traceback_(self):
            return str(self).splitlines()

    try:
        print(f"annotated {md.version('annotated')} is already installed")
    except md.PackageNotFoundError:
        before = {key(d.metadata["Name"]): d.version for d in md.distributions()}
        with tempfile.TemporaryDirectory() as tmp:
            pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                                  "--report", f"{tmp}/report.json", SOURCE],
                                 capture_output=True, text=True)
            if pip.returncode:
                lines = pip.stderr.strip().splitlines()
                said = [ln.strip() for ln in lines if ln.strip().startswith(("ERROR", "fatal"))]
                said = "\\n".join(dict.fromkeys(said or lines[-8:]))
                raise InstallFailed(
                    f"Installing the course's package failed. pip said:\\n{said}\\n"
                    "What to do: check that this runtime is online (Runtime > Disconnect "
                    "and delete runtime gives a fresh one), then run this cell again. If it "
                    "fails again, report these lines at "
                    "REPOSITORY/issues")
            report = json.load(open(f"{tmp}/report.json"))
        new = [(i["metadata"]["name"], i["metadata"]["version"]) for i in report["install"]]
        print("installed", ", ".join(f"{n} {v}" for n, v in new))
        changed = [f"{n} {before[key(n)]} -> {v}" for n, v in new if key(n) in before]
        if changed:
            print("pip replaced packages Colab had installed:", ", ".join(changed) + ".",
                  "If one was imported already: Runtime > Restart session, then run from here.")"""


def build(src: Path) -> nbformat.NotebookNode:
    """The notebook for chapter source `src`, header cells included, not yet executed."""
    nb = jupytext.read(src, fmt="py:percent")
    first = nb.cells[0]
    if first.cell_type != "markdown" or not first.source.startswith("# "):
        raise SystemExit(f"{src.name}: the first cell must be markdown starting with '# Title'")
    title, _, rest = first.source.partition("\n")
    first.source = f"{title}\n\n{badge(src.stem)}\n{rest}".rstrip() + "\n"
    # Colab shows a form cell as its @title line, its forty lines of pip plumbing folded.
    install = nbformat.v4.new_code_cell(install_source(), metadata={
        "tags": [INSTALL_TAG], "cellView": "form"})
    nb.cells.insert(1, install)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{src.stem[:2]}-{i:03d}"  # stable ids: no churn in diffs between runs
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"},
    }
    return nb


def strip(nb: nbformat.NotebookNode) -> None:
    """Drop widget state and execution timestamps; keep outputs and execution counts."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            out.get("metadata", {}).pop("execution", None)


SLOW_S = 30.0  # a part slower than this is named
POLL_S = 1.0  # the longest single wait for a kernel message (see SlicedWaits)


class SlicedWaits(NotebookClient):
    """NotebookClient whose waits for kernel messages poll in slices of POLL_S seconds.

    After a cell that shows a widget, nbclient sometimes misses the kernel's reply until its
    whole timeout (300 s) has passed, then carries on (jupyter/nbclient#312, measured here:
    "cell 36 took 300 s" for a cell that runs in a second). A fresh wait sees the message
    at once, so each wait is cut into short ones up to the same deadline.
    """

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = _sliced(channel.get_msg)
        return kc


def _sliced(get_msg):
    async def wait(timeout: float | None = None, **kw):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
            try:
                return await get_msg(timeout=max(left, 0.0), **kw)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
    return wait


def run(src: Path) -> float:
    """Build and execute one chapter from a fresh kernel; returns the seconds it took."""
    nb = build(src)
    start = last = time.perf_counter()

    def lap(what: str) -> None:  # name any slow part: runs have stalled for minutes at times
        nonlocal last
        now = time.perf_counter()
        if now - last > SLOW_S:
            print(f"{src.stem}: {what} took {now - last:.0f} s", flush=True)
        last = now

    SlicedWaits(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}},
                   on_notebook_start=lambda notebook: lap("starting the kernel"),
                   on_cell_start=lambda cell, cell_index: lap(f"the gap before cell {cell_index}"),
                   on_cell_executed=lambda cell, cell_index, execute_reply:
                       lap(f"cell {cell_index}"),
                   on_notebook_complete=lambda notebook: lap("finishing")).execute()
    seconds = time.perf_counter() - start
    strip(nb)
    nbformat.write(nb, src.with_suffix(".ipynb"))
    return seconds


def check(src: Path) -> list[str]:
    """Differences between a chapter's stored .ipynb and what its .py builds."""
    target = src.with_suffix(".ipynb")
    if not target.exists():
        return [f"{target.name} is missing: run `python scripts/notebooks.py run {src.stem}`"]
    stored, built = nbformat.read(target, as_version=4), build(src)
    problems = []
    if [c.source for c in stored.cells] != [c.source for c in built.cells]:
        problems.append(f"{target.name} is out of date with {src.name}: run "
                        f"`python scripts/notebooks.py run {src.stem}`")
    return problems


def sync(src: Path) -> None:
    """Give the stored notebook of `src` its new cell sources, keeping every output."""
    target = src.with_suffix(".ipynb")
    stored, built = nbformat.read(target, as_version=4), build(src)
    shape = [(c.cell_type, c.metadata.get("tags", [])) for c in built.cells]
    if [(c.cell_type, c.metadata.get("tags", [])) for c in stored.cells] != shape:
        raise SystemExit(f"{src.name}: cells were added, removed, retyped or retagged; "
                         f"sync only edits sources: run `python scripts/notebooks.py run "
                         f"{src.stem}` instead")
    for old, new in zip(stored.cells, built.cells, strict=True):
        old.source = new.source
        old.metadata = new.metadata  # tags (checked equal above) and how the cell is shown
    nbformat.write(stored, target)


# Chapters are NN_name; the primers before chapter 0 are LN_name (A1_pytorch_primer).
CHAPTER_GLOB = "[0-9A-Z][0-9]_*"


def chapter_order(path: Path) -> tuple[bool, str]:
    """Sort key: the lettered primers first, then the chapters by number."""
    return (path.name[0].isdigit(), path.name)


def chapters(suffix: str = ".py") -> list[Path]:
    """Every chapter's file with this suffix, primers first."""
    return sorted(NOTEBOOKS.glob(CHAPTER_GLOB + suffix), key=chapter_order)


def sources(names: list[str]) -> list[Path]:
    all_sources = chapters()
    if not names:
        return all_sources
    chosen = [p for p in all_sources if p.stem in names or p.stem[:2] in names]
    missing = set(names) - {p.stem for p in chosen} - {p.stem[:2] for p in chosen}
    if missing:
        have = [p.stem for p in all_sources]
        raise SystemExit(f"no chapter named {sorted(missing)}; have {have}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["run", "check", "sync"])
    parser.add_argument("names", nargs="*", help="chapters to process (default: all)")
    args = parser.parse_args(argv)
    if args.command == "run":
        for src in sources(args.names):
            print(f"{src.stem}: {run(src):.1f} s", flush=True)
        return 0
    if args.command == "sync":
        for src in sources(args.names):
            sync(src)
            print(f"{src.stem}: sources synced, outputs kept", flush=True)
        return 0
    problems = [p for src in sources(args.names) for p in check(src)]
    print("\n".join(problems) or "all notebooks in sync")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Time every widget control of the chapters inside a real kernel (not a test).

    python benchmarks/widgets.py                 # every chapter
    python benchmarks/widgets.py 05 06           # some chapters
    python benchmarks/widgets.py 05 --profile    # and the callbacks' top functions

Each chapter notebook runs from a fresh kernel (as `scripts/notebooks.py run` does); then,
in that kernel, each control of each `ipywidgets.interactive` is moved a few times. For each
control it prints the median kernel-side update time (the drawing function, its PNG and
handing that to the front end) and the part spent making the PNG.
The browser test (tests/test_browser.py) measures the whole path, control to picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]

# Runs in the chapter's kernel after its last cell.
PROBE = r'''
import cProfile, io, pstats, statistics, time
import ipywidgets as _w

def _next_value(c):
    """A different value for control `c`, as a learner's next move would give."""
    if isinstance(c, _w.Checkbox):
        return not c.value
    if hasattr(c, "options") and not isinstance(c, _w.SelectMultiple):
        values = [o[1] if isinstance(o, tuple) else o for o in c.options]
        return values[(values.index(c.value) + 1) % len(values)]
    if isinstance(c, _w.FloatLogSlider):
        up = c.value * c.base ** c.step
        return up if up <= c.base ** c.max else c.value / c.base ** c.step
    if isinstance(c, (_w.IntRangeSlider, _w.FloatRangeSlider)):
        lo, hi = c.value
        return (lo + c.step, hi) if lo + c.step < hi else (lo - c.step, hi)
    if hasattr(c, "max"):
        step = getattr(c, "step", 1) or 1
        return c.value + step if c.value + step <= c.max else c.value - step
    raise TypeError(f"no rule for {type(c).__name__}")

def _time(w, control, moves, profile):
    import annotated.viz.widgets as aw

    png, f = [], aw.figure_png
    def timed(fig):
        t = time.perf_counter()
        try:
            return f(fig)
        finally:
            png.append(time.perf_counter() - t)
    aw.figure_png = timed
    total, prof = [], cProfile.Profile()
    try:
        for _ in range(moves):
            value = _next_value(control)
            t = time.perf_counter()
            if profile:
                prof.enable()
            control.value = value
            prof.disable()
            total.append(time.perf_counter() - t)
    finally:
        aw.figure_png = f
    ms = lambda xs: 1000 * statistics.median(xs) if xs else 0.0
    print(f"  {control.description or type(control).__name__:28s} {ms(total):7.1f} ms "
          f"(of which the PNG {ms(png):5.1f})")
    if profile:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
        print("\n".join("    " + l for l in out.getvalue().splitlines()[6:]))

_live = getattr(_w.widget, "_instances", None) or _w.Widget.widgets
for _i, _w_ in enumerate(o for o in list(_live.values()) if isinstance(o, _w.interactive)):
    print(f"widget {_i + 1}: {getattr(_w_.f, '__name__', _w_.f)}")
    for _c in _w_.children[:-1]:
        _time(_w_, _c, MOVES, PROFILE)
'''


def run(notebook: Path, moves: int, profile: bool) -> str:
    """Execute the chapter, then the probe, in one fresh kernel; return the probe's output."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(f"MOVES, PROFILE = {moves}, {profile}\n" + PROBE))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    outputs = nb.cells[-1].outputs
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers or names (default: all)")
    parser.add_argument("--moves", type=int, default=5, help="moves per control (median)")
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    args = parser.parse_args(argv)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9A-Z][0-9]_*.ipynb"),
                       key=lambda p: (p.name[0].isdigit(), p.name))  # primers (A1_) first
    if args.chapters:
        notebooks = [p for p in notebooks if p.stem in args.chapters or p.stem[:2] in args.chapters]
        if not notebooks:
            raise SystemExit(f"no chapter matches {args.chapters}")
    for notebook in notebooks:
        print(f"{notebook.stem}:", flush=True)
        print(run(notebook, args.moves, args.profile) or "  no widgets", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

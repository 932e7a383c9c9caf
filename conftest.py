"""Root pytest configuration (for tests/ and for the notebooks nbval runs)."""

import json
import os
from pathlib import Path

ROOT = Path(__file__).parent
LATENCY = ROOT / "build" / "browser" / "latency.json"

# The course's development machines keep a copy of Multi30k beside the repository checkout;
# the library never looks there itself, so point it there for the tests and notebooks that
# use the real corpus (they fall back or skip without it). An ANNOTATED_MULTI30K already set
# wins; the notebooks' kernels inherit it. Nothing downloads.
SHARED_MULTI30K = ROOT.parent / "shared" / "data" / "multi30k"
if not os.environ.get("ANNOTATED_MULTI30K") and SHARED_MULTI30K.is_dir():
    os.environ["ANNOTATED_MULTI30K"] = str(SHARED_MULTI30K)


def pytest_configure(config):
    # nbval takes the sanitizer's path relative to the working directory: make it absolute.
    if getattr(config.option, "nbval", False) and not config.option.nbval_sanitize_with:
        config.option.nbval_sanitize_with = str(ROOT / "notebooks" / "sanitize.cfg")
    config._annotated_start = LATENCY.stat().st_mtime if LATENCY.exists() else None


def pytest_terminal_summary(terminalreporter, config):
    """Print the widget latencies the browser test measured in this run."""
    if not LATENCY.exists() or LATENCY.stat().st_mtime == config._annotated_start:
        return
    terminalreporter.section("widget latency in the browser: control moved -> new picture")
    for name, row in json.loads(LATENCY.read_text()).items():
        controls = ", ".join(f"{c} {ms:.0f}" for c, ms in row["controls"].items())
        terminalreporter.write_line(f"{row['median_ms']:7.1f} ms  {name}  ({controls})")
    terminalreporter.write_line(f"medians of {LATENCY.parent.relative_to(ROOT)}/latency.json; "
                                "screenshots beside it")

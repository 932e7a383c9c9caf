"""Root pytest configuration (for tests/ and for the notebooks nbval runs)."""

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent
LATENCY = ROOT / "build" / "browser" / "latency.json"
# ANNOTATED_NOTEBOOK_KERNEL=colab: nbval runs the chapters in build/colab-env's kernel
# (Colab's versions, `make colab-env`) instead of this env's. .ci/run sets it.
COLAB_JUPYTER = ROOT / "build" / "colab-env" / "share" / "jupyter"
COLAB_KERNEL = "annotated-colab"

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
    if getattr(config.option, "nbval", False):
        # After each notebook's cells: every control of every widget moved, kernel side.
        config.pluginmanager.import_plugin("widget_moves")
        use_colab_kernel(config)
    config._annotated_start = LATENCY.stat().st_mtime if LATENCY.exists() else None


def use_colab_kernel(config) -> None:
    kernel = os.environ.get("ANNOTATED_NOTEBOOK_KERNEL", "").strip().lower()
    if kernel in ("", "current"):
        return
    if kernel != "colab":
        raise pytest.UsageError(f"ANNOTATED_NOTEBOOK_KERNEL={kernel!r}: use 'colab' (the "
                                "kernel of build/colab-env) or leave it unset (this env's)")
    if not (COLAB_JUPYTER / "kernels" / COLAB_KERNEL / "kernel.json").exists():
        raise pytest.UsageError("ANNOTATED_NOTEBOOK_KERNEL=colab needs build/colab-env and "
                                "its kernel: run `make colab-env` first")
    # debugpy under Python 3.11 warns about frozen modules on the kernel's stderr at each start.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    config.option.nbval_current_env = False
    config.option.nbval_kernel_name = COLAB_KERNEL
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "colab" / "constraints.txt")
                           .read_text(), flags=re.M))
    config._annotated_kernel_versions = {"ipywidgets": pins["ipywidgets"],
                                         "IPython": pins["ipython"]}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """While nbval starts a notebook's kernel, and only then, let Jupyter find the env's one.

    Set for the whole run, JUPYTER_PATH would also reach the JupyterLab of the browser test
    (its extensions would then come from build/colab-env first).
    """
    if not (getattr(item.config, "_annotated_kernel_versions", None)
            and type(item).__name__ == "IPyNbCell"):
        yield
        return
    before = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(COLAB_JUPYTER), before) if p)
    try:
        yield
    finally:
        if before is None:
            del os.environ["JUPYTER_PATH"]
        else:
            os.environ["JUPYTER_PATH"] = before


def pytest_report_header(config):
    if getattr(config, "_annotated_kernel_versions", None):
        return (f"notebooks run in build/colab-env's kernel ({COLAB_KERNEL}): "
                + ", ".join(f"{k} {v}" for k, v in config._annotated_kernel_versions.items()))
    return None


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

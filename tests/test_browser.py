"""The learner's path in a real browser: JupyterLab from `make course`, driven by Chromium.

For every chapter: open it, Run All, wait for the kernel, and check that no cell shows an
error. For every widget: move its first control and wait for its picture (or text) to change,
timing it; save a screenshot of each widget. Results: build/browser/ (latency.json, PNGs).
Skipped, with the reason, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTEBOOK_DIR = Path(os.environ.get("ANNOTATED_BROWSER_NOTEBOOKS", ROOT / "notebooks"))
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
TOKEN = "annotated-browser-test"
RUN_ALL_TIMEOUT_MS = 300_000
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

pytestmark = [
    # Opt-in until it is reliable on a loaded 2-core machine (widget renders timed out there).
    pytest.mark.skipif(os.environ.get("ANNOTATED_BROWSER_TESTS") != "1",
                       reason="browser tests are opt-in: set ANNOTATED_BROWSER_TESTS=1 "
                       "(they need Debian's chromium)"),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found: install Debian's "
                       "`chromium` (`.ci/run` does) to run the browser tests"),
    pytest.mark.skipif(sync_playwright is None, reason="Python playwright is not installed: "
                       "pip install -e '.[dev]'"),
]

SETTINGS = {
    # No news pop-up covering the page, no update check over the network.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    # Never write the browser's outputs back over the stored notebooks.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # Every cell in the DOM, so every output can be inspected.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab started with the README's `make course`, serving a copy of the notebooks."""
    tmp = tmp_path_factory.mktemp("lab")
    served = tmp / "notebooks"
    served.mkdir()
    for path in NOTEBOOKS:
        # Without stored outputs: their numbered prompts would look like a finished run.
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        (served / path.name).write_text(json.dumps(nb))
    settings = tmp / "settings"
    for name, value in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port = free_port()
    args = (f"--no-browser --port={port} --IdentityProvider.token={TOKEN} "
            f"--LabApp.user_settings_dir={settings} --LabApp.workspaces_dir={tmp / 'ws'}")
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(["make", "-s", "course", f"NOTEBOOK_DIR={served}", f"LAB_ARGS={args}"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                os.killpg(proc.pid, signal.SIGTERM)
                pytest.fail(f"JupyterLab did not start: {(tmp / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def latencies():
    results: dict[str, list[float]] = {}
    yield results
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {k: {"median_ms": round(statistics.median(v), 1), "samples": len(v)}
               for k, v in results.items()}
    (OUT / "latency.json").write_text(json.dumps(summary, indent=2) + "\n")


def menu(page, top: str, item: str) -> None:
    """Click menu `top`, then its entry `item`, as a learner would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def run_all(page) -> None:
    menu(page, "Run", "Run All Cells")


def wait_for_kernel(page, n_code_cells: int) -> None:
    """Wait until every code cell shows an execution count and the kernel is idle."""
    page.wait_for_function(
        """(n) => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent.trim());
            const done = prompts.filter(t => /^\\[\\d+\\]:$/.test(t)).length;
            const busy = document.querySelector(
                '.jp-Notebook-ExecutionIndicator[data-status="busy"]');
            return done >= n && !busy;
        }""", arg=n_code_cells, timeout=RUN_ALL_TIMEOUT_MS, polling=500)


def widget_picture(widget) -> str:
    """What a widget shows: its image's data, else its output text."""
    return widget.evaluate("""(w) => {
        const img = w.querySelector('.widget-output img');
        if (img) return img.getAttribute('src');
        const out = w.querySelector('.widget-output');
        return out ? out.innerText : '';
    }""")


def move_first_control(widget) -> str:
    """Change the widget's first control the way a learner would; return what was moved."""
    handle = widget.locator(".noUi-handle").first
    if handle.count():
        handle.focus()
        handle.press("ArrowRight")
        return "slider"
    select = widget.locator("select").first
    if select.count():
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("(s) => s.options[s.selectedIndex].text")
        select.select_option(label=next(o for o in options if o != current))
        return "dropdown"
    buttons = widget.locator(".widget-toggle-buttons button:not(.mod-active)")
    if buttons.count():
        buttons.first.click()
        return "toggle buttons"
    pytest.fail("a widget with no slider, dropdown or toggle buttons to move")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_runs_and_widgets_respond(lab, browser, latencies, notebook):
    nb = json.loads(notebook.read_text())
    n_code = sum(1 for c in nb["cells"] if c["cell_type"] == "code")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        check_chapter(page, lab, latencies, notebook, n_code)
    except Exception:
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / f"{notebook.stem}_failure.png"))
        raise
    finally:
        page.close()


def check_chapter(page, lab, latencies, notebook, n_code) -> None:
    page.goto(f"{lab}/lab/tree/{notebook.name}?token={TOKEN}")
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
    run_all(page)
    wait_for_kernel(page, n_code)

    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    texts = [t[:300] for t in errors.all_inner_texts()]
    assert not texts, f"{notebook.stem}: cells show errors or warnings: {texts}"

    # Widget views render after the kernel goes idle: wait for every one the notebook stores.
    stored = sum(1 for c in json.loads(notebook.read_text())["cells"]
                 for o in c.get("outputs", []) if WIDGET_MIME in o.get("data", {}))
    page.wait_for_function(
        "(n) => document.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets').length >= n",
        arg=stored, timeout=60_000)
    widgets = page.locator(".widget-interact")
    for i in range(widgets.count()):
        widget = widgets.nth(i)
        widget.scroll_into_view_if_needed()
        page.wait_for_function("(w) => w.querySelector('.widget-output img, .widget-output pre')",
                               arg=widget.element_handle(), timeout=30_000)
        times = []
        for _ in range(3):
            before = widget_picture(widget)
            start = time.perf_counter()
            moved = move_first_control(widget)
            page.wait_for_function(
                """([w, before]) => {
                    const img = w.querySelector('.widget-output img');
                    const now = img ? img.getAttribute('src')
                                    : (w.querySelector('.widget-output') || {}).innerText;
                    return now && now !== before;
                }""", arg=[widget.element_handle(), before], timeout=10_000, polling="raf")
            times.append((time.perf_counter() - start) * 1000)
        latencies[f"{notebook.stem} widget {i + 1} ({moved})"] = times
        OUT.mkdir(parents=True, exist_ok=True)
        widget.screenshot(path=str(OUT / f"{notebook.stem}_widget{i + 1}.png"))

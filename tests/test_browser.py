"""The learner's path in a real browser: JupyterLab from `make course`, driven by Chromium.

For every chapter notebook (found by name, so new chapters are covered when they land): open
it, Run All from the menu, wait until every cell has run and the kernel is idle, and check
that no cell shows an error. For every widget: move each of its controls (sliders, dropdowns,
toggle buttons, check boxes, number boxes, buttons) and wait for its picture (or text) to
change, timing it in the page from the input event to the decoded new picture. Results go to
build/browser/: latency.json (median per widget and per control), chapters.json (seconds per
chapter) and two screenshots per widget (as first shown, and after the moves).

ANNOTATED_BROWSER_TESTS: unset runs the test where a Chromium is found and skips, saying why,
where none is; 0 turns it off; 1 requires it (no browser is then a failure).
ANNOTATED_CHROMIUM names a Chromium binary to use instead of the one found on PATH.
"""

from __future__ import annotations

import contextlib
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
NOTEBOOK_DIR = Path(os.environ.get("ANNOTATED_BROWSER_NOTEBOOKS", ROOT / "notebooks"))
# Chapters NN_name and the primers before chapter 0 (A1_name), primers first.
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9A-Z][0-9]_*.ipynb"),
                   key=lambda p: (p.name[0].isdigit(), p.name))
TOKEN = "annotated-browser-test"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MOVES = 3  # per control: the latency is the median of these

# Bounded waits, generous for a 2-core machine shared with other jobs (each chapter runs in
# under 2 minutes on 2 idle cores).
LAB_START_S = 180
KERNEL_READY_MS = 180_000
RUN_ALL_START_MS = 30_000
RUN_ALL_DONE_MS = 600_000
WIDGET_RENDER_MS = 120_000
MOVE_MS = 30_000  # one control move to its new picture; tried twice before failing

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None


def switch() -> str:
    """'auto', 'off' or 'required', from ANNOTATED_BROWSER_TESTS."""
    value = os.environ.get("ANNOTATED_BROWSER_TESTS", "").strip().lower()
    modes = {"": "auto", "auto": "auto", "0": "off", "off": "off", "no": "off",
             "false": "off", "1": "required", "on": "required", "yes": "required",
             "true": "required"}
    if value not in modes:
        raise ValueError(f"ANNOTATED_BROWSER_TESTS={value!r}: use 0 (off), 1 (required) or "
                         "leave it unset (run where a Chromium is found)")
    return modes[value]


def find_chromium() -> str | None:
    """ANNOTATED_CHROMIUM, else a Chromium on PATH, else Playwright's own download if present."""
    named = os.environ.get("ANNOTATED_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if sync_playwright is not None:
        with sync_playwright() as p:
            bundled = p.chromium.executable_path
        if bundled and Path(bundled).exists():
            return bundled
    return None


SETTINGS = {
    # No news pop-up covering the page, no update check over the network.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    # Never write the browser's outputs back over the stored notebooks.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # Every cell in the DOM, so every output can be inspected.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# In the page: what a widget shows, the kernel's status, the state of Run All, and a probe
# that times a control change (last input event) to the new picture (decoded images).
PAGE_SCRIPT = r"""
window.annotated = {
  picture(root) {
    const parts = [...root.querySelectorAll('img')].map(i => i.getAttribute('src') || '');
    for (const el of root.querySelectorAll('.widget-output, .widget-html-content'))
      parts.push(el.innerText);
    return parts.join('\n').trim();
  },
  kernel(name) {
    const item = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
      .map(e => e.textContent.trim()).find(t => t.startsWith(name + ' |'));
    return item ? item.slice(name.length + 2).trim() : 'no kernel';
  },
  cells() {
    return [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  },
  widgets(cell) {
    return [...cell.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets')]
      .filter(w => !w.parentElement.closest('.widget-output'));
  },
  runState(name, codeCells) {
    const cells = this.cells();
    const prompts = codeCells.map(i => {
      const p = cells[i] && cells[i].querySelector('.jp-InputPrompt');
      return p ? p.textContent.trim() : '';
    });
    const running = codeCells.filter((i, k) => prompts[k].includes('*'));
    const unrun = codeCells.filter((i, k) => !/^\[\d+\]:$/.test(prompts[k]));
    return {kernel: this.kernel(name), running, unrun,
            started: prompts.some(p => p.includes('*') || /\d/.test(p))};
  },
  errors() {
    const sel = '[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText.jp-mod-error';
    return this.cells().flatMap((cell, i) => [...cell.querySelectorAll(sel)]
      .map(e => ({cell: i, text: e.innerText.slice(0, 600)})))
      .concat(this.cells().flatMap((cell, i) => cell.innerText.includes('Error displaying widget')
        ? [{cell: i, text: 'Error displaying widget'}] : []));
  },
  arm(root) {
    if (this.probe) this.probe.stop();
    const before = this.picture(root);
    const state = {before, t0: null, t1: null, armed: performance.now(), waiting: false};
    const mark = () => { if (!state.waiting) state.t0 = performance.now(); };
    const events = ['keydown', 'mousedown', 'click', 'input', 'change'];
    const observer = new MutationObserver(() => {
      const now = this.picture(root);
      if (state.waiting || !now || now === before) return;
      state.waiting = true;
      Promise.all([...root.querySelectorAll('img')].map(i => i.decode().catch(() => null)))
        .then(() => { state.t1 = performance.now(); state.stop(); });
    });
    state.stop = () => {
      observer.disconnect();
      events.forEach(e => root.removeEventListener(e, mark, true));
    };
    events.forEach(e => root.addEventListener(e, mark, true));
    observer.observe(root, {subtree: true, childList: true, attributes: true,
                            characterData: true});
    this.probe = state;
    return before;
  },
};
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, or a skip (a failure with ANNOTATED_BROWSER_TESTS=1) saying why not."""
    mode = switch()
    if mode == "off":
        pytest.skip("browser test turned off by ANNOTATED_BROWSER_TESTS=0")
    missing = None
    if sync_playwright is None:
        missing = "Python playwright is not installed (pip install -e '.[dev]')"
    elif (chromium := find_chromium()) is None:
        missing = ("no Chromium found: install Debian's `chromium` (apt-get install chromium; "
                   ".ci/run does) or set ANNOTATED_CHROMIUM=/path/to/chromium")
    if missing:
        if mode == "required":
            pytest.fail(f"ANNOTATED_BROWSER_TESTS=1 but {missing}")
        pytest.skip(f"browser test skipped: {missing}; "
                    "ANNOTATED_BROWSER_TESTS=0 turns this test off")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


def copy_without_outputs(notebooks: list[Path], served: Path) -> None:
    """Copy the notebooks into `served` without their stored outputs: their numbered prompts
    would look like a finished run."""
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        (served / path.name).write_text(json.dumps(nb))


@contextlib.contextmanager
def running_server(cmd: list[str], port: int, token: str, log_path: Path, limit_s: float,
                   what: str, **popen):
    """Start a Jupyter server (its own process group), wait until it answers, yield its
    address; stop it afterwards. A server that dies or stays silent fails with its log."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **popen)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + limit_s
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGTERM)
                    pytest.fail(f"{what} did not answer within {limit_s} s:\n"
                                f"{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        try:
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """JupyterLab started with the README's `make course`, serving a copy of the notebooks."""
    tmp = tmp_path_factory.mktemp("lab")
    served = tmp / "notebooks"
    served.mkdir()
    copy_without_outputs(NOTEBOOKS, served)
    settings = tmp / "settings"
    for name, value in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port = free_port()
    args = (f"--no-browser --port={port} --IdentityProvider.token={TOKEN} "
            f"--LabApp.user_settings_dir={settings} --LabApp.workspaces_dir={tmp / 'ws'}")
    with running_server(["make", "-s", "course", f"NOTEBOOK_DIR={served}", f"LAB_ARGS={args}"],
                        port, TOKEN, tmp / "lab.log", LAB_START_S, "JupyterLab (make course)",
                        cwd=ROOT) as base:
        yield base


@pytest.fixture(scope="module")
def results():
    """Latencies and chapter timings collected by the tests, written at the end."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):  # no stale screenshots from an earlier run
        old.unlink()
    found = {"latency": {}, "chapters": {}}
    yield found
    summary = {}
    for widget, controls in found["latency"].items():
        every = [ms for samples in controls.values() for ms in samples]
        summary[widget] = {
            "median_ms": round(statistics.median(every), 1), "samples": len(every),
            "controls": {c: round(statistics.median(s), 1) for c, s in controls.items()}}
    (OUT / "latency.json").write_text(json.dumps(summary, indent=2) + "\n")
    (OUT / "chapters.json").write_text(json.dumps(found["chapters"], indent=2) + "\n")


def api(base: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method,
                                 headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
    return json.loads(body) if body else None


def shut_down_kernels(base: str) -> None:
    """One kernel at a time: the next chapter gets both cores."""
    for session in api(base, "/api/sessions"):
        api(base, f"/api/sessions/{session['id']}", "DELETE")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_runs_and_widgets_respond(lab, browser, results, notebook):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.monotonic()
    try:
        Chapter(page, lab, notebook, results).check()
    except BaseException:
        page.screenshot(path=str(OUT / f"{notebook.stem}_failure.png"))
        raise
    finally:
        results["chapters"].setdefault(notebook.stem, {})["total_s"] = round(
            time.monotonic() - start, 1)
        page.close()
        shut_down_kernels(lab)


class Chapter:
    """One notebook in one page: run it all, then work its widgets."""

    def __init__(self, page, base: str, notebook: Path, results: dict):
        self.page, self.base, self.notebook, self.results = page, base, notebook, results
        self.nb = json.loads(notebook.read_text())
        self.kernel_name = self.nb["metadata"]["kernelspec"]["display_name"]
        cells = self.nb["cells"]
        # Empty code cells never get a number: they are not sent to the kernel.
        self.code_cells = [i for i, c in enumerate(cells)
                           if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        self.widget_cells = {i: sum(WIDGET_MIME in o.get("data", {}) for o in c.get("outputs", []))
                             for i, c in enumerate(cells)}
        self.widget_cells = {i: n for i, n in self.widget_cells.items() if n}
        self.stderr_cells = {i for i, c in enumerate(cells) for o in c.get("outputs", [])
                             if o.get("name") == "stderr"}

    def where(self, cell: int) -> str:
        first = "".join(self.nb["cells"][cell]["source"]).strip().splitlines()
        return f"{self.notebook.stem} cell {cell} ({first[0][:60] if first else 'empty'!r})"

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    # --- Running the chapter ---

    def check(self) -> None:
        t = time.monotonic()
        self.page.goto(f"{self.base}/lab/workspaces/{self.notebook.stem}/tree/"
                       f"{self.notebook.name}?reset&token={TOKEN}")
        self.js(PAGE_SCRIPT)
        self.wait_kernel_idle(KERNEL_READY_MS, "the kernel to start")
        self.run_all()
        self.results["chapters"][self.notebook.stem] = {
            "run_all_s": round(time.monotonic() - t, 1)}
        self.check_no_errors()
        for cell, n in self.widget_cells.items():
            for k, root in enumerate(self.rendered_widgets(cell, n)):
                self.exercise(cell, k, root)
        self.check_no_errors()

    def wait_kernel_idle(self, timeout_ms: int, what: str) -> None:
        try:
            self.page.wait_for_function(
                "(name) => window.annotated.kernel(name) === 'Idle'", arg=self.kernel_name,
                timeout=timeout_ms, polling=100)
        except PlaywrightTimeout:
            state = self.js("(name) => window.annotated.kernel(name)", self.kernel_name)
            pytest.fail(f"{self.notebook.stem}: waited {timeout_ms / 1000:.0f} s for {what}; "
                        f"the kernel is {state!r}")

    def run_all(self) -> None:
        """Run > Run All Cells, as a learner would; tried twice if the click did not start it."""
        state_js = "([n, c]) => window.annotated.runState(n, c)"
        args = [self.kernel_name, self.code_cells]
        for attempt in (1, 2):
            self.page.locator(".jp-Notebook .jp-Cell").first.click()  # the notebook has focus
            self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            self.page.locator(".lm-Menu-item[data-command='runmenu:run-all']"
                              ":not(.lm-mod-disabled)").click()
            try:
                self.page.wait_for_function(f"(a) => ({state_js})(a).started", arg=args,
                                            timeout=RUN_ALL_START_MS, polling=100)
                break
            except PlaywrightTimeout:
                self.page.keyboard.press("Escape")
                if attempt == 2:
                    pytest.fail(f"{self.notebook.stem}: Run > Run All Cells started no cell "
                                f"(twice); the kernel is {self.js(state_js, args)['kernel']!r}")
        try:
            self.page.wait_for_function(
                f"(a) => {{ const s = ({state_js})(a); "
                "return s.running.length === 0 && s.kernel === 'Idle'; }",
                arg=args, timeout=RUN_ALL_DONE_MS, polling=500)
        except PlaywrightTimeout:
            state = self.js(state_js, args)
            cell = state["running"][0] if state["running"] else None
            pytest.fail(f"{self.notebook.stem}: Run All not done after "
                        f"{RUN_ALL_DONE_MS / 1000:.0f} s; kernel {state['kernel']!r}, still "
                        f"running {self.where(cell) if cell is not None else 'nothing'}")
        state = self.js(state_js, args)
        if state["unrun"]:
            self.check_no_errors()
            pytest.fail(f"Run All stopped before {self.where(state['unrun'][0])} "
                        f"({len(state['unrun'])} code cells did not run)")

    def check_no_errors(self) -> None:
        """No cell shows a traceback, stderr (unless its stored run had it) or a broken widget."""
        shown = [e for e in self.js("() => window.annotated.errors()")
                 if e["cell"] not in self.stderr_cells or "Traceback" in e["text"]
                 or e["text"] == "Error displaying widget"]
        assert not shown, "\n\n".join(f"{self.where(e['cell'])} shows:\n{e['text']}"
                                      for e in shown)

    # --- Widgets ---

    def rendered_widgets(self, cell: int, n: int) -> list:
        """The cell's top-level widget views, once all `n` the stored run made have rendered."""
        handle = self.page.locator(".jp-Notebook .jp-Cell").nth(cell).element_handle()
        try:
            self.page.wait_for_function(
                "([cell, n]) => window.annotated.widgets(cell).length >= n",
                arg=[handle, n], timeout=WIDGET_RENDER_MS, polling=200)
        except PlaywrightTimeout:
            found = self.js("(cell) => window.annotated.widgets(cell).length", handle)
            pytest.fail(f"{self.where(cell)}: {found} of {n} widgets rendered after "
                        f"{WIDGET_RENDER_MS / 1000:.0f} s")
        roots = handle.evaluate_handle("(cell) => window.annotated.widgets(cell)")
        return [roots.get_property(str(k)).as_element() for k in range(n)]

    def exercise(self, cell: int, k: int, root) -> None:
        """Move every control of one widget MOVES times; each must change the picture."""
        name = f"{self.where(cell)} widget {k + 1}"
        controls = find_controls(root)
        if not controls:
            return  # a display without controls (a progress bar): nothing to move
        root.scroll_into_view_if_needed()
        try:
            self.page.wait_for_function("(r) => window.annotated.picture(r) !== ''", arg=root,
                                        timeout=WIDGET_RENDER_MS, polling=200)
        except PlaywrightTimeout:
            pytest.fail(f"{name} shows no picture or text after {WIDGET_RENDER_MS / 1000:.0f} s")
        shot = OUT / f"{self.notebook.stem}_cell{cell}_widget{k + 1}"
        root.screenshot(path=f"{shot}_start.png")  # what the learner sees first
        latency = self.results["latency"].setdefault(
            f"{self.notebook.stem} cell {cell} widget {k + 1}", {})
        for control in controls:
            latency[control.label] = [self.move(name, root, control) for _ in range(MOVES)]
        root.screenshot(path=f"{shot}_moved.png")  # after every control has moved

    def move(self, name: str, root, control: Control) -> float:
        """Milliseconds from moving `control` to the widget's new picture (one retry)."""
        self.wait_kernel_idle(MOVE_MS, f"the kernel to be idle before moving {control.label!r}")
        for attempt in (1, 2):
            before = root.evaluate("(r) => window.annotated.arm(r)")
            control.move()
            try:
                self.page.wait_for_function("() => window.annotated.probe.t1 !== null",
                                            timeout=MOVE_MS, polling=50)
            except PlaywrightTimeout:
                self.check_no_errors()  # a traceback in the widget says more than a timeout
                if attempt == 1:
                    continue
                now = root.evaluate("(r) => window.annotated.picture(r)")
                pytest.fail(f"{name}: moving {control.kind} {control.label!r} (twice) did not "
                            f"change the picture within {MOVE_MS / 1000:.0f} s each; it "
                            f"{'is unchanged' if now == before else 'changed too late'}")
            p = self.js("() => window.annotated.probe")
            return p["t1"] - (p["t0"] if p["t0"] is not None else p["armed"])
        raise AssertionError("unreachable")


class Control:
    """One thing a learner can move in a widget, moved the way a learner would."""

    def __init__(self, kind: str, locator, label: str):
        self.kind, self.locator, self.label = kind, locator, label

    def move(self) -> None:
        loc = self.locator
        if self.kind == "slider":
            now, top = (loc.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax"))
            loc.focus()
            loc.press("ArrowLeft" if now == top else "ArrowRight")
        elif self.kind == "dropdown":
            n, i = loc.evaluate("(s) => [s.options.length, s.selectedIndex]")
            loc.select_option(index=(i + 1) % n)
        elif self.kind == "toggle buttons":
            loc.query_selector("button:not(.mod-active)").click()
        elif self.kind in ("check box", "button"):
            loc.click()
        elif self.kind == "number box":
            value, top = loc.evaluate("(i) => [Number(i.value), i.max]")
            step = -1 if top != "" and value + 1 > float(top) else 1
            loc.fill(str(int(value) + step))
            loc.press("Enter")
        elif self.kind == "combo box":  # type the next of its suggested values
            options, value = loc.evaluate("(i) => [[...i.list.options].map(o => o.value), i.value]")
            assert options, f"{self.label} suggests no values to type"
            loc.fill(options[(options.index(value) + 1) % len(options)] if value in options
                     else options[0])
            loc.press("Enter")
        else:  # pragma: no cover - find_controls makes only the kinds above
            raise AssertionError(self.kind)


# What kind of control an element is, and its label, in the order the widget shows them.
CONTROLS_JS = """(root) => {
    const kind = (e) => e.matches('.noUi-handle') ? 'slider'
        : e.matches('select') ? 'dropdown'
        : e.matches('.widget-toggle-buttons') ? 'toggle buttons'
        : e.matches('input[type=checkbox]') ? 'check box'
        : e.matches('input[type=number]') ? 'number box'
        : e.matches('input[list]') ? 'combo box'
        : e.matches('input, textarea') ? 'text box'
        : e.matches('button') && !e.closest('.widget-toggle-buttons') ? 'button' : null;
    const clean = (t) => (t || '').replace(/\u200b/g, '').trim();
    const label = (e) => {
        const box = e.closest('.widget-inline-hbox, .widget-toggle-buttons') || e;
        const text = clean((box.querySelector('.widget-label') || {}).textContent)
            || clean(e.textContent) || clean(box.innerText);
        const handles = e.parentElement.parentElement.querySelectorAll('.noUi-handle');
        const end = handles.length < 2 ? ''
            : e.classList.contains('noUi-handle-lower') ? ' (lower)' : ' (upper)';
        return text.slice(0, 40) + end;
    };
    return [...root.querySelectorAll('.noUi-handle, select, .widget-toggle-buttons, input, '
                                     + 'textarea, button')]
        .map((e, i) => ({i, kind: kind(e), label: kind(e) ? label(e) : ''}))
        .filter((c) => c.kind);
}"""
CONTROL_SELECTOR = ".noUi-handle, select, .widget-toggle-buttons, input, textarea, button"


def find_controls(root) -> list[Control]:
    """Every control in a widget view, in the order shown, labelled by its description."""
    elements = root.query_selector_all(CONTROL_SELECTOR)
    controls = []
    for c in root.evaluate(CONTROLS_JS):
        if c["kind"] == "text box":
            pytest.fail(f"a widget has a text box ({c['label']!r}): tests/test_browser.py does "
                        "not know what to type there; add a rule to Control.move")
        controls.append(Control(c["kind"], elements[c["i"]], f"{c['kind']} {c['label']}"))
    return controls

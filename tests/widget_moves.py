"""pytest plugin for nbval: after a notebook's cells, move every control of its widgets.

The root conftest.py loads it whenever nbval runs, whichever kernel runs the notebooks (the
current env's, or Colab's versions in build/colab-env with ANNOTATED_NOTEBOOK_KERNEL=colab).
For each notebook it adds one item, "widgets", that runs in the notebook's own kernel once
every cell has run:

- the widgets are the ones the notebook showed: the widget views in its cells' outputs, each
  an `ipywidgets.interactive` (found by type in the kernel, whatever module made it); one
  with no control at all (tqdm's progress bar) is only shown, and any other fails the item;
- each control of each is moved the way a front end moves it: a comm "update" message to the
  kernel with the new value in its JSON form (a dropdown's index, a slider's number, ...);
- each move must bring a new picture (the PNG, or text where the widget prints instead)
  different from the one before it, and no error.

Nothing here imports the course's widget module: the notebooks decide what is tested.
A JSON summary per notebook goes to build/widget-moves/<notebook>.json (or to the folder
$ANNOTATED_WIDGET_MOVES_OUT names).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from queue import Empty

import pytest

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MOVE_S = 120  # one move to its new picture (a 2-core machine shared with other jobs)
OUT = Path(os.environ.get("ANNOTATED_WIDGET_MOVES_OUT")
           or Path(__file__).resolve().parents[1] / "build" / "widget-moves")

# Runs in the notebook's kernel. _annotated_widgets: the displayed interactive widgets and
# their controls (a widget with no control, such as tqdm's progress bar, is only shown).
# _annotated_next: one other value for a control, from its state now (moving one control
# may move another: chapter 8's typed words set the language), in the JSON form a front end
# sends (the trait's `to_json`).
PROBE = r'''
def _annotated_registry():
    import ipywidgets

    registry = getattr(ipywidgets.widgets.widget, "_instances", None)  # ipywidgets 8
    return ipywidgets.Widget.widgets if registry is None else registry  # ipywidgets 7


def _annotated_widgets(shown):
    import json

    import IPython
    import ipywidgets
    from ipywidgets import interactive

    def controls_in(w):
        kids = getattr(w, "children", ())
        own = [w] if w.has_trait("disabled") else []
        return own + [c for k in kids for c in controls_in(k)]

    registry = _annotated_registry()
    found, only_shown, problems = [], [], []
    for model_id in shown:
        w = registry.get(model_id)
        if isinstance(w, interactive):
            found.append({"model_id": model_id,
                          "controls": [{"model_id": c.model_id, "kind": type(c).__name__,
                                        "label": c.description} for c in w.kwargs_widgets]})
        elif w is not None and not controls_in(w):
            only_shown.append(type(w).__name__)
        else:
            problems.append(f"widget {model_id} is a {type(w).__name__} with controls, not an "
                            "ipywidgets.interactive: teach tests/widget_moves.py to move it")
    print(json.dumps({"widgets": found, "only_shown": only_shown, "problems": problems,
                      "versions": {"ipywidgets": ipywidgets.__version__,
                                   "IPython": IPython.__version__}}))


def _annotated_next(model_id):
    import json
    import math

    c = _annotated_registry()[model_id]
    name = type(c).__name__
    move = None
    if hasattr(c, "index") and hasattr(c, "options"):  # Dropdown, ToggleButtons, ...
        if len(c.options) > 1:
            move = "index", (c.index + 1) % len(c.options)
    elif name == "Combobox":
        options = list(c.options)
        if options:
            move = "value", options[(options.index(c.value) + 1) % len(options)
                                    if c.value in options else 0]
    elif isinstance(c.value, bool):
        move = "value", not c.value
    elif name == "FloatLogSlider":
        e = math.log(c.value, c.base)
        move = "value", c.base ** (e + c.step if e + c.step <= c.max else e - c.step)
    elif isinstance(c.value, tuple) and hasattr(c, "step"):  # range sliders
        lo, hi = c.value
        move = "value", ((lo + c.step, hi) if lo + c.step < hi
                         else (lo, hi + c.step) if hi + c.step <= c.max else (lo - c.step, hi))
    elif isinstance(c.value, (int, float)) and hasattr(c, "max"):
        step = c.step or 1
        move = "value", c.value + step if c.value + step <= c.max else c.value - step
    if move is None:
        print(json.dumps({"problem": f"{name} {c.description!r}: no other value to move it "
                                     "to (teach tests/widget_moves.py this control)"}))
        return
    trait, value = move
    to_json = c.trait_metadata(trait, "to_json", c._trait_to_json)
    print(json.dumps({"state": {trait: to_json(value, c)}, "value": repr(value)}))
'''


def pytest_collection_modifyitems(session, config, items):
    """One "widgets" item after the last cell of each notebook, in the same kernel."""
    last = {}
    for i, item in enumerate(items):
        if type(item).__name__ == "IPyNbCell":
            last[item.parent] = i
    for nbfile, i in sorted(last.items(), key=lambda kv: -kv[1]):
        items.insert(i + 1, WidgetMoves.from_parent(nbfile, name="widgets"))


class WidgetMoves(pytest.Item):
    def runtest(self):
        kernel = self.parent.kernel
        if kernel is None or not kernel.is_alive():
            pytest.fail("the notebook's kernel is not running: its cells failed first")
        cells = [it for it in self.session.items
                 if it.parent is self.parent and type(it).__name__ == "IPyNbCell"]
        shown, initial = [], {}
        for cell in cells:
            outs = cell.test_outputs or []
            views = [o["data"][WIDGET_VIEW]["model_id"] for o in outs
                     if WIDGET_VIEW in o.get("data", {})]
            shown += views
            for v in views:
                initial[v] = picture(outs)
        found = ask(kernel, PROBE + f"\n_annotated_widgets({shown!r})")
        expected = getattr(self.config, "_annotated_kernel_versions", None)
        if expected:  # the run asked for a kernel with these versions: check it has them
            assert found["versions"] == expected, (
                f"the notebook's kernel has {found['versions']}, not {expected}: rebuild it "
                "with `make colab-env`")
        assert not found["problems"], "\n".join(found["problems"])
        start = time.perf_counter()
        rows = []
        for n, widget in enumerate(found["widgets"]):
            before = initial[widget["model_id"]]
            for control in widget["controls"]:
                t0 = time.perf_counter()
                target = ask(kernel, f"_annotated_next({control['model_id']!r})")
                assert "problem" not in target, target.get("problem")
                now = move(kernel, control["model_id"], target["state"])
                where = (f"widget {n + 1} of {len(found['widgets'])}, {control['kind']} "
                         f"{control['label']!r} moved to {target['value']}")
                assert now, f"{where}: no picture came out"
                assert now != before, f"{where}: the picture did not change"
                before = now
                rows.append({"widget": n, "control": control["label"], "kind": control["kind"],
                             "to": target["value"], "ms": 1000 * (time.perf_counter() - t0)})
        ask(kernel, "del _annotated_registry, _annotated_widgets, _annotated_next\n"
                    "print('{}')")
        self.summary = {**found["versions"], "widgets": len(found["widgets"]),
                        "only_shown": found["only_shown"], "moves": rows,
                        "seconds": time.perf_counter() - start}
        write_summary(self)

    def reportinfo(self):
        return self.path, 0, f"{self.parent.name}::widgets"


def write_summary(item) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{Path(item.parent.name).stem}.json").write_text(json.dumps(item.summary, indent=1))


def picture(outputs) -> str:
    """What a widget shows: a digest of its PNGs, else its text (a widget may print)."""
    parts = []
    for o in outputs:
        data = o.get("data", {})
        if "image/png" in data:
            parts.append("png:" + hashlib.sha256(data["image/png"].encode()).hexdigest())
        elif "text/html" in data and WIDGET_VIEW not in data:
            parts.append(data["text/html"])
        elif o.get("output_type") == "stream" and o.get("name") == "stdout":
            parts.append(o["text"])
    return "\n".join(parts).strip()


def collect(kernel, msg_id: str, timeout: float) -> list[dict]:
    """The iopub messages answering request `msg_id`, up to its idle status."""
    deadline = time.monotonic() + timeout
    got = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"the kernel did not finish within {timeout:.0f} s")
        try:
            msg = kernel.get_message(stream="iopub", timeout=min(left, 1.0))
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return got
        got.append(msg)


def outputs(messages) -> list[dict]:
    """Outputs as nbformat has them; an error (a traceback) fails the move."""
    outs = []
    for msg in messages:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "error":
            pytest.fail(f"{content['ename']}: {content['evalue']}\n"
                        + "\n".join(content.get("traceback", [])))
        if kind in ("display_data", "execute_result"):
            outs.append({"output_type": kind, "data": content["data"]})
        elif kind == "stream":
            outs.append({"output_type": "stream", "name": content["name"],
                         "text": content["text"]})
    return outs


def ask(kernel, code: str) -> dict:
    """Run `code` in the kernel; the JSON it printed last."""
    msg_id = kernel.kc.execute(code, store_history=False, allow_stdin=False)
    text = "".join(o["text"] for o in outputs(collect(kernel, msg_id, 60))
                   if o["output_type"] == "stream" and o["name"] == "stdout")
    kernel.await_reply(msg_id, timeout=60)
    return json.loads(text.strip().splitlines()[-1])


def move(kernel, model_id: str, state: dict) -> str:
    """Send a front end's update of one control; the picture the kernel shows after it."""
    kc = kernel.kc
    content = {"comm_id": model_id,
               "data": {"method": "update", "state": state, "buffer_paths": []}}
    msg = kc.session.msg("comm_msg", content)
    kc.shell_channel.send(msg)
    return picture(outputs(collect(kernel, msg["header"]["msg_id"], MOVE_S)))

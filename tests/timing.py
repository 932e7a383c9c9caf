"""Measure how long a widget takes to redraw when one of its controls moves."""

import statistics
import time

import matplotlib.pyplot as plt


def update_seconds(w, control: int, values) -> float:
    """Median seconds per update of `w` (an ipywidgets.interactive) over `values`."""
    times = []
    for value in values:
        start = time.perf_counter()
        w.children[control].value = value
        w.result.canvas.draw()  # what the inline backend does before showing it
        times.append(time.perf_counter() - start)
    plt.close("all")
    return statistics.median(times)

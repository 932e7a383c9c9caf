"""Interactive figures for the notebooks: core ipywidgets around a plain drawing function.

Each chapter's widget is a `draw_*` function (arguments in, Figure out: tested without a
browser) wrapped by `interactive_figure`, which adds the sliders and dropdowns.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

STYLE = {"description_width": "initial"}


def interactive_figure(draw: Callable[..., Figure], **controls) -> widgets.interactive:
    """An `ipywidgets.interactive` that redraws `draw(**values)` when a control moves.

    `.result` holds the last Figure, so tests can set `w.children[i].value` and inspect it.
    """

    def update(**values) -> Figure:
        plt.close("all")  # one live figure: an update never piles up old ones
        # ipywidgets shows (and closes) inline figures itself after each call.
        return draw(**values)

    for control in controls.values():
        if isinstance(control, widgets.Widget) and hasattr(control, "style"):
            control.style = STYLE
    return widgets.interactive(update, **controls)

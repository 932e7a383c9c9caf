"""Show the real source of a package object inside a notebook."""

from __future__ import annotations

import inspect
import textwrap


class Source:
    """Source code that renders highlighted in Jupyter and as plain text elsewhere."""

    def __init__(self, code: str, name: str):
        self.code = code
        self.name = name

    def __repr__(self) -> str:
        return self.code.rstrip("\n")

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        formatter = HtmlFormatter(noclasses=True, style="default")
        return highlight(self.code, PythonLexer(), formatter)


def source(obj: object) -> Source:
    """The source of a function, class or module from `annotated`, as a Source object."""
    try:
        code = inspect.getsource(obj)
    except (TypeError, OSError) as e:
        raise TypeError(
            f"cannot show {obj!r}: pass a function, class or module defined in Python source"
        ) from e
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
    return Source(textwrap.dedent(code), name)


def show(obj: object) -> None:
    """Display the source of `obj`: highlighted in a notebook, plain text in a terminal."""
    src = source(obj)
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display(src)
    else:
        print(src)

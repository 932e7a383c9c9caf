"""'Your turn' exercises, graded by the package: `check_*(your_function)` returns a Result.

An attempt that is not written yet (a body of `...`, `pass` or `raise NotImplementedError`)
gets a hint of what to do; a wrong one gets a hint about the likely mistake. Never a traceback.
"""

from .grading import Mistake, Result, check_function

__all__ = ["Mistake", "Result", "check_function"]

# --- Chapter 1 ---
from .ch01 import check_embed, check_nearest  # noqa: E402

__all__ += ["check_embed", "check_nearest"]

# --- Chapter 2 ---
from .ch02 import check_positional_encoding  # noqa: E402

__all__ += ["check_positional_encoding"]

# --- Chapter 3 ---
from .ch03 import check_attention  # noqa: E402

__all__ += ["check_attention"]

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


# --- Chapter 4 ---
from .ch04 import check_merge_heads, check_split_heads  # noqa: E402

__all__ += ["check_merge_heads", "check_split_heads"]

# --- Chapter 5 ---
from .ch05 import check_causal_mask, check_masked_softmax  # noqa: E402

__all__ += ["check_causal_mask", "check_masked_softmax"]

# --- Chapter 6 ---
from .ch06 import check_post_norm, check_untied_parameters  # noqa: E402

__all__ += ["check_untied_parameters", "check_post_norm"]

# --- Chapter 0 ---
from .ch00 import check_align, check_data_flow  # noqa: E402

__all__ += ["check_align", "check_data_flow"]


# --- Chapter 7 ---
from .ch07 import check_factor_for_peak, check_rate, check_smoothed_targets  # noqa: E402

__all__ += ["check_factor_for_peak", "check_rate", "check_smoothed_targets"]


# --- Chapter 8 ---
from .ch08 import check_exact_match, check_greedy_step, check_length_penalty  # noqa: E402

__all__ += ["check_exact_match", "check_greedy_step", "check_length_penalty"]


# --- Chapter 9 ---
from .ch09 import check_detokenize, check_padding_share  # noqa: E402

__all__ += ["check_detokenize", "check_padding_share"]

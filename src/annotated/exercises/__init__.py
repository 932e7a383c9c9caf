"""'Your turn' exercises, graded by the package: `check_*(your_function)` returns a Result.

An attempt that is not written yet (a body of `...`, `pass` or `raise NotImplementedError`)
gets a hint of what to do; a wrong one gets a hint about the likely mistake. Never a traceback.
One module per chapter: `a1` (the PyTorch primer), then `ch00` ... `ch09`.
"""

from .a1 import check_broadcast, check_largest_rate, check_linear
from .ch00 import check_align, check_data_flow
from .ch01 import check_nearest, check_scale_prediction
from .ch02 import check_look_ahead, check_positional_encoding, check_wavelength
from .ch03 import check_attention
from .ch04 import check_merge_heads, check_split_heads
from .ch05 import check_causal_mask, check_masked_softmax
from .ch06 import check_attention_bound, check_post_norm, check_untied_parameters
from .ch07 import check_factor_for_peak, check_rate, check_smoothed_targets
from .ch08 import check_exact_match, check_greedy_step, check_length_penalty
from .ch09 import check_detokenize, check_padding_share
from .grading import Mistake, Result, check_function

__all__ = [
    "Mistake", "Result", "check_function",
    "check_broadcast", "check_largest_rate", "check_linear",  # the PyTorch primer
    "check_align", "check_data_flow",  # chapter 0
    "check_nearest", "check_scale_prediction",  # 1
    "check_look_ahead", "check_positional_encoding", "check_wavelength",  # 2
    "check_attention",  # 3
    "check_merge_heads", "check_split_heads",  # 4
    "check_causal_mask", "check_masked_softmax",  # 5
    "check_attention_bound", "check_post_norm", "check_untied_parameters",  # 6
    "check_factor_for_peak", "check_rate", "check_smoothed_targets",  # 7
    "check_exact_match", "check_greedy_step", "check_length_penalty",  # 8
    "check_detokenize", "check_padding_share",  # 9
]

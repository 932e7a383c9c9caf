"""'Your turn' exercises, graded by the package: `check_*(your_function)` returns a Result.

An attempt that is not written yet (a body of `...`, `pass` or `raise NotImplementedError`)
gets a hint of what to do; a wrong one gets a hint about the likely mistake. Never a traceback.
One module per chapter: `a1` (the PyTorch primer), then `ch00` ... `ch10`.
"""

from .a1 import check_broadcast, check_largest_rate, check_linear
from .ch00 import check_align, check_data_flow, check_reading
from .ch01 import check_nearest, check_scale_prediction
from .ch02 import (
    check_look_ahead,
    check_positional_encoding,
    check_small_base,
    check_wavelength,
)
from .ch03 import check_attention, check_query_design, check_unscaled_peak
from .ch04 import (
    check_cost_prediction,
    check_merge_heads,
    check_reading_head,
    check_split_heads,
)
from .ch05 import check_causal_mask, check_fixed_mask, check_masked_softmax, check_zero_rows
from .ch06 import check_attention_bound, check_norm_prediction, check_untied_parameters
from .ch07 import check_no_mask_prediction, check_no_warmup_prediction
from .ch08 import (
    check_aligning_head,
    check_beam_prediction,
    check_mistake_explanation,
    check_offset_prediction,
)
from .ch09 import (
    check_fewest_pads,
    check_half_bleu,
    check_mosos_explanation,
    check_next_merge,
    check_pool_reason,
)
from .ch10 import (
    check_biggest_switch,
    check_llama_cache,
    check_rope,
    check_sines_plus_rope,
)
from .grading import Mistake, Result, check_function

__all__ = [
    "Mistake", "Result", "check_function",
    "check_broadcast", "check_largest_rate", "check_linear",  # the PyTorch primer
    "check_align", "check_data_flow", "check_reading",  # chapter 0
    "check_nearest", "check_scale_prediction",  # 1
    "check_look_ahead", "check_positional_encoding", "check_small_base",  # 2
    "check_wavelength",  # 2
    "check_attention", "check_query_design", "check_unscaled_peak",  # 3
    "check_cost_prediction", "check_merge_heads", "check_reading_head",  # 4
    "check_split_heads",
    "check_causal_mask", "check_fixed_mask", "check_masked_softmax", "check_zero_rows",  # 5
    "check_attention_bound", "check_norm_prediction", "check_untied_parameters",  # 6
    "check_no_mask_prediction", "check_no_warmup_prediction",  # 7
    "check_offset_prediction", "check_beam_prediction", "check_mistake_explanation",  # 8
    "check_aligning_head",
    "check_next_merge", "check_fewest_pads", "check_pool_reason", "check_half_bleu",
    "check_mosos_explanation",  # 9
    "check_biggest_switch", "check_llama_cache", "check_rope", "check_sines_plus_rope",  # 10
]

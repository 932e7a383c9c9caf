"""Chapter 0: worked solutions of 'Your turn'."""

from __future__ import annotations


def align(weights, source):
    """For each row (one written token), the source token with the largest weight."""
    best = weights.argmax(dim=-1)  # (T,): one column index per row
    return [source[j] for j in best.tolist()]


def data_flow(B, S, T, D, V):
    """The shape at each arrow: ids become D-wide vectors, the decoder keeps the target
    length T, and the generator swaps D for V. If V doubles, only log_probs changes; if S
    grows, src, src_vectors and memory change, and nothing on the target side does."""
    return {"src": (B, S), "src_vectors": (B, S, D), "memory": (B, S, D),
            "tgt": (B, T), "tgt_vectors": (B, T, D), "decoder_out": (B, T, D),
            "log_probs": (B, T, V)}


# German crosses (the ones come first); Japanese keeps the order, and the tens word is
# decided by the digit 二, not by 十, which every two-digit number shares.
READING = {"einundzwanzig": {"twenty": "zwanzig", "one": "ein"},
           "二十一": {"twenty": "二", "one": "一"}}

SOLUTIONS = {"check_align": align, "check_data_flow": data_flow, "check_reading": READING}

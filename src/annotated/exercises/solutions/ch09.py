"""Chapter 9's solutions: detokenize, the batches with the least padding, half a sentence's BLEU."""

from __future__ import annotations


def detokenize(pieces):
    """Glue the pieces, turn each '▁' into a space, drop the space before the first word."""
    return "".join(pieces).replace("\u2581", " ").strip()


def fewest_pads(lengths, batch_size):
    """Indices sorted by length, cut into consecutive batches: neighbours have similar lengths."""
    by_length = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [by_length[k : k + batch_size] for k in range(0, len(by_length), batch_size)]


SOLUTIONS = {
    "check_detokenize": detokenize,
    "check_fewest_pads": fewest_pads,
    # precision 1 for every n-gram; brevity penalty exp(1 - 2) = 0.368
    "check_half_bleu": 37,
}

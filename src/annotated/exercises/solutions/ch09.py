"""Chapter 9's solutions: the next BPE merge, the batches with the least padding and why
training does not use them, half a sentence's BLEU, the 'Mosososos' mistake."""

from __future__ import annotations


def fewest_pads(lengths, batch_size):
    """Indices sorted by length, cut into consecutive batches: neighbours have similar lengths."""
    by_length = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [by_length[k : k + batch_size] for k in range(0, len(by_length), batch_size)]


SOLUTIONS = {
    # Tasche (4 times) gives its pairs the highest count; '▁' + 'T' is found first
    "check_next_merge": "b",
    "check_fewest_pads": fewest_pads,
    # sorted once, the order of the batches would be the same every epoch, short to long
    "check_pool_reason": "b",
    # precision 1 for every n-gram; brevity penalty exp(1 - 2) = 0.368
    "check_half_bleu": 37,
    # four rare pieces; the model copies '▁M', then keeps attending to 'ag' and writing 'os'
    "check_mosos_explanation": "b",
}

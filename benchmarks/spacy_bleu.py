"""BLEU as from-scratch Multi30k notebooks report it: torchtext's bleu_score, spaCy tokens.

torchtext's `bleu_score` (removed from torchtext since) is corpus BLEU over 1- to 4-grams
with uniform weights, clipped counts, the brevity penalty and no smoothing. Those notebooks
feed it lower-cased spaCy tokens; spaCy's English tokenizer needs no model download
(`spacy.blank("en")`). spaCy is not a dependency of the course: install it to run this.

    python -m annotated evaluate runs/multi30k/checkpoint.pt --beam 5 --output runs/multi30k/test
    python benchmarks/spacy_bleu.py runs/multi30k/test.ref.en runs/multi30k/test.greedy.en \\
        runs/multi30k/test.beam5.en
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Sequence


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """The n-grams of a token list, counted."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu_score(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU (0-100) of token lists, one reference each, as torchtext computed it."""
    matches, totals, hyp_len, ref_len = [0] * 4, [0] * 4, 0, 0
    for h, r in zip(hyps, refs, strict=True):
        hyp_len, ref_len = hyp_len + len(h), ref_len + len(r)
        for n in range(1, 5):
            h_n, r_n = ngrams(h, n), ngrams(r, n)
            matches[n - 1] += sum(min(c, r_n[g]) for g, c in h_n.items())
            totals[n - 1] += max(len(h) - n + 1, 0)
    if min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / 4
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity * math.exp(log_precision)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("refs", help="references, one sentence a line")
    p.add_argument("hyps", nargs="+", help="translations, one sentence a line")
    args = p.parse_args(argv)
    try:
        import spacy
    except ImportError:
        raise SystemExit("this needs spaCy (pip install spacy); the course does not") from None
    tokenizer = spacy.blank("en").tokenizer

    def tokens(path: str) -> list[list[str]]:
        with open(path, encoding="utf-8") as f:
            return [[t.text.lower() for t in tokenizer(line.strip())] for line in f]

    refs = tokens(args.refs)
    for path in args.hyps:
        print(f"{path}: BLEU {bleu_score(tokens(path), refs):.2f} "
              "(torchtext bleu_score, lower-cased spaCy tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

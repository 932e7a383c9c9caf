"""Chapter 0 exercises: predict where the model reads; read an alignment off cross-attention;
the data flow in shapes."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .grading import Mistake, Result, call_attempt, check_function

FLOW = ("src", "src_vectors", "memory", "tgt", "tgt_vectors", "decoder_out", "log_probs")

# Why each shape is what it is: the hint for a wrong entry, without giving the tuple away.
WHY = {
    "src": "the source is a batch of token ids: one row per sentence, one id per source token.",
    "src_vectors": "the embedding turns each source id into a vector of width d_model.",
    "memory": "the encoder keeps one vector of width d_model per SOURCE token; it never "
              "changes the length or the width.",
    "tgt": "the target is a batch of token ids too, with the TARGET length.",
    "tgt_vectors": "each target id becomes a vector of width d_model.",
    "decoder_out": "the decoder gives one vector per TARGET position (its queries come from "
                   "the target), even though it read the source through cross-attention.",
    "log_probs": "the generator scores every word of the vocabulary at each target position.",
}


def data_flow(B: int, S: int, T: int, D: int, V: int) -> dict[str, tuple[int, ...]]:
    """The reference answer: the shape at each arrow of the architecture figure."""
    return {"src": (B, S), "src_vectors": (B, S, D), "memory": (B, S, D), "tgt": (B, T),
            "tgt_vectors": (B, T, D), "decoder_out": (B, T, D), "log_probs": (B, T, V)}


def check_data_flow(attempt: Callable) -> Result:
    """Grade `data_flow(B, S, T, D, V)`: a dict from each stage in FLOW to its shape tuple."""
    todo = (f"Return a dict with the keys {', '.join(FLOW)}, each mapped to a tuple of the "
            "size variables, e.g. 'src': (B, S). Read the shapes off the architecture figure.")
    # Distinct sizes, so a swapped letter is caught: B=2, S=5, T=7, D=16, V=11.
    sizes = (2, 5, 7, 16, 11)
    out = call_attempt(attempt, sizes, todo)
    if isinstance(out, Result):
        return out
    if not isinstance(out, dict):
        return Result(False, f"Not yet: it returned a {type(out).__name__}, not a dict. {todo}")
    missing = [k for k in FLOW if k not in out]
    if missing:
        return Result(False, f"Not yet: the dict has no {', '.join(map(repr, missing))}. {todo}")
    expected = data_flow(*sizes)
    for key in FLOW:
        got = out[key]
        if isinstance(got, torch.Size | list):
            got = tuple(got)
        if isinstance(got, tuple) and any(isinstance(x, str) for x in got):
            return Result(False, f"Not yet: {key!r} holds strings {got!r}. Use the function's "
                                 "arguments B, S, T, D, V (numbers), not the letters in quotes.")
        if got != expected[key]:
            return Result(False, f"Not yet: {key!r} is wrong ({len(expected[key])} numbers "
                                 f"expected). Hint: {WHY[key]}")
    return Result(True, "Correct! Only three things change along the way: ids become D-wide "
                        "vectors, the decoder swaps the source length S for the target "
                        "length T, and the generator swaps D for V.")


def align(weights: torch.Tensor, source: list[str]) -> list[str]:
    """The reference answer: for each query row, the source token with the largest weight."""
    return [source[i] for i in weights.argmax(dim=-1).tolist()]


def _cases_align() -> list[tuple]:
    g = torch.Generator().manual_seed(0)
    cases = []
    # T < S: the wrong axis (dim=0) gives S answers instead of T, and never an IndexError.
    for T, S in ((3, 4), (5, 6), (2, 6)):
        w = torch.rand(T, S, generator=g).softmax(dim=-1)  # (T, S), rows sum to 1
        cases.append((w, [f"tok{j}" for j in range(S)]))
    return cases


def check_align(attempt: Callable) -> Result:
    """Grade `align(weights, source)`: weights (T, S) -> the most-read source token per row."""
    if callable(attempt):
        given = attempt

        def attempt(w, s):  # a tuple of tokens is as good as a list
            out = given(w, s)
            return list(out) if isinstance(out, tuple) else out

    return check_function(
        attempt, align, _cases_align(),
        todo="Each row of weights is one written word's attention over the S source tokens, "
             "and a word looked hardest where its row is largest. Return one source token "
             "per written word: a list of T strings.",
        mistakes=[
            Mistake(lambda w, s: [s[i] for i in w.argmax(dim=0).tolist()],
                    "you took the argmax down each column (dim=0): that asks which written "
                    "word each source token is read most by. Take it along each row "
                    "(dim=-1): one answer per written word."),
            Mistake(lambda w, s: w.argmax(dim=-1).tolist(),
                    "you returned positions (numbers). Look each one up in `source` to "
                    "return the tokens themselves."),
            Mistake(lambda w, s: w.argmax(dim=-1),
                    "you returned a tensor of positions. Look each position up in `source` "
                    "(turn the tensor into a list with .tolist() first) and return the tokens."),
            Mistake(lambda w, s: w.max(dim=-1).values,
                    "you returned the largest weights themselves. We want WHERE the largest "
                    "weight is: argmax gives its position; then look that position up in "
                    "`source`."),
            Mistake(lambda w, s: [s[i] for i in w.argmin(dim=-1).tolist()],
                    "you picked the smallest weight of each row: that is the token the word "
                    "ignores most. Use argmax."),
        ],
        success="Correct! That is how the demo's heatmap was read: each English word's "
                "strongest German morpheme.",
    )


# What the shipped translator's last layer reads hardest (heads averaged) while it writes
# 'twenty' and 'one' for 21; tests/test_chapter_00.py checks it against the model.
READING = {"einundzwanzig": {"twenty": "zwanzig", "one": "ein"},
           "二十一": {"twenty": "二", "one": "一"}}
SOURCE_TOKENS = {"einundzwanzig": ["ein", "und", "zwanzig"], "二十一": ["二", "十", "一"]}


def check_reading(prediction: dict) -> Result:
    """Grade a prediction {source text: {"twenty": token, "one": token}} for 21 in German
    and Japanese: which source token the last layer's cross-attention weighs most."""
    todo = ("For each source, name the source token you expect the model to look at hardest "
            "while it writes 'twenty', and while it writes 'one'.")
    if not isinstance(prediction, dict) or set(prediction) != set(READING):
        return Result(False, f"Keep the dict's two keys, {' and '.join(READING)}. {todo}")
    for text, words in prediction.items():
        if not isinstance(words, dict) or set(words) != {"twenty", "one"}:
            return Result(False, f"{text!r} needs a dict with the keys 'twenty' and 'one'.")
        if any(v is ... or v is None for v in words.values()):
            return Result(False, f"Not attempted yet. {todo} Commit to a guess before you "
                                 "run the next cell: a wrong guess teaches more.")
        for token in words.values():
            if token not in SOURCE_TOKENS[text]:
                return Result(False, f"Not yet: {token!r} is not a token of {text!r}; the "
                                     f"model reads {SOURCE_TOKENS[text]}.")
    de, ja = prediction["einundzwanzig"], prediction["二十一"]
    if de != READING["einundzwanzig"]:
        if de == {"twenty": "ein", "one": "und"} or de["twenty"] == "ein":
            return Result(False, "Not yet, German: you paired the words in reading order. "
                                 "German says the ones first, 'one-and-twenty'. Remember "
                                 "where 'fifty' and 'four' looked in the 354,782 heatmap.")
        if "und" in de.values():
            return Result(False, "Not yet, German: 'und' only joins the parts; it says "
                                 "neither 'twenty' nor 'one'. Which German piece carries "
                                 "each meaning?")
        return Result(False, "Not yet, German: think about which German piece means 'one' "
                             "and which means 'twenty'.")
    if ja != READING["二十一"]:
        if ja["twenty"] == "十":
            return Result(False, "Not yet, Japanese: a natural guess, since 十 means ten. But "
                                 "十 is in every number from 10 to 99: it cannot tell twenty "
                                 "from thirty. Which token can?")
        return Result(False, "Not yet, Japanese: 二十一 is two, ten, one. Which token "
                             "decides that the tens word is 'twenty', and which one is "
                             "'one'?")
    return Result(True, "Correct! In German the path crosses, as in 354,782; in Japanese it "
                        "follows the order, and 'twenty' reads 二, the digit that makes it "
                        "twenty rather than thirty. Run the next cell to see the weights.")

"""Chapter 7 exercises: two break-it predictions (the causal mask off, the warm-up's ramp
dropped at the same peak).

The chapter asks the two predictions; its hints sit in the notebook, one tier at a time, so
a grader's not-attempted message gives none."""

from __future__ import annotations

from .grading import Result

# --- Break it: predict what one broken part does to a tiny copy model ---

CHOICES = ("lower", "same", "higher")
BREAK_KEYS = ("loss", "exact match")


def _grade_break_it(prediction: object, answer: tuple[str, str], hints: tuple[str, str],
                    success: str) -> Result:
    """Grade a break-it prediction {"loss": word, "exact match": word} against `answer`;
    `hints` are for a wrong loss and a wrong exact match, in that order."""
    todo = ("Fill in 'loss' (the training loss) and 'exact match' (held-out, greedy) with "
            "lower, same or higher, compared with the baseline.")
    if not isinstance(prediction, dict) or set(prediction) != set(BREAK_KEYS):
        return Result(False, f"Keep the dict's two keys, 'loss' and 'exact match'. {todo}")
    words = tuple(prediction[k] for k in BREAK_KEYS)
    if any(w is ... or w is None for w in words):
        return Result(False, f"Not attempted yet. {todo} Commit to a guess before you open "
                             "the hints or run the experiments: a wrong guess teaches more.")
    bad = [w for w in words if w not in CHOICES]
    if bad:
        return Result(False, f"Not yet: {bad[0]!r} is not one of {', '.join(CHOICES)}.")
    for key, word, right, hint in zip(BREAK_KEYS, words, answer, hints, strict=True):
        if word != right:
            return Result(False, f"Not yet ({key}): {hint}")
    return Result(True, success)


def check_no_mask_prediction(prediction: dict) -> Result:
    """Grade {"loss": ..., "exact match": ...}: the copy model trained without the causal
    mask, against the same model trained with it ("lower", "same" or "higher")."""
    return _grade_break_it(
        prediction, ("lower", "lower"),
        hints=("tgt is tgt_y shifted by one, so the word after position t in tgt is exactly "
               "what t must predict. Is reading an answer harder or easier than working it "
               "out from the source?",
               "the model learned to read the next input word. Greedy decoding writes that "
               "word itself, so at each pass the next word is not there yet. What can it "
               "copy then?"),
        success="Correct! Without the mask each position reads its answer one step to the "
                "right, so the training loss falls lower; nothing forces it to look at the "
                "source. Decoding never shows it the next word, so what it learned is useless "
                "there. The runs at the end of this section show both.")


def check_no_warmup_prediction(prediction: dict) -> Result:
    """Grade {"loss": ..., "exact match": ...}: the copy model whose rate starts at the peak and
    holds it for the warm-up steps (`ramp=False`), against the ramp to the same peak."""
    return _grade_break_it(
        prediction, ("higher", "lower"),
        hints=("the two runs differ only in their first 50 steps. With the ramp, step 1 uses "
               "1/50 of the peak; without it, every one of those steps moves each weight by "
               "about the full peak rate, while Adam's averages rest on a few batches. Can "
               "the later steps always undo that?",
               "exact match counts a sequence only when every symbol is right. If the loss "
               "stays well above the baseline's, how many whole sequences can be right?"),
        success="Correct! The runs differ only in their first 50 steps, and the one without "
                "the ramp does not recover within 150 steps. Liu et al. explain warm-up by "
                "Adam's averages resting on a few batches early on; here the flat start also "
                "moves twice as far in those steps, so this run fits their story without "
                "proving it. The runs at the end of this section show it for two seeds.")

"""Chapter 8 exercises: one greedy step without a cache, what the cache needs (a prediction),
and why the shipped model gets some numbers wrong (an interpretation)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from ..data import pad_sequences
from ..decoding import next_log_probs
from ..masks import padding_mask, subsequent_mask
from ..model import make_model
from ..pretrained import load
from .grading import Mistake, Result, check_function, grade_choice


@functools.cache
def _greedy_cases() -> list[tuple]:
    with torch.random.fork_rng(devices=[]):  # building a model draws random numbers:
        numbers = load("numbers")  # leave the learner's own sequence alone
    model, sv, tv = numbers.model, numbers.src_vocab, numbers.tgt_vocab
    sources = [numbers.task.source_tokens(t) for t in
               ("dreihundertfünfundvierzigtausendsechshundertachtundsiebzig",
                "三十四万五千六百七十八", "einundzwanzig")]
    src = pad_sequences([sv.encode(s) for s in sources], sv.pad)  # (B, S)
    src_mask = padding_mask(src, sv.pad)  # (B, 1, S)
    with torch.no_grad():
        memory = model.encode(src, src_mask)  # (B, S, D)
    start = torch.full((3, 1), tv.bos, dtype=torch.long)  # (B, 1)
    prefix = torch.tensor([tv.encode("three hundred and".split(), bos=True)] * 3)  # (B, 4)
    # A random model reading an odd prefix: there, forgetting the causal mask shows.
    # (With seed 4, 2 of its 16 rows differ; with the trained model none do.)
    g = torch.Generator().manual_seed(4)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        toy = make_model(9, 9, N=3, d_model=16, d_ff=32, h=2, dropout=0.0).eval()
    toy_src = torch.randint(1, 9, (16, 5), generator=g)  # (B, S)
    with torch.no_grad():
        toy_memory = toy.encode(toy_src, None)  # (B, S, D)
    toy_ys = torch.randint(1, 9, (16, 6), generator=g)  # (B, T)
    return [(model, memory, src_mask, start), (model, memory, src_mask, prefix),
            (toy, toy_memory, None, toy_ys)]


@torch.no_grad()
def greedy_step(model, memory: torch.Tensor, src_mask: torch.Tensor | None,
                ys: torch.Tensor) -> torch.Tensor:
    """The reference answer: ys (B, T) with the most likely next token appended, (B, T + 1)."""
    next_word = next_log_probs(model, memory, src_mask, ys, None).argmax(dim=-1)  # (B,)
    return torch.cat([ys, next_word.unsqueeze(1)], dim=1)  # (B, T + 1)


@torch.no_grad()
def _step_from(model, memory, src_mask, ys, position: int = -1, causal: bool = True,
               append: bool = True) -> torch.Tensor:
    """Wrong versions of greedy_step, for the hints."""
    mask = subsequent_mask(ys.size(1)) if causal else None
    out = model.decode(memory, src_mask, ys, mask)  # (B, T, D)
    next_word = model.generator(out[:, position]).argmax(dim=-1)  # (B,)
    return torch.cat([ys, next_word.unsqueeze(1)], dim=1) if append else next_word


def check_greedy_step(attempt: Callable) -> Result:
    """Grade `greedy_step(model, memory, src_mask, ys)` -> ys with one more token, (B, T + 1)."""
    return check_function(
        attempt, greedy_step, _greedy_cases(),
        todo="Hint 1: without a cache, each step shows the decoder the whole prefix again, "
             "under the same mask as in training, and only the last position's output "
             "predicts the next word. Hint 2: the tools are model.decode, subsequent_mask "
             "(chapter 5), model.generator and an argmax; torch.cat joins the new column to "
             "ys. Return (B, T + 1).",
        mistakes=[
            Mistake(functools.partial(_step_from, position=0),
                    "you used the first position's output, out[:, 0], which predicts the "
                    "word after <s> every time. The next word comes from the last position."),
            Mistake(functools.partial(_step_from, causal=False),
                    "without the causal mask (subsequent_mask(T)) each earlier position sees "
                    "the words after it, which it never did in training."),
            Mistake(functools.partial(_step_from, append=False),
                    "you returned the new tokens alone, shape (B,). Return the whole prefix "
                    "with them appended as a new last column, (B, T + 1)."),
        ],
        success="Correct! That is one step of greedy decoding without a cache: the decoder "
                "reruns the whole prefix each time. greedy_decode repeats it until </s>.",
    )


CACHE_CHOICES = {
    "a": "the same tokens: the cache only stores what was computed anyway",
    "b": "different tokens: earlier positions would change as words are added, but the "
         "cache keeps their old keys and values",
    "c": "an error: the cached keys would no longer fit the new position's shape",
    "d": "the same tokens, only slower",
}


def check_cache_prediction(choice) -> Result:
    """Grade a prediction ("a" to "d"): what cached greedy decoding gives, compared with
    decoding without a cache, if the decoder's self-attention had no causal mask."""
    return grade_choice(
        choice, "b", {
            "a": "the cache stores what was computed at an earlier step. Would the same "
                 "state be computed at a later step, once the position can see the newer "
                 "words?",
            "c": "the shapes do not care about the mask: the cache holds (B, H, T, d_k) "
                 "either way. Think about the values in it, not their shape.",
            "d": "a cache does not slow decoding down. Ask whether a state computed at step "
                 "3 is still the state the decoder would compute at step 6.",
        },
        todo="Hint 1: a cache is safe only if what it stores would never be computed "
             "differently later. Hint 2: without the causal mask, which positions can the "
             "state of position 2 depend on, and what happens to it when word 6 arrives? "
             f"Answer with one letter: {', '.join(CACHE_CHOICES)}.",
        success="Correct! With the causal mask, position i sees 0..i only, so its keys and "
                "values are final the moment it is computed: that is what the chapter "
                "checked (the first 5 rows did not move when a 6th word came). Without it, "
                "every new word would change every earlier state, and a cache would hand "
                "out stale ones.")


MISTAKE_CHOICES = {
    "a": "numbers from 10,000 to 19,999 are rare in training",
    "b": "English says them with one teen word ('fourteen thousand') made from two Japanese "
         "places (一万 and the digit before 千), so the model must merge two tokens into one "
         "word",
    "c": "the model cannot read the character 万",
    "d": "greedy decoding: beam search would write them right",
}


def check_mistake_explanation(choice) -> Result:
    """Grade an explanation ("a" to "d") of why the shipped model's Japanese mistakes gather
    between 10,000 and 19,999 (一万...)."""
    return grade_choice(
        choice, "b", {
            "a": "each block of 10,000 holds about 1% of the numbers, and 20,000-29,999 is "
                 "just as rare, yet the model gets that block almost entirely right. Rarity "
                 "alone does not single out this block.",
            "c": "every number from 10,000 up has a 万, and the model gets almost all of them "
                 "right: it reads 万 well.",
            "d": "beam search with K = 4 gets almost all of these numbers wrong too: the "
                 "model itself gives the wrong words the higher probability.",
        },
        todo="Hint 1: compare what English does with 14,000 and with 24,000, and what "
             "Japanese does (一万四千, 二万四千). Hint 2: test each explanation against a fact "
             "you can check: how many training numbers fall in each block of 10,000, how "
             "many numbers with 万 the model gets right, and what beam search writes. Answer "
             f"with one letter: {', '.join(MISTAKE_CHOICES)}.",
        success="Correct, as far as this evidence goes! From 20,000 up, the tens word comes "
                "from one character (二万 -> twenty); from 10,000 to 19,999 it is a teen made "
                "from 一万 and the next digit, and 一万 alone is 'ten'. The mistakes write a "
                "tens word or the wrong teen there. The German words (vierzehntausend) give "
                "the teen as one piece, and German gets almost all of these numbers right. "
                "It stays a hypothesis until a fix tests it, for example more training "
                "numbers in this block.")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 5: Padding and masking
#
# Real sentences have different lengths, but a batch is one rectangular tensor. And a
# translator that is learning to write the next word must not peek at it. Both problems have
# the same cure: a **mask** that tells attention which keys it may look at. By the end of this
# chapter you will be able to:
#
# - pad a batch of sentences and build the source mask that hides the pads;
# - build the target mask that hides the future, and say which attention gets which mask;
# - explain the softmax trick: a hidden score becomes a huge negative number, so its weight
#   is exactly 0;
# - see the article's `-1e9` break in float16, fix it, and keep a query that may see nothing
#   from turning into NaN;
# - read the causal mask in the attention of a trained translator.
#
# Letters used for shapes: B batch, S source length, T target length, L layers, H heads.

# %%
import math

import torch
import torch.nn.functional as F

import annotated
from annotated import (
    attention,
    make_std_mask,
    padding_mask,
    pretrained,
    show,
    subsequent_mask,
)
from annotated.attention import masked_fill_value
from annotated.viz.draw import (
    draw_decoder_masked,
    masked_softmax_figure,
    masks_figure,
    where_masks_go_figure,
)
from annotated.viz.measure import MASK_EXAMPLES, trained_and_untrained
from annotated.viz.widgets import decoder_mask_explorer, masking_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## Padding and the pad token
#
# The model eats a `(B, S)` tensor of token ids, so every sentence in a batch needs the same
# length. We lengthen the short ones with a special **pad token**, `<pad>`, which has id 0
# here. Two sentences of 4 and 2 words:

# %%
vocab = ["<pad>", "<s>", "</s>", "the", "cat", "drinks", "milk", "I", "sleep"]
PAD = vocab.index("<pad>")
sentences = [["the", "cat", "drinks", "milk"], ["I", "sleep"]]

S = max(len(s) for s in sentences)
padded = [s + ["<pad>"] * (S - len(s)) for s in sentences]
src = torch.tensor([[vocab.index(w) for w in s] for s in padded])  # (B, S)
for words, ids in zip(padded, src.tolist(), strict=True):
    print(f"{' '.join(words):<24} -> {ids}")
print("batch:", tuple(src.shape), "(B, S);  pad tokens:", (src == PAD).sum().item())

# %% [markdown]
# Each batch is padded only to its own longest sentence, so a batch of short sentences stays
# cheap.
#
# ## Why the pads must be hidden
#
# A pad is not a word. Yet plain attention lets *I* and *sleep* put weight on it, and then
# whatever vector stands at the pad leaks into their outputs. Here is how much weight the real
# words of sentence 2 give to its two pads, with random stand-in vectors of size D = 8 for
# its four tokens:

# %%
x = torch.randn(2, S, 8).to(device)  # (B, S, D): stand-in token vectors
_, w_plain = attention(x, x, x)  # (B, S, S), no mask
# w_plain[1, :2, 2:]: sentence 2, queries 'I' and 'sleep' (rows 0-1), keys = the two pads
print("weight that 'I' and 'sleep' give to the two pads:",
      w_plain[1, :2, 2:].sum(dim=-1).cpu().round(decimals=4))

x_other = x.clone()
x_other[1, 2:] = torch.randn(2, 8).to(device)  # change only what sits at the pads
out_a, _ = attention(x, x, x)
out_b, _ = attention(x_other, x_other, x_other)
changed = not torch.allclose(out_a[1, :2], out_b[1, :2])
print("outputs of 'I', 'sleep' changed by the pads:", changed)

# %% [markdown]
# *I* spends almost half its attention on padding, and what it reads there changes its output.
#
# ## The source mask: hide the pads
#
# `padding_mask` marks real tokens True and pads False. Its shape is `(B, 1, S)`: one row per
# sentence, which broadcasting copies to every query of the `(B, S, S)` scores. In this
# course **True means "may attend"**, as in PyTorch's `scaled_dot_product_attention`.

# %%
src_mask = padding_mask(src, PAD)  # (B, 1, S)
print("src_mask", tuple(src_mask.shape), "(B, 1, S)")
print(src_mask.int())

out_a, w_masked = attention(x, x, x, mask=src_mask.to(device))
out_b, _ = attention(x_other, x_other, x_other, mask=src_mask.to(device))
# + 0.0 turns a printed -0. into 0.
print("weight on the pads now:", w_masked[1, :2, 2:].sum(dim=-1).cpu().round(decimals=4) + 0.0)
torch.testing.assert_close(out_a[1, :2], out_b[1, :2])  # the pads no longer leak
print("outputs of 'I', 'sleep' unchanged by the pads:", torch.allclose(out_a[1, :2], out_b[1, :2]))

# %% [markdown]
# ## The target mask: no looking ahead
#
# The decoder writes the translation one word at a time. In training it reads the whole
# target at once, shifted right by one, and position i must predict the word at i + 1. So it
# may look at positions 0 to i, never at i + 1: that is its answer.
#
# `subsequent_mask` builds this **causal mask**, also called the look-ahead mask. It is True
# on and below the diagonal. Positions count from 0.

# %%
causal = subsequent_mask(6)  # (1, T, T)
print("causal", tuple(causal.shape), "(1, T, T)")
print(causal[0].int())
# Row i = the query at position i (it predicts the word at i + 1), column = a key position.
print("position 4 may see itself:", causal[0, 4, 4].item(),
      "  position 3:", causal[0, 4, 3].item(),
      "  position 5 (the word it predicts):", causal[0, 4, 5].item())
assert causal[0, 4, :5].all() and not causal[0, 4, 5:].any()

# %% [markdown]
# The shift with real words: the decoder reads "<s> ich schlafe </s>" without its last token.

# %%
tgt_tokens = ["<s>", "ich", "schlafe", "</s>", "<pad>"]
print("position  reads     must predict")
for i in range(3):
    print(f"{i:>8}  {tgt_tokens[i]:<8}  {tgt_tokens[i + 1]}")

# %% [markdown]
# A padded target needs both masks. `make_std_mask` is their logical AND: `(B, 1, T)` and
# `(1, T, T)` broadcast to `(B, T, T)`. For simple pictures we build it on the whole target
# padded to T = 5; Exercise 1 meets the shorter input the decoder really reads.

# %%
tgt = torch.tensor([[1, 11, 12, 2, PAD]])  # (B, T); the ids of German words are made up
tgt_mask = make_std_mask(tgt, PAD)  # (B, T, T)
print("tgt_mask", tuple(tgt_mask.shape), "(B, T, T)")
print(tgt_mask[0].int())
assert torch.equal(tgt_mask, padding_mask(tgt, PAD) & subsequent_mask(5))
show(make_std_mask)

# %% [markdown]
# The three masks as pictures, for the source "I sleep" padded to 4 and this target:

# %%
_ = masks_figure(padded[1], tgt_tokens)

# %% [markdown]
# *The decoder's mask, on the right, hides two things at once: everything right of the
# diagonal, which is the future, and the pad's column.*
#
# ## Where each mask goes
#
# The Transformer has three kinds of attention, and each one gets one of these two masks.

# %%
_ = where_masks_go_figure(padded[1], tgt_tokens)

# %% [markdown]
# *The source mask hides source pads wherever the source is read, in the encoder and in the
# cross-attention; only the decoder's own self-attention also hides the future.*
#
# Cross-attention hides no future: the source is fully known before the decoder starts.

# %% [markdown]
# ## Softmax with masked scores
#
# How does a mask act inside attention? Not by zeroing weights after the softmax: the rows
# would then no longer sum to 1. The trick is to replace each hidden score by a huge negative
# number *before* the softmax. Its exp() is 0, so the hidden keys get exactly zero weight and
# the others share all of it.

# %%
scores = torch.tensor([2.0, 1.0, 0.5, 3.0])  # one query's scores for: I, sleep, <pad>, <pad>
keep = torch.tensor([True, True, False, False])

plain = scores.softmax(dim=-1)
zeroed_after = plain * keep
trick = scores.masked_fill(~keep, float("-inf")).softmax(dim=-1)
print("softmax, no mask:     ", plain, " sum", plain.sum().item())
print("zeroed after softmax: ", zeroed_after, " sum", round(zeroed_after.sum().item(), 4))
print("masked scores (-inf): ", trick, " sum", trick.sum().item())
assert trick[2:].eq(0).all() and torch.isclose(trick.sum(), torch.tensor(1.0))

# %% [markdown]
# With the trick, *I* and *sleep* share the whole weight in the same ratio as before, e^2 to
# e^1. Zeroing afterwards leaves only 0.32 in total. The paper fills with -inf; two sections
# below show why code uses a finite number instead.
#
# The same on a whole sentence, with new random vectors:

# %%
_ = masked_softmax_figure(padded[1])

# %% [markdown]
# *With the mask, the two `<pad>` columns get exactly 0 and every row still sums to 1. The
# colour runs from 0 to 1, as the bar on the right shows.*
#
# At the article's size, masked attention is five lines. The mask enters in one of them:

# %%
def sketch_attention(query, key, value, mask=None):
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))  # (B, S, S)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)  # hidden keys: a huge negative score
    weights = scores.softmax(dim=-1)
    return weights @ value, weights


out_sketch, _ = sketch_attention(x, x, x, mask=src_mask.to(device))
out_pkg, _ = attention(x, x, x, mask=src_mask.to(device))
torch.testing.assert_close(out_sketch, out_pkg)
print("sketch == package attention on the padded batch:", torch.allclose(out_sketch, out_pkg))

# %% [markdown]
# **Your turn, before reading on: harden the sketch.** Write `masked_softmax(scores, mask)`:
# softmax over the keys where the bool `mask` is True, exactly 0 where it is False. The grader
# tries float16 scores, which stop at -65504, and a row whose keys are all hidden: it must
# come out as zeros, not NaN. The next sections show how the package does it.
#
# <details><summary>Hint 1: the idea</summary>
#
# A fill value must be a number the scores' dtype can hold, yet so low that its exp() is 0. A
# query that may see no key should take nothing from any value.
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# `torch.finfo` describes a dtype's limits. `Tensor.any` over the keys tells whether a row has
# any key left; `masked_fill` can then zero whole rows.
# </details>

# %%
from annotated.exercises import check_masked_softmax  # noqa: E402


def masked_softmax(scores, mask):
    ...


check_masked_softmax(masked_softmax)

# %% [markdown]
# Stuck after trying? `annotated.exercises.solutions.solution("check_masked_softmax")` returns
# a solution.
#
# The package's `attention` from chapter 3 is the sketch, hardened against the same two
# failures: a fill value that float16 cannot hold, and a query that may see nothing.

# %%
show(attention)

# %% [markdown]
# ## Correction: -1e9 overflows in float16
#
# The article fills masked scores with `-1e9`, fine in float32. But a GPU often computes in
# float16 for speed, chapter 7's mixed precision, and float16 stops at -65504. PyTorch
# refuses:

# %%
scores16 = torch.randn(2, 4).half().to(device)  # float16 scores, as under fp16 autocast
mask16 = torch.tensor([[True, True, False, False]]).to(device)
print("float16 range:", torch.finfo(torch.float16).min, "to", torch.finfo(torch.float16).max)

# %% tags=["nbval-ignore-output"]
try:
    scores16.masked_fill(~mask16, -1e9)
except RuntimeError as e:
    print("RuntimeError:", e)

# %% [markdown]
# The fix is to ask the dtype for its own limit. `masked_fill_value(dtype)` returns the most
# negative finite number the dtype can hold, far enough below any real score that its exp()
# is 0:

# %%
show(masked_fill_value)
for dtype in (torch.float16, torch.bfloat16, torch.float32):
    print(f"{str(dtype):<15} fills with {masked_fill_value(dtype):.4g}")

w16 = scores16.masked_fill(~mask16, masked_fill_value(torch.float16)).softmax(dim=-1)
print(w16.cpu())
assert w16[:, 2:].eq(0).all() and torch.isfinite(w16).all()

# %% [markdown]
# ## A row with every key masked: zeros, not NaN
#
# Sometimes a query may look at nothing. In training this happens to every pad the decoder
# reads, because chapter 7's `Batch` hides a pad query's whole row: see Exercise 1. With
# `-inf`, softmax then computes 0 / 0 = NaN, "not a number". And one NaN spreads: the NaN
# output is a value for the next layer, and even a weight of 0 on it gives 0 × NaN = NaN.
# A finite fill value gives a uniform row instead, which quietly averages the hidden keys'
# values. Our `attention` returns zeros: clean, since nothing comes from hidden keys; the same
# on every run and device; and what PyTorch's `scaled_dot_product_attention` returns.

# %%
q = torch.randn(1, 3, 4).to(device)  # (B, queries, d_k)
k = torch.randn(1, 3, 4).to(device)  # (B, keys, d_k)
v = torch.randn(1, 3, 4).to(device)  # (B, keys, d_v)
mask = torch.tensor([[[True, True, False],
                      [False, False, False],  # query 1 may see no key at all
                      [True, True, True]]]).to(device)  # (B, queries, keys)

raw = (q @ k.transpose(-2, -1)) / 2.0  # (B, 3, 3) scores, √d_k = 2
with_inf = raw.masked_fill(~mask, float("-inf")).softmax(dim=-1)
with_min = raw.masked_fill(~mask, masked_fill_value(raw.dtype)).softmax(dim=-1)
print("row 1 with -inf:          ", with_inf[0, 1].cpu())
print("its output:               ", (with_inf @ v)[0, 1].cpu())
print("and 0 x NaN =", 0.0 * float("nan"), "- so a zero weight on that row cannot stop it")
print("row 1 with finite minimum:", with_min[0, 1].cpu())

out, weights = attention(q, k, v, mask=mask)
# + 0.0 turns a printed -0. into 0.
print("row 1 of our attention:   ", weights[0, 1].cpu() + 0.0, "-> output", out[0, 1].cpu() + 0.0)
sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
torch.testing.assert_close(out, sdpa, atol=1e-6, rtol=1e-5)
assert torch.isnan(with_inf[0, 1]).all() and not torch.isnan(out).any()
assert out[0, 1].eq(0).all()
print("equal to PyTorch's scaled_dot_product_attention:",
      torch.allclose(out, sdpa, atol=1e-6, rtol=1e-5))

# %% [markdown]
# ## Widget: sentence lengths and padding
#
# Change the lengths of two sentences and add extra padding. Left: the batch's padding mask.
# Middle: sentence 2's full mask; switch on the causal mask for the target side. Right:
# sentence 2's weights under that mask, from random vectors.
#
# Try this: add extra padding. The weights among sentence 2's real words stay exactly the
# same, because the mask hides the new pads.

# %% tags=["nbval-ignore-output"]
masking_explorer()

# %% [markdown]
# ## The causal mask in a trained translator
#
# So far the weights came from random vectors. The course's number translator turns German
# number words into English, *einundzwanzig* into *twenty-one*; its decoder trained under the
# causal mask. Beside it: the same model with fresh random weights. Both read the same source
# and, as target, the trained model's own translation.

# %%
translator = pretrained.load("numbers")
records = trained_and_untrained(translator, MASK_EXAMPLES)
for text, pair in records.items():
    trained, untrained = pair["trained"].decoder, pair["untrained"].decoder  # (L, H, T, T)
    T = trained.shape[-1]
    future = ~subsequent_mask(T)[0]  # (T, T): the keys each query must not see
    print(f"{text} -> {pair['trained'].translation}")
    print(f"  weight on the future, trained: {trained[..., future].sum().item():.3f}"
          f"   untrained: {untrained[..., future].sum().item():.3f}")
    # amax(-1): each row's largest weight; mean(): over every layer, head and row
    print(f"  average largest weight in a row, trained: {trained.amax(-1).mean().item():.2f}"
          f"   untrained: {untrained.amax(-1).mean().item():.2f}")

# %% [markdown]
# Both models put exactly 0 on the future: the mask guarantees it. Training changed where the
# weight goes inside the allowed triangle: the trained rows are more focused.
#
# Which trained head has the sharpest rows? The same measure, kept per layer and head:

# %%
text = MASK_EXAMPLES[0]
sharpness = records[text]["trained"].decoder.amax(-1).mean(-1)  # (L, H): mean over rows
layer, head = divmod(sharpness.argmax().item(), sharpness.shape[1])
print(f"{text}: average largest weight per row, one row per layer, one column per head")
print(sharpness)
print(f"sharpest: layer {layer}, head {head}")
_ = draw_decoder_masked(records, text, "trained", layer=layer, head=head)

# %% [markdown]
# *This trained head puts all of each row's weight on one key: the word just before the one
# the row reads (the first row can only see `<s>`). The row labels read "word read → word
# written"; the future, right of the diagonal, stays at 0.*
#
# Explore the rest: switch between trained and untrained, and across layers and heads. Does
# the same head stay the sharpest on the other numbers?

# %% tags=["nbval-ignore-output"]
decoder_mask_explorer(translator)

# %% [markdown]
# ## Recap
#
# - Short sentences are padded to the longest in the batch.
# - The source mask `(B, 1, S)` hides pads; the causal mask `(1, T, T)` hides the future; the
#   target mask `(B, T, T)` is both. True means "may attend".
# - The source mask enters the encoder and the cross-attention; the target mask, the decoder's
#   self-attention.
# - Hidden scores become a huge negative number before the softmax: weight exactly 0, rows
#   still summing to 1.
# - Correction: the article's -1e9 overflows float16; use the dtype's own minimum. A query
#   that may see nothing gets zeros, never NaN.
#
# Next, chapter 6 assembles all the parts so far into the encoder-decoder Transformer.
#
# ## Your turn
#
# **1. Predict, then run.** Chapter 7 trains on batches built by `Batch`. It feeds the
# decoder `tgt[:, :-1]`, the target without its last position, and it hides one thing more
# than `make_std_mask`: the whole row of every pad query. Three padded targets:

# %%
from annotated.exercises import check_fixed_mask, check_zero_rows  # noqa: E402
from annotated.exercises.ch05 import buggy_std_mask, zero_rows, zero_rows_batch  # noqa: E402

targets, batch = zero_rows_batch()
for i, words in enumerate(targets):
    print(f"sentence {i}:", " ".join(words))

# %% [markdown]
# Without running anything, write down for each sentence which query positions of
# `batch.tgt_mask` see no key at all. Count from 0.

# %%
my_zero_rows = ...  # one list of positions per sentence, e.g. [[0, 1], [2], [5]]

check_zero_rows(my_zero_rows)

# %% [markdown]
# Now run it and see why:

# %%
print("what the decoder reads:", tuple(batch.tgt.shape), "(B, T)")
for i, row in enumerate(zero_rows(batch.tgt_mask)):
    print(f"sentence {i}: reads {' '.join(targets[i][:-1]):<30} rows that see nothing: {row}")

# %% [markdown]
# **2. Find the bug.** This decoder mask has one bug, and a model trained with it could
# cheat without any error to warn you. Find the bug by running
# `buggy_std_mask` on a short target and comparing it with the pictures above. Then fix it in
# its own lines: an answer that calls `make_std_mask` or `subsequent_mask` is not accepted.
#
# <details><summary>Hint 1: the idea</summary>
#
# During training the decoder sees the whole target. Ask of each row: which key holds the word
# this position must predict, and may the row see it?
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Print `buggy_std_mask(tgt, PAD)[0].int()` for the target `tgt` from above, next to
# `make_std_mask(tgt, PAD)[0].int()`, and compare them cell by cell.
# </details>

# %%
show(buggy_std_mask)

# %%
def fixed_std_mask(tgt, pad):
    ...


check_fixed_mask(fixed_std_mask)

# %% [markdown]
# Stuck after trying? `annotated.exercises.solutions.solution(name)` returns a solution for
# the grader `name`: `"check_zero_rows"`, `"check_fixed_mask"` or `"check_masked_softmax"`;
# `show()` prints one that is a function.
#
# <details><summary>Under the hood: details for the curious</summary>
#
# - **Other libraries flip the meaning.** The bool masks of `nn.MultiheadAttention` and
#   `nn.Transformer` mean True = hidden. A mask from this course must be inverted with `~mask`
#   before it goes there.
# - **Heads.** With H heads the scores are `(B, H, T, S)`. `MultiHeadedAttention` calls
#   `mask.unsqueeze(1)`, so every head gets the same mask.
# - **Pad rows.** `make_std_mask` hides pads only as keys. A pad's own row is then computed
#   and ignored, since the loss skips pad positions.
# - **bfloat16** reaches about -3.4e38, so -1e9 happens to fit there. Only float16 breaks.
#   Mixed precision uses float16 on any GPU, and it is the only choice on GPUs without
#   bfloat16, such as Colab's T4. The dtype's own limit is right for all of them.
# - **Zeros for a blind row** match `scaled_dot_product_attention` from PyTorch 2.5 on, the
#   course's oldest supported version.
# - **`max_len`.** The article's `max_len = 5000` is the longest sequence the model can take
#   at all: the size of the positional table of chapter 2. Padding is per batch.
# </details>
#
# ## Further reading
#
# - [Attention Is All You Need](https://arxiv.org/abs/1706.03762), section 3.2.3: masking
#   "illegal connections" in the decoder by setting them to -inf before the softmax.
# - François Porcher's article "The A-Z of Transformers: Everything You Need to Know", the
#   English original of this course's seed, and its
#   [code](https://github.com/FrancoisPorcher/awesome-ai-tutorials): the `-1e9` fill this
#   chapter corrects.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/):
#   `subsequent_mask` and the `Batch` class this chapter's masks grew from.
# - [Generating Long Sequences with Sparse Transformers](https://arxiv.org/abs/1904.10509),
#   Child et al., 2019, and [Longformer](https://arxiv.org/abs/2004.05150), Beltagy et al.,
#   2020: masks that also hide far-away words, so long texts cost less.
# - [FlashAttention](https://arxiv.org/abs/2205.14135), Dao et al., 2022: attention block by
#   block; its block-sparse variant skips the blocks a mask hides.
# - [BERT](https://arxiv.org/abs/1810.04805), Devlin et al., 2018: a different "mask", which
#   hides input words that the encoder must guess.

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
# translator that is learning to write the next word must not peek at it. Both problems have the same cure: a
# mask that tells attention which keys it may look at. By the end of this chapter you will be
# able to:
#
# - pad a batch of sentences with a pad token, and build the source (padding) mask;
# - build the target (causal, look-ahead) mask, and the decoder's combination of both;
# - explain the softmax trick: masked scores become a huge negative number, so their weight
#   is exactly 0;
# - see the article's `-1e9` break in float16, fix it with the dtype's own limit, and keep a
#   query that may see nothing from turning into NaN.
#
# Letters used for shapes: B batch, S source length, T target length.

# %%
import re

import torch
import torch.nn.functional as F

import annotated
from annotated import attention, make_std_mask, padding_mask, show, subsequent_mask
from annotated.attention import masked_fill_value
from annotated.viz.draw import masked_softmax_figure, masks_figure
from annotated.viz.widgets import masking_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## Padding and the pad token
#
# The model eats a (B, S) tensor of token ids: every sentence in a batch needs the same
# length. We make short sentences longer with a special **pad token**, `<pad>`, given id 0
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
# The article mentions `max_len = 5000`: that is the longest sequence the model can take at
# all (the size of its positional-encoding table, chapter 2). Padding is a different, local
# thing: each batch is padded only to its own longest sentence, so short batches stay cheap.
#
# ## Why the pads must be hidden
#
# A pad is not a word. Yet plain attention lets *I* and *sleep* put weight on it, and then
# whatever vector stands at the pad leaks into their outputs. Watch the weights of sentence 2,
# with random stand-in vectors (D = 8) for its four tokens:

# %%
x = torch.randn(2, S, 8).to(device)  # (B, S, D): stand-in token vectors
_, w_plain = attention(x, x, x)  # (B, S, S), no mask
# w_plain[1, :2, 2:]: sentence 2, queries 'I' and 'sleep' (rows 0-1), keys = the two pads
# (+ 0.0 turns a printed -0. into 0.)
print("weight that 'I' and 'sleep' give to the two pads:",
      w_plain[1, :2, 2:].sum(dim=-1).cpu().round(decimals=4) + 0.0)

x_other = x.clone()
x_other[1, 2:] = torch.randn(2, 8).to(device)  # change only what sits at the pads
out_a, _ = attention(x, x, x)
out_b, _ = attention(x_other, x_other, x_other)
print("outputs of 'I', 'sleep' changed by the pads:", not torch.allclose(out_a[1, :2], out_b[1, :2]))

# %% [markdown]
# ## The source mask: hide the pads
#
# `padding_mask` marks real tokens True and pads False, with shape (B, 1, S): one row per
# sentence, which broadcasting copies to every query of the (B, S, S) scores. In this course
# **True means "may attend"**, as in PyTorch's `scaled_dot_product_attention`. Careful when you
# reach for `nn.MultiheadAttention` or `nn.Transformer`: their bool masks mean the opposite
# (True = hidden), so a mask from here must be inverted (`~mask`) before it goes there.

# %%
src_mask = padding_mask(src, PAD)  # (B, 1, S)
print("src_mask", tuple(src_mask.shape), "(B, 1, S)")
print(src_mask.int())

out_a, w_masked = attention(x, x, x, mask=src_mask.to(device))
out_b, _ = attention(x_other, x_other, x_other, mask=src_mask.to(device))
print("weight on the pads now:", w_masked[1, :2, 2:].sum(dim=-1).cpu().round(decimals=4) + 0.0)
torch.testing.assert_close(out_a[1, :2], out_b[1, :2])  # the pads no longer leak
print("outputs of 'I', 'sleep' unchanged by the pads:", True)

# %% [markdown]
# ## The target mask: no looking ahead
#
# The decoder writes the translation one word at a time. While training, we feed it the
# whole target sentence at once, shifted right by one: the input starts with `<s>`, and the
# word it must predict at position i is the input's word at position i + 1 (`Batch` builds
# the pair, `tgt[:, :-1]` in and `tgt[:, 1:]` out, chapter 7). So position i may look at
# positions 0..i, itself included (words already written), but not at i + 1 and beyond: the
# first of those is the very answer it must predict. `subsequent_mask` (the causal or
# look-ahead mask) is True on and below the diagonal. Positions count from 0.

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
# A padded target batch needs both masks at once: `make_std_mask` is their logical AND.
# The padding mask (B, 1, T) and the causal mask (1, T, T) broadcast to (B, T, T). Here the
# target "<s> ich schlafe </s>" padded to T = 5:

# %%
tgt_tokens = ["<s>", "ich", "schlafe", "</s>", "<pad>"]
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
# *Dark blue cells (1) may be attended, light blue cells (0) are hidden. Left: the source
# mask, stored as (B, 1, S) and drawn broadcast to one row per query: the pad columns are
# hidden for every query. Middle: everything right of the diagonal is hidden. Right: the
# decoder's mask hides both the future and the pad.* (The pad's own *row* may still attend:
# its output is computed and then ignored. In the encoder nothing reads it, since every
# mask hides pads as keys; in the decoder the loss skips pad positions. Chapter 7's `Batch`
# goes further and hides padded target rows entirely.)
#
# Where the masks go: the encoder's self-attention uses `src_mask`, (B, 1, S) broadcast over
# the (B, S, S) scores; the decoder's cross-attention uses the same `src_mask`, broadcast
# over its (B, T, S) scores (every target position may read every real source word); the
# decoder's self-attention uses `tgt_mask`, (B, T, T). With heads (chapter 4) the scores are
# (B, H, T, S): `MultiHeadedAttention` calls `mask.unsqueeze(1)`, so every head gets the same
# mask.

# %% [markdown]
# ## Softmax with masked scores
#
# How does a mask act inside attention? Not by zeroing weights after the softmax, which
# would leave rows that no longer sum to 1 (dividing by the new sum would repair that, but
# gives 0 / 0 on a row whose keys are all hidden). The trick: before the softmax, replace each
# hidden score by a huge negative number. exp() of it is 0, so the hidden keys get exactly
# zero weight and the others share all of it.

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
# With the trick, *I* and *sleep* share the whole weight in the same ratio as before
# (e^2 : e^1); zeroing afterwards leaves only 0.32 in total. The same on a whole sentence:

# %%
_ = masked_softmax_figure(padded[1])

# %% [markdown]
# *Left, without the mask, every row gives part of its weight to the two `<pad>` columns.
# Right, with the mask, those columns are exactly 0 and each row still sums to 1. (The figure
# draws new random vectors, so its numbers differ from the cell above. The `<pad>` rows keep
# their weights: the source mask hides pad keys, not pad queries.)*
#
# The package's `attention` (chapter 3) does this in two lines, with one difference from the
# article that the next two sections explain: the fill value.

# %%
show(attention)

# %% [markdown]
# ## Correction: -1e9 overflows in float16
#
# The article fills masked scores with `-1e9`. In float32 that is fine. But on a GPU we
# often compute in float16 to go faster (mixed precision, chapter 7), and float16 cannot hold
# -1e9: its most negative finite number is -65504. PyTorch refuses:

# %%
scores16 = torch.randn(2, 4).half().to(device)  # float16 scores, as under fp16 autocast
mask16 = torch.tensor([[True, True, False, False]]).to(device)
print("float16 range:", torch.finfo(torch.float16).min, "to", torch.finfo(torch.float16).max)
try:
    scores16.masked_fill(~mask16, -1e9)
except RuntimeError as e:
    # The C++ type name in PyTorch's message varies between versions: keep the words.
    print("RuntimeError:", re.sub(r"\w+::", "", str(e)))

# %% [markdown]
# The fix is to ask the dtype for its own limit. `masked_fill_value(dtype)` returns the most
# negative finite number the dtype can hold, which is far enough below any real score that
# its exp() is 0:

# %%
show(masked_fill_value)
for dtype in (torch.float16, torch.bfloat16, torch.float32):
    print(f"{str(dtype):<15} fills with {masked_fill_value(dtype):.4g}")

w16 = scores16.masked_fill(~mask16, masked_fill_value(torch.float16)).softmax(dim=-1)
print(w16.cpu())
assert w16[:, 2:].eq(0).all() and torch.isfinite(w16).all()

# %% [markdown]
# (bfloat16 reaches about -3.4e38, so -1e9 happens to fit there; only float16, the format of
# older GPUs such as Colab's T4, breaks. The dtype's own limit is right for all of them.)
#
# ## A row with every key masked: zeros, not NaN
#
# Sometimes a query may look at nothing. In chapter 7 it happens in every padded batch:
# `Batch` hides a padded target row entirely, so that query sees no key at all. With `-inf`,
# softmax then computes 0 / 0 = NaN. And one NaN spreads: the NaN output row is a value for
# the next layer, and a weight of 0 on it still gives 0 x NaN = NaN. With a finite fill value
# the row is not NaN but uniform: it quietly averages the *values* of the hidden keys. Our
# `attention` instead returns zeros for such a row, as PyTorch's
# `scaled_dot_product_attention` does (since PyTorch 2.5, the course's oldest supported
# version).

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
print("row 1 of our attention:   ", weights[0, 1].cpu() + 0.0, "-> output", out[0, 1].cpu() + 0.0)
sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
torch.testing.assert_close(out, sdpa, atol=1e-6, rtol=1e-5)
assert torch.isnan(with_inf[0, 1]).all() and not torch.isnan(out).any()
assert out[0, 1].eq(0).all()
print("equal to PyTorch's scaled_dot_product_attention:", True)

# %% [markdown]
# ## Widget: sentence lengths and padding
#
# Two sentences go into one batch. Change their lengths and add extra padding: the left
# panel shows the batch and its padding mask, one row per sentence (the (B, 1, S) mask
# without its middle axis), the middle one the full mask of sentence 2 (switch on the causal
# mask to see the target side), and the right one the attention weights of sentence 2 with
# that mask applied. Dark blue means a real word, or a key that may be attended.
#
# Try this: add extra padding, and the weights among the real words of sentence 2 stay
# exactly the same (each word keeps its vectors; the mask hides the new pads). Then set
# extra padding back to 0 and sentence 2 to the length of sentence 1: its pad columns
# vanish.

# %% tags=["nbval-ignore-output"]
masking_explorer()

# %% [markdown]
# ## Recap
#
# - A batch is rectangular: short sentences are filled with a pad token up to the longest.
# - The source mask (B, 1, S) hides pads; the causal mask (1, T, T) hides the future;
#   the decoder's target mask (B, T, T) is both. True means "may attend".
# - Masked scores are replaced before softmax by a huge negative number, so their weight is
#   exactly 0 and each row still sums to 1.
# - Correction: the article's -1e9 overflows float16; use the dtype's own minimum
#   (`masked_fill_value`). A query that may see nothing gets zeros, never NaN.
#
# Next, chapter 6: all the parts so far assembled into the encoder-decoder Transformer.
#
# ## Your turn
#
# **1.** Write `causal_mask(size)`: a (1, size, size) bool tensor, True where query i may
# look at key j (j <= i).

# %%
from annotated.exercises import check_causal_mask, check_masked_softmax  # noqa: E402


def causal_mask(size):
    ...


check_causal_mask(causal_mask)

# %% [markdown]
# **2.** Write `masked_softmax(scores, mask)`: softmax over the last axis (the keys) where
# `mask` is True, exactly 0 where it is False. `mask` is a bool tensor that broadcasts to
# `scores`, for example (B, 1, keys) for padding or (1, queries, keys) for the causal mask.
# A row whose keys are all hidden must come out as zeros, not NaN. The grader also tries
# float16 scores.

# %%
def masked_softmax(scores, mask):
    ...


check_masked_softmax(masked_softmax)

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 4: Multi-head attention
#
# In chapter 3 one attention head let every word take a weighted average of the other words.
# Here we run several heads side by side. By the end of this chapter you will be able to:
#
# - show, with a small trained model, a job one head does badly and two heads do perfectly;
# - write multi-head attention in about 20 lines, and follow every tensor shape in it;
# - read the package's `MultiHeadedAttention` as the same code, hardened;
# - say what attention costs as sentences get longer, with measured numbers;
# - explore the heads of the trained number translator, and find one by code.
#
# Letters used for shapes: B batch, S sequence length, D = d_model, H heads, d_k = D / H.

# %%
import math

import torch
from torch import nn

import annotated
from annotated import MultiHeadedAttention, pretrained, show
from annotated.viz.draw import COST_LENGTHS, COST_SIZES, draw_attention, draw_attention_cost
from annotated.viz.figures import FIGURES
from annotated.viz.measure import (
    attention_cost,
    time_attention_cost,
    train_lookup,
    trained_and_untrained,
)
from annotated.viz.widgets import trained_heads_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## One head, one average
#
# A head gives each query word one set of weights, and its output is one weighted average of
# the value vectors. Suppose a word needs two facts from two places. Both facts arrive
# through the same average, written into the same D numbers. Whatever reads the output sees
# their sum and has to untangle which fact came from where.
#
# Here is a task that needs two lookups. A sequence holds 6 random symbols from A to H, then
# a question mark. The question mark must name the **first** and the **last** symbol. We
# train the smallest model that can try: embeddings plus positions, one attention layer in
# which only "?" is a query, and a **readout**: one linear layer that turns the output of "?" into
# a score for each possible answer. The width is D = 16 in both runs. One model has
# one head of 16 numbers; the other has two heads of 8. Each trains for 300 steps, twice,
# with seeds 0 and 1, then answers 2,000 new sequences. The percentages can differ by a
# point or so on another computer; the assert checks the claim that matters. Guessing
# would get one symbol right 1 time in 8 and both 1 time in 64.

# %% tags=["nbval-ignore-output"]
runs = {(h, seed): train_lookup(h, seed=seed) for h in (1, 2) for seed in (0, 1)}
for (h, seed), r in runs.items():
    print(f"{h} head(s), seed {seed}: first right {r['first']:.0%}, last right "
          f"{r['last']:.0%}, both right {r['both']:.0%}")
print(f"chance: {1 / 8:.1%} per symbol, {1 / 64:.1%} for both")
assert all(runs[2, s]["both"] > 0.95 > runs[1, s]["both"] for s in (0, 1))

# %% [markdown]
# With two heads the model gets both symbols right almost every time. With one head of the
# same width, "both right" stays well below that in both runs, though far above chance.
# Where does "?" look? Each row below is one head: the weight it gives to each position,
# averaged over the 2,000 test sequences.

# %% tags=["nbval-ignore-output"]
positions = [f"pos {i}" for i in range(6)] + ["?"]
for h in (1, 2):
    print(f"{h} head(s), seed 1:", " ".join(f"{p:>6}" for p in positions))
    for i, row in enumerate(runs[h, 1]["weights"]):
        print(f"  head {i}:       ", " ".join(f"{w:6.2f}" for w in row.tolist()))
ends = runs[2, 1]["weights"][:, [0, 5]]  # (2 heads, first and last position)
assert ends.max() > 0.8 and set(ends.argmax(dim=-1).tolist()) == {0, 1}  # one end each

# %% [markdown]
# In the two-head model each head settled on one end of the sequence: one reads the first
# symbol, the other the last, and each writes into its own 8 numbers. The single head has to
# spread its weight over both ends, so the two symbols land in the same 16 numbers.
#
# Why can't the readout simply untangle that sum? W_v is the same map at every position, so
# a symbol gives nearly the same value vector wherever it sits. After the average, only the
# two weights tell "first" from "last" apart, and 0.40 against 0.51 is a weak signal. The
# readout still guesses well from the mix, but not always. That is what we measured on this
# task. The paper states the general point: "Multi-head attention allows the model to jointly
# attend to information from different representation subspaces at different positions.
# With a single attention head, averaging inhibits this."
#
# ## h heads, each of size d_k = d_model / h
#
# The paper uses h = 8 heads with d_model = 512, so each head works in d_k = 64 dimensions:
#
# $\text{MultiHead}(Q, K, V) = \text{Concat}(\text{head}_1, \dots, \text{head}_h)\,W^O,
# \quad \text{head}_i = \text{Attention}(Q W_i^Q, K W_i^K, V W_i^V)$
#
# Each W_i^Q is 512 x 64. The code stacks the eight of them into one 512 x 512 map W_q, so
# one matrix product computes every head's queries, and the same holds for W_k and W_v.
# The fourth map, W_o, mixes the heads' outputs back together.
#
# One detail of PyTorch: `nn.Linear` stores its weight as (out, in) and computes
# x @ W.T + b. So head i owns rows 64i to 64i + 63 of `W_q.weight`, and W_i^Q is that slice
# transposed. Here is the whole idea at the size of the article's code:


# %%
class SketchMultiHead(nn.Module):
    """Multi-head attention, the idea only: no mask, no dropout, no cache."""

    def __init__(self, h, d_model):
        super().__init__()
        self.h, self.d_k = h, d_model // h
        self.W_q, self.W_k, self.W_v, self.W_o = [nn.Linear(d_model, d_model) for _ in range(4)]

    def forward(self, query, key, value):
        B = query.size(0)

        def split(x):  # (B, S, D) -> (B, S, H, d_k) -> (B, H, S, d_k)
            return x.view(B, -1, self.h, self.d_k).transpose(1, 2)

        q, k, v = split(self.W_q(query)), split(self.W_k(key)), split(self.W_v(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_k)  # (B, H, Sq, Sk)
        heads = scores.softmax(dim=-1) @ v  # (B, H, Sq, d_k): one answer per head
        concat = heads.transpose(1, 2).reshape(B, -1, self.h * self.d_k)  # (B, Sq, D)
        return self.W_o(concat)


# %% [markdown]
# The only new moves are `split` and the line that builds `concat`. The picture shows them
# on a tiny example:

# %%
_ = FIGURES["04_heads_split_concat"].make()

# %% [markdown]
# *Each colour is one head: it owns a slice of every word's numbers until W_o mixes them.*
#
# Now the real sizes, one step at a time, for a batch of 2 sentences of 5 words. `@` on
# 4-axis tensors does one ordinary matrix product per (batch, head) pair: that is how all
# eight heads run at once.

# %%
B, S, D, H = 2, 5, 512, 8
sketch = SketchMultiHead(H, D).to(device)
x = torch.randn(B, S, D).to(device)
q = sketch.W_q(x).view(B, S, H, D // H).transpose(1, 2)
k = sketch.W_k(x).view(B, S, H, D // H).transpose(1, 2)
scores = q @ k.transpose(-2, -1)  # shapes only: the real layer also divides by sqrt(d_k)
print("x      ", tuple(x.shape), "(B, S, D)")
print("q, k   ", tuple(q.shape), "(B, H, S, d_k)")
print("scores ", tuple(scores.shape), "(B, H, S, S): one S x S table per head")
print("output ", tuple(sketch(x, x, x).shape), "(B, S, D)")
# Head 3 is an ordinary (512 -> 64) attention head: rows 3 * 64 = 192 to 255 of W_q.weight.
torch.testing.assert_close(q[:, 3], x @ sketch.W_q.weight[192:256].T + sketch.W_q.bias[192:256])

# %% [markdown]
# Splitting costs no parameters: eight heads of 64 use the same four 512 x 512 maps as one
# head of 512.

# %%
n_params = sum(p.numel() for p in sketch.parameters())
print("parameters, 8 heads:", n_params, "| 1 head:",
      sum(p.numel() for p in SketchMultiHead(1, D).parameters()))
assert n_params == 4 * (D * D + D)

# %% [markdown]
# <details><summary>Under the hood: why view, then transpose, and reshape on the way back</summary>
#
# `view` re-reads numbers in their memory order, word after word. Viewing (B, S, D) straight
# as (B, H, S, d_k) would hand each "head" S x d_k = 320 consecutive numbers, a run from
# one or two words, instead of a slice of every word. So we view as (B, S, H, d_k), which
# cuts each word into H slices, and then swap S and H. After `transpose` the numbers are no
# longer in memory order for the merged shape, so `view` refuses; `reshape` copies when it
# must. The package writes `.contiguous().view(...)`, which does the same.
#
# </details>

# %%
straight = sketch.W_q(x).view(B, H, S, D // H)
print("viewed straight to (B, H, S, d_k) gives the same heads:", torch.equal(straight, q))
heads = torch.randn(B, H, S, D // H)  # the layout attention returns: (B, H, S, d_k)
try:
    heads.transpose(1, 2).view(B, S, D)
except RuntimeError as e:
    print("view after transpose:", str(e).split(".")[0])

# %% [markdown]
# ## The package's version: the same, hardened
#
# The model uses `MultiHeadedAttention`. It keeps the four maps in a list, `linears` =
# [W_q, W_k, W_v, W_o], as the article does, built by `clones`, a helper that copies a layer
# N times, each copy with its own parameters. Its extra branches are for later chapters:
#
# - `mask` hides padding and future words, and `validate_mask` checks its shape: chapter 5.
# - `dropout` on the attention weights is regularisation, switched off here: chapters 6 and 7.
# - `cache` (a `KVCache`) keeps keys and values between decoding steps: chapter 8.
# - `backend` picks our explicit softmax ("naive") or PyTorch's fused
#   `scaled_dot_product_attention` ("sdpa"), which is faster but keeps no weights to draw;
#   "auto" uses sdpa unless `keep_attn` asks for the weights, as chapter 6 does.
# - `kv_heads` (fewer key/value heads than query heads) and `rope` (rotary positions) are
#   today's variants: chapter 10.

# %%
show(MultiHeadedAttention)

# %% [markdown]
# Copy the sketch's weights into it, and both backends give the sketch's output:

# %%
mha = MultiHeadedAttention(H, D, dropout=0.0).to(device).eval()
with torch.no_grad():
    for ours, theirs in zip(mha.linears, [sketch.W_q, sketch.W_k, sketch.W_v, sketch.W_o]):
        ours.load_state_dict(theirs.state_dict())
    expected = sketch(x, x, x)
    for backend in ("naive", "sdpa"):
        mha.backend = backend
        torch.testing.assert_close(mha(x, x, x), expected, atol=1e-5, rtol=1e-5)
        print(f"{backend}: equal to the sketch | weights kept: {mha.attn is not None}")

# %% [markdown]
# PyTorch ships the same layer as `nn.MultiheadAttention`. Mind the order of its arguments:
# `nn.MultiheadAttention(D, H)`, where ours is `MultiHeadedAttention(H, D)`. It stores W_q,
# W_k and W_v stacked in one (3D, D) matrix and W_o as `out_proj`. With our weights copied
# in, it agrees on the output and on every head's weights.

# %%
ref = nn.MultiheadAttention(D, H, dropout=0.0, batch_first=True).to(device).eval()
mha.backend = "naive"
with torch.no_grad():
    ref.in_proj_weight.copy_(torch.cat([lin.weight for lin in mha.linears[:3]]))  # (3D, D)
    ref.in_proj_bias.copy_(torch.cat([lin.bias for lin in mha.linears[:3]]))  # (3D,)
    ref.out_proj.load_state_dict(mha.linears[3].state_dict())
    theirs, their_weights = ref(x, x, x, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(mha(x, x, x), theirs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mha.attn, their_weights, atol=1e-5, rtol=1e-5)
print("equal to nn.MultiheadAttention, weights", tuple(their_weights.shape), "(B, H, S, S)")

# %% [markdown]
# ## The heads of a trained model
#
# Random weights show nothing worth reading. The shipped number translator has 2 layers of 4
# heads in each of its three kinds of attention. Here is its last layer of cross-attention
# while it writes "three hundred and fifty-four" from German:

# %%
translator = pretrained.load("numbers")
maps = translator.attention("dreihundertvierundfünfzig")
print(maps.translation)
_ = draw_attention(maps, "cross", layer=-1, head="all")

# %% [markdown]
# *Each head is almost one-hot, and the heads differ: for "and", heads 0, 1 and 3 read
# "hundert", "und" and "drei". One English word gathers from several German ones.*
#
# Run the cell below to get the widget, then switch between the trained model and the same
# model with fresh random weights. Training made the heads decisive: the next cell measures
# it as the average largest weight in a row. A head that spread its weight evenly over T
# words would score 1/T.

# %% tags=["nbval-ignore-output"]
trained_heads_explorer(translator, "dreihundertvierundfünfzig")

# %%
text = "dreihundertvierundfünfzig"
untrained = trained_and_untrained(translator, [text])[text]["untrained"]
for part in maps.weights:
    sharp = [m.weights[part].max(dim=-1).values.mean().item() for m in (maps, untrained)]
    T = maps.weights[part].shape[-1]
    print(f"{part:>8}: largest weight per row, trained {sharp[0]:.2f}, untrained "
          f"{sharp[1]:.2f}, even spread 1/T = {1 / T:.2f}")

# %% [markdown]
# The untrained decoder scores well above 1/T because of its mask, which chapter 5 builds:
# position t may read only the t + 1 words up to itself, so the first row is always a
# single 1.0.
#
# ## What attention costs
#
# Chapter 0 promised a measurement. Every word compares itself with every word, so each of
# the h heads keeps an S x S table of weights: h x S² x 4 bytes in float32, for one
# sentence. Compare the feed-forward block of chapter 6: two linear layers, D -> d_ff -> D,
# applied to each word alone. Its hidden layer keeps d_ff numbers per word: S x d_ff x 4
# bytes. The two are equal when h x S = d_ff, at S = d_ff / h. Here are the exact byte
# counts for a small model with D = 128, h = 8 and d_ff = 512, so the crossover is at 64:

# %%
cost = attention_cost(COST_LENGTHS, **COST_SIZES)
for S, att, ffn in zip(COST_LENGTHS, cost["attention bytes"], cost["feed-forward bytes"]):
    print(f"S = {S:>4}: attention weights {att:>10,} bytes, feed-forward hidden {ffn:>9,} "
          f"bytes, ratio {att / ffn:5.2f}")

# %% [markdown]
# The ratio doubles each time S doubles. Time is less simple: both layers pay for
# their linear maps, which grow with S, and only attention pays the S² comparisons too. At
# short lengths the maps dominate; at long ones the S² term does. The cell below times one
# layer of each on this computer, so your numbers will differ; the slopes should not.

# %% tags=["nbval-ignore-output"]
timings = time_attention_cost(COST_LENGTHS, **COST_SIZES)
_ = draw_attention_cost(timings)

# %% [markdown]
# *Read the slopes: each doubling of S multiplies attention's memory by 4 and the
# feed-forward block's by 2. In time the feed-forward block also doubles, while attention's
# curve bends up as the S² term takes over.*
#
# The paper's Table 1 states the trade-off for n words, each a vector of d numbers; k is the
# width of a convolution's window:
#
# | Layer type | Work per layer | Sequential steps | Longest path between two words |
# |---|---|---|---|
# | Self-attention | `O(n² · d)` | `O(1)` | `O(1)` |
# | Recurrent | `O(n · d²)` | `O(n)` | `O(n)` |
# | Convolutional | `O(k · n · d²)` | `O(1)` | `O(log_k n)` |
#
# Self-attention pays n² but needs no step-by-step loop, and any two words are one step
# apart. When the sentence is shorter than the width, n < d, it even does less work than a
# recurrent layer.
#
# ## Recap
#
# - One head writes everything it gathers into one average. On a task that needs two
#   lookups, two heads of width 8 succeeded where one head of width 16 fell short.
# - h heads of d_k = d_model / h: split with `view` and `transpose`, attend per head,
#   concatenate with `transpose` and `reshape`, mix with W_o. No extra parameters.
# - The package's `MultiHeadedAttention` is the sketch plus a mask, a cache and a fast
#   backend; it equals `nn.MultiheadAttention` with the same weights.
# - Attention's weights grow with S squared, the feed-forward block's with S; they are equal
#   at S = d_ff / h.
#
# Next, chapter 5: sentences of different lengths in one batch, and masks that hide padding
# and the future.
#
# ## Your turn
#
# **1. Predict, then run.** The paper's base model has h = 8 and d_ff = 2048. At which
# length S does its attention keep as many bytes of weights as its feed-forward block keeps
# hidden numbers? Past it, attention keeps more. Commit to a number, then check it by running
# `attention_cost([128, 256, 512], d_model=512, h=8, d_ff=2048)`.

# %%
from annotated.exercises import check_cost_prediction, check_reading_head  # noqa: E402

prediction = {"crossover": ...}
check_cost_prediction(prediction)

# %% [markdown]
# **2. Discover.** The decoder reads [<s>, words written so far], so the word at position t
# is the last one written. One decoder self-attention head of the translator mostly looks at
# the word just before the one each position reads: two words back from the one it writes.
# Find it by code, not by eye: `maps.weights["decoder"]` is (L, H, T, T). Answer with a
# pair: layer, then head.

# %%
answer = (..., ...)
check_reading_head(answer)

# %% [markdown]
# ## Further reading
#
# - Vaswani et al., 2017, [Attention Is All You Need](https://arxiv.org/abs/1706.03762):
#   section 3.2.2 defines multi-head attention, section 4 and Table 1 compare its cost.
# - The Annotated Transformer, [Harvard NLP](https://nlp.seas.harvard.edu/annotated-transformer/):
#   the article-sized `MultiHeadedAttention` our sketch follows, beside the paper's text.
# - J. Alammar, [The Illustrated Transformer](https://jalammar.github.io/illustrated-transformer/):
#   multi-head attention drawn step by step.
# - What it grew into. Michel et al., [Are Sixteen Heads Really Better than
#   One?](https://arxiv.org/abs/1905.10650): many trained heads can be removed afterwards.
# - Shazeer, [multi-query attention](https://arxiv.org/abs/1911.02150), and Ainslie et al.,
#   [grouped-query attention](https://arxiv.org/abs/2305.13245): heads share keys and
#   values, so the decoding cache of chapter 8 shrinks.
# - Dao et al., [FlashAttention](https://arxiv.org/abs/2205.14135): the S² attention,
#   computed without ever storing the whole table.

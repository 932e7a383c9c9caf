# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 10: From 2017 to today, one switch at a time
#
# Today's language models, LLaMA, Mistral, Qwen, are still Transformers, but a few parts
# have changed since 2017. Each change is a switch on our model: flip it, and one part takes
# its modern form. By the end you will be able to:
#
# - say what RMSNorm drops from LayerNorm;
# - draw SwiGLU and size it to the same parameter count;
# - explain RoPE as a rotation whose score depends only on the distance;
# - compute the cache of grouped-query attention;
# - translate with a decoder-only model that reads "source, then target";
# - tell which differences in an ablation table beat the noise.
#
# Shapes: B batch, S source length, T target length, D = d_model, H heads (inside SwiGLU's
# code, H is its hidden width), V vocabulary.

# %%
import math

import torch
from torch import nn

import annotated
from annotated import make_model, show
from annotated.decoder_only import DecoderOnly
from annotated.modern import (
    RMSNorm,
    RotaryEmbedding,
    SwiGLU,
    ablation_results,
    ablation_verdicts,
    swiglu_hidden,
)
from annotated.multihead import KVCache, MultiHeadedAttention
from annotated.viz.draw import ablation_figure, draw_loss_race
from annotated.viz.figures import FIGURES
from annotated.viz.measure import (
    RACE,
    RACE_MODEL,
    ablation_table,
    ffn_parameters,
    norm_outputs,
    pair_frequency,
    race_vocabularies,
    score_drift,
    switch_race,
)
from annotated.viz.widgets import rope_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## The map
#
# Five switches, each a keyword of `make_model`. The right column is what LLaMA 2 and 3 and
# Mistral use; the first LLaMA had all but grouped-query attention.
#
# | switch | 2017 | today | from |
# |---|---|---|---|
# | `norm_type` | LayerNorm | RMSNorm | Zhang & Sennrich, 2019 |
# | `ffn` | ReLU | SwiGLU | Shazeer, 2020 |
# | `position` | sines added to the input | RoPE, a rotation | Su et al., 2021 |
# | `kv_heads` | h key/value heads | fewer, shared | Shazeer, 2019; Ainslie et al., 2023 |
# | `arch` | encoder-decoder | decoder-only | Radford et al., 2018 |
#
# None changes what attention is. We take them one at a time, then race old against new.
#
# ## RMSNorm: scale, but do not centre
#
# LayerNorm, from chapter 6, subtracts a vector's mean, divides by its standard deviation,
# then applies a learned scale and shift. RMSNorm subtracts nothing. It divides by the **root
# mean square**, the square root of the mean of the squares, and applies a learned scale.
# Since RMS² = mean² + variance, the RMS equals the standard deviation only when the mean
# is 0. At the article's size:

# %%
class RMSNormSketch(nn.Module):
    """x / sqrt(mean(x²) + eps), times a learned scale per dimension."""

    def __init__(self, size: int, eps: float = 1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(size)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


x = torch.randn(2, 5, 512) * 3 + 1  # (B, S, D), mean 1, std 3
torch.testing.assert_close(RMSNormSketch(512)(x), nn.RMSNorm(512, eps=1e-6)(x))
torch.testing.assert_close(RMSNorm(512)(x), RMSNormSketch(512)(x))
print("sketch == torch.nn.RMSNorm == annotated's RMSNorm:", True)

# %% [markdown]
# What each one does to a vector:

# %%
_ = FIGURES["10_norms"].make()

# %% [markdown]
# *LayerNorm moves the bars so they straddle 0; RMSNorm divides every bar by the same
# number, so each keeps its sign.*

# %%
for name, v in norm_outputs().items():
    print(f"{name:<13} mean {v.mean().item():+.4f}   root mean square "
          f"{v.pow(2).mean().sqrt().item():.4f}")
cosine = torch.cosine_similarity(norm_outputs()["RMSNorm(x)"], norm_outputs()["x"], dim=0)
print(f"RMSNorm(x) points the same way as x: cosine {cosine.item():.4f}")

# %% [markdown]
# The mean is not removed: 2.125 becomes 0.842, divided by the RMS like every other number,
# and the cosine with x is 1. Zhang and Sennrich argued that the rescaling is what helps;
# dropping the centring saved time at the same quality in their experiments. Both norms keep
# the vector's shape, so `SublayerConnection` takes either. The package's version takes the
# mean of squares in float32, safe under mixed precision.

# %%
show(RMSNorm)

# %% [markdown]
# ## The gated feed-forward block: SwiGLU
#
# Chapter 6's block is `W_2 relu(W_1 x)`. A **gated linear unit**, GLU (Dauphin et al.,
# 2017), multiplies two expansions of x entry by entry, written ⊙: a **gate**, passed through
# an activation, and the **values**. GLU's gate used the **sigmoid**, σ(z) = 1 / (1 + e^(-z)),
# which squashes any number into (0, 1). SwiGLU uses **Swish**, z·σ(z), also called SiLU:
#
# `SwiGLU(x) = W_2 (silu(W_1 x) ⊙ W_3 x)`
#
# W_1 feeds the gate, W_3 the values: Shazeer's W and V. In code ⊙ is `*`. To pay for the
# third matrix, the hidden width shrinks to about 2/3 of d_ff.

# %%
_ = FIGURES["10_swiglu"].make()

# %% [markdown]
# *The third matrix is paid for by a narrower hidden layer, to the parameter.*

# %%
show(swiglu_hidden)
for name, (width, params) in ffn_parameters(512, 2048).items():
    print(f"{name:<7} hidden width {width:>5}   parameters {params:,}")
relu_params = ffn_parameters()["ReLU"][1]
gated_params = ffn_parameters()["SwiGLU"][1]
assert abs(relu_params - gated_params) <= 1.5 * 512
print(f"2/3 of d_ff = {2 * 2048 / 3:.1f}; the width that matches with the biases: "
      f"{swiglu_hidden(512, 2048)}")

# %% [markdown]
# The ReLU block has biases and SwiGLU has none, as in LLaMA, so the matched width is a
# little more than 2/3 of d_ff. The package's block, with dropout on the gated values:

# %%
show(SwiGLU)
ffn = SwiGLU(512, 2048, dropout=0.0)
x = torch.randn(2, 5, 512)  # (B, S, D)
print("in  ", tuple(x.shape), "(B, S, D)")
print("gate", tuple(ffn.w1(x).shape), "(B, S, hidden)")
print("out ", tuple(ffn(x).shape), "(B, S, D)")

# %% [markdown]
# Why does it help? Shazeer found gated variants reach a lower loss at equal parameters; he
# offered no reason but "divine benevolence".
#
# ## RoPE: positions as rotations
#
# Chapter 2, section 5, showed that a shift of positions turns each sin/cos pair by a 2 x 2
# rotation matrix. **Rotary position embedding**, RoPE, uses the rotation directly. Nothing is
# added to the input; inside attention, each query and key is turned by an angle that grows
# with its position. The anticlockwise turn by φ is
#
# $$R(\varphi) = \begin{pmatrix}\cos\varphi & -\sin\varphi\\ \sin\varphi & \cos\varphi
# \end{pmatrix}$$
#
# RoPE cuts a query's d_k numbers into d_k / 2 pairs, each a point in its own plane. The
# package pairs dimension i with i + d_k / 2. At position m, pair i is turned by
# $R(m\theta_i)$ with $\theta_i = 10000^{-2i/d_k}$: fast for the first pairs, slow for the
# last.

# %%
def turn(angle: float) -> torch.Tensor:
    """R(angle): the 2 x 2 matrix that turns a point anticlockwise by `angle` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s], [s, c]])


theta = 0.5  # one pair's angle per position
print("(1, 0) at position 3:", turn(3 * theta) @ torch.tensor([1.0, 0.0]))

# %% [markdown]
# Move the sliders: the position turns the pair, and the pair sets how fast it turns.

# %% tags=["nbval-ignore-output"]
rope_explorer()

# %% [markdown]
# Without a live kernel, here is pair 8 at position 5:

# %%
_ = FIGURES["10_rope"].make()

# %%
d_k = 64  # as in the widget: 32 pairs
for i in (0, 8, d_k // 2 - 1):
    w = pair_frequency(i, d_k=d_k)
    print(f"pair {i:>2}, dimensions {i} and {i + d_k // 2}: {w:.6f} rad per position, one turn "
          f"every {2 * math.pi / w:,.1f} positions, {64 * w / (2 * math.pi):.4f} turns in 64")

# %% [markdown]
# Pair 0 turns once every 6.3 positions; pair 31 barely moves over 64.
#
# Which dimensions pair up is a convention. Meta's first LLaMA code paired neighbours, (0, 1),
# (2, 3) and so on; GPT-NeoX and Hugging Face's LLaMA pair split halves. It does not matter:
# the two differ by a fixed reordering of the dimensions of q and k, which W_q and W_k absorb
# by ordering their rows.
#
# ### The score sees only the distance
#
# Take a query q at position m and a key k at n. A turn's transpose turns back,
# $R(\varphi)^\top = R(-\varphi)$, and two turns add their angles:
#
# $$R(m\theta)q \cdot R(n\theta)k = q^\top R(-m\theta) R(n\theta) k = q \cdot R((n-m)\theta)k$$
#
# The score sees only n - m, sign included: two words back differs from two words ahead.

# %%
q, k = torch.randn(2), torch.randn(2)
for m, n in ((7, 3), (12, 8)):
    print(f"m={m:>2}, n={n}: {(turn(m * theta) @ q) @ (turn(n * theta) @ k):.4f}   "
          f"q · R((n - m)θ) k: {q @ turn((n - m) * theta) @ k:.4f}")

# %% [markdown]
# Chapter 2 showed that PE(p)·PE(q) depends only on p - q, so why did the sine table not do
# this? It is added to the word x before W_q and W_k. With $A = W_q^\top W_k$:
#
# $$(x + p_m)^\top A (x + p_n) = x^\top A x + x^\top A p_n + p_m^\top A x + p_m^\top A p_n$$
#
# The **cross terms** in the middle depend on n alone and on m alone, and A now sits between
# the table's rows. RoPE adds nothing to x, so there are no cross terms. We check it: one
# word at every position, random W_q and W_k, query and key slid along together.

# %%
_ = FIGURES["10_rope_relative"].make()

# %% [markdown]
# *Sinusoidal: three starts, three different curves. RoPE: one curve, three times.*

# %%
for kind in ("sinusoidal", "rope"):
    print(f"{kind:<10} largest change of a score when the pair slides along: "
          f"{score_drift(kind):.4f}")
assert score_drift("rope") < 1e-4

# %% [markdown]
# The RoPE scores agree to float32 rounding: "look two words back" is learned once and holds
# everywhere. The package turns a whole (B, H, T, d_k) tensor:

# %%
show(RotaryEmbedding)
rope = RotaryEmbedding(d_k=64)
qs = torch.randn(2, 8, 10, 64)  # (B, H, T, d_k)
turned = rope(qs)
print("queries", tuple(qs.shape), "-> turned", tuple(turned.shape))
torch.testing.assert_close(turned.norm(dim=-1), qs.norm(dim=-1))
print("lengths unchanged: a rotation only turns", True)

# %% [markdown]
# Attention turns q and k after the split into heads. Values are not turned: position shapes
# where a head looks, not what it carries.
#
# ## Sharing keys and values: grouped-query attention
#
# Chapter 8's cache keeps every layer's keys and values of the tokens written so far. In a
# large model writing long texts, that cache, not the weights, fills the memory.
# **Multi-query attention** gives all h query heads one shared key/value head;
# **grouped-query attention** gives one to each group of query heads.

# %%
_ = FIGURES["10_gqa"].make()

# %% [markdown]
# *The cache stores only the bottom row: fewer key/value heads, a smaller cache.*
#
# W_k and W_v project to kv_heads x d_k numbers instead of D; each key/value head is then
# repeated for its group. Here key/value head j holds the number j:

# %%
h, kv_heads = 8, 2
kv = torch.arange(kv_heads).view(1, kv_heads, 1, 1)  # (B, kv_heads, T, d_k): head j holds j
shared = kv.repeat_interleave(h // kv_heads, dim=1)  # (B, H, T, d_k)
print("query heads 0..7 read key/value heads", shared.flatten().tolist())

# %% [markdown]
# The package does it in the two `repeat_interleave` lines; the cache and RoPE branches are
# chapter 8's and the section above's:

# %%
show(MultiHeadedAttention.forward)

# %% [markdown]
# The cache keeps the keys and values before the repeat. We decode 6 tokens and weigh it:

# %%
d_model, h, steps = 512, 8, 6
for kv_heads in (8, 2, 1):
    torch.manual_seed(0)
    mha = MultiHeadedAttention(h, d_model, dropout=0.0, kv_heads=kv_heads).eval()
    cache = KVCache()
    with torch.no_grad():
        for _ in range(steps):
            x = torch.randn(1, 1, d_model)  # (B, 1, D): the newest token
            mha(x, x, x, cache=cache)
    stored = cache.k.nbytes + cache.v.nbytes
    print(f"kv_heads {kv_heads}: W_k {tuple(mha.linears[1].weight.shape)}, cached keys "
          f"{tuple(cache.k.shape)} (B, kv_heads, T, d_k), {stored // steps:,} bytes per token")
    assert stored // steps == 2 * kv_heads * (d_model // h) * 4  # keys and values, float32

# %% [markdown]
# One layer keeps 2 x kv_heads x d_k numbers a token, 4 bytes each: 2 x 8 x 64 x 4 = 4,096
# bytes with 8 key/value heads, 1,024 with 2, 512 with 1, as in the figure. Ainslie et al.
# found 8 key/value heads close to full quality at nearly multi-query speed; LLaMA 2 70B and
# LLaMA 3 use them.

# %% [markdown]
# ## Decoder-only: the encoder folded in
#
# GPT and LLaMA have one causal stack that predicts the next token of whatever it reads.
# To translate, write source, separator and target as one sequence: "ein und zwanzig <s>
# twenty - one". The source is the prompt; the target is written token by token, each
# looking back at everything before it.

# %%
_ = FIGURES["10_decoder_only"].make()

# %% [markdown]
# *One causal stack does both jobs; only the red rows, which write the target, are trained.*
#
# We lose the source's view in both directions: a source word sees only the words before it.
# We gain one stack, one vocabulary, one mask, and training on any text. `make_model` keeps
# its two vocabulary sizes, which must be equal here:

# %%
sizes = dict(N=2, d_model=128, d_ff=512, h=4)
try:
    make_model(40, 50, arch="decoder", **sizes)
except ValueError as e:
    print(e)
torch.manual_seed(0)
encdec = make_model(40, 40, **sizes)
decoder = make_model(40, 40, arch="decoder", **sizes).eval()
print(type(encdec).__name__, f"{annotated.count_parameters(encdec):,} parameters")
print(type(decoder).__name__, f"{annotated.count_parameters(decoder):,} parameters, "
      f"{len(decoder.layers)} layers")

# %% [markdown]
# Chapters 7 and 8 call `encode(src)`, then `decode(memory, ...)`. A decoder-only model keeps
# both names, so they run unchanged. Its `encode` runs no layer: the "memory" is the source
# ids, left-padded. Its `decode` glues prompt and target, builds the causal mask, runs the
# stack and keeps the target's positions:

# %%
show(DecoderOnly.encode)
show(DecoderOnly.decode)
src, tgt = torch.tensor([[5, 6, 7]]), torch.tensor([[1, 8, 9]])  # (B, S), (B, T); 1 = <s>
with torch.no_grad():
    states = decoder(torch.cat([src, tgt], dim=1))  # (B, S + T, D)
    target_states = decoder.decode(decoder.encode(src), None, tgt)  # (B, T, D)
print("joint sequence", tuple(states.shape), "(B, S + T, D); target part",
      tuple(target_states.shape), "(B, T, D)")
torch.testing.assert_close(target_states, states[:, -3:])

# %% [markdown]
# `arch="decoder"` builds 2N layers, yet has fewer parameters: no cross-attention.
#
# ## All switches at once: a short race
#
# The 2017 model against one with every switch flipped. Both learn chapter 8's number words
# from the same seed and examples, with plain cross-entropy, for 200 steps: enough to see
# the curves part.

# %%
print("both:", RACE_MODEL)
for name, switches in RACE.items():
    print(f"{name}: {switches or 'the defaults'}")
vocab = race_vocabularies()
for name, size in vocab.items():
    print(f"{name} writes from {size} tokens: a blind guess scores ln {size} = "
          f"{math.log(size):.2f}")
show(switch_race)

# %% tags=["nbval-ignore-output"]
losses = switch_race()  # name -> training loss at each of the 200 steps
for name, loss in losses.items():
    print(f"{name:<5} step 1: {loss[0]:.2f}   mean of the last 20 steps: "
          f"{sum(loss[-20:]) / 20:.2f}")
assert all(loss[0] > math.log(vocab[name]) for name, loss in losses.items())
assert all(sum(loss[-20:]) / 20 < loss[0] / 2 for loss in losses.values())
assert sum(losses["today"][-20:]) < sum(losses["2017"][-20:])
_ = draw_loss_race(losses)

# %% [markdown]
# *Both curves fall; the modern model's falls further in the same number of steps.*
#
# The modern model starts higher: it writes from the joint vocabulary, so a blind guess
# scores worse. Both start a little above their blind guess, since fresh weights are not
# uniform. One seed and 200 steps make this an anecdote, not a result.

# %% [markdown]
# ## The stored ablation
#
# An **ablation** changes one part of a model at a time and measures what changes.
# `benchmarks/ablation.py` flips each switch alone on the numbers task, with two seeds;
# the package ships its table.

# %%
rows = ablation_results()  # one dict per row, read from the package's data
print(ablation_table(rows))

# %% [markdown]
# Row `base` is the 2017 model. Each other row flips one switch, except `modern`: RMSNorm,
# SwiGLU, RoPE and two key/value heads. All rows train equally long; within a seed, all see
# the same training and test examples.
#
# - *exact match*: the share of test examples translated exactly, overall and per seed.
# - *steps to 99%*: the first step with 99% exact match on validation examples; "-" if none
#   within the budget.
# - *cache bytes/token*: self-attention in every layer, float32; cross-attention's cache
#   holds the source and is not counted. Decoder-only caches in 2N layers, the base row
#   in N; `modern` has half the key/value heads.
# - *ms/step*: one training step of this small model.

# %%
_ = ablation_figure(rows)

# %% [markdown]
# *Each dot is one seed, the black tick their mean; dots that overlap the base row's show no
# difference.*
#
# A row's **spread** is its best seed minus its worst. A gap counts only if it is larger than
# the larger spread of the two rows. With two or three seeds, "larger" means look closer, not
# proof.
#
# ## Recap
#
# - RMSNorm divides by the RMS, not the standard deviation, and keeps the mean in, scaled.
# - SwiGLU multiplies a SiLU gate, W_1 x, by values, W_3 x, at about 2/3 of the width.
# - RoPE turns q and k by their positions, so a score depends only on n - m.
# - Grouped-query attention shares key/value heads; the cache shrinks by the group size.
# - A decoder-only model reads "source <s> target" with one causal stack.
#
# ## Your turn
#
# **1. Implement: RoPE on a whole vector.** Write `my_rope(x, m)`: x holds d_k numbers, with
# any leading shape, at position m. Turn pair i, dimensions i and i + d_k / 2, by
# $m\theta_i$, and keep the layout. An answer calling the package's RoPE is refused.
#
# <details><summary>Hint 1: the idea</summary>
#
# Each pair is a point turned by R. Pairs never mix, so all turn at once, each by its own
# angle.
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# `torch.arange` numbers the pairs. Slice the last axis into two halves; `torch.cat` joins
# the turned halves.
# </details>

# %%
from annotated.exercises import (  # noqa: E402
    check_biggest_switch,
    check_llama_cache,
    check_rope,
    check_sines_plus_rope,
)


def my_rope(x, m):
    ...


check_rope(my_rope)

# %% [markdown]
# **2. Predict: a real model's cache.** LLaMA 2 70B has 80 layers, 64 query heads,
# d_model = 8,192 and 2-byte numbers. How many bytes does a written token add to its cache
# with 64 key/value heads, and with the 8 it uses?
#
# <details><summary>Hint 1: the idea</summary>
#
# Per layer, the cache keeps a key and a value per key/value head, not per query head.
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Find d_k from d_model and h; count one layer's numbers, then times layers and bytes.
# </details>

# %%
prediction = {"kv_heads=64": ..., "kv_heads=8": ...}  # bytes per token
check_llama_cache(prediction)

# %% [markdown]
# The package's formula, and a text of 4,096 tokens:

# %%
from annotated.modern import cache_bytes_formula  # noqa: E402

show(cache_bytes_formula)
for kv_heads in (64, 8):
    per_token = cache_bytes_formula(80, kv_heads, 8192 // 64, 2)
    print(f"kv_heads {kv_heads:>2}: {per_token:,} bytes a token, "
          f"{per_token * 4096 / 2**30:.2f} GiB for 4,096 tokens")

# %% [markdown]
# **3. Break it: sines and RoPE together.** A model adds chapter 2's table to its input and
# also turns q and k with RoPE. Does a score still depend only on n - m?
#
# - (a) yes: the turns cancel every position;
# - (b) no: the table's cross terms survive the turns;
# - (c) no: scores stop depending on position at all.
#
# <details><summary>Hint 1: the idea</summary>
#
# The derivation above holds for any q and k. What are q and k before the turn here?
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Take the cross-term formula, then turn both sides. Which terms still carry m or n alone?
# </details>

# %%
answer = ...  # "a", "b" or "c"
check_sines_plus_rope(answer)

# %%
for kind in ("sinusoidal", "rope", "sinusoidal+rope"):
    print(f"{kind:<15} largest change of a score when the pair slides along: "
          f"{score_drift(kind):.4f}")
assert score_drift("sinusoidal+rope") > 100 * score_drift("rope")

# %% [markdown]
# **4. Discover: which switch mattered most?** Among the one-switch rows, find the one whose
# exact match is furthest from the base row's. Give its verdict by the rule above: "larger"
# than the spread, "within" it, or "one seed" if it beats the only spread there is.
#
# <details><summary>Hint 1: the idea</summary>
#
# A switch that hurts moves the table as much as one that helps: compare sizes, not signs.
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Each row of `rows` has "config", the switches it flips, "exact_match" and "per_seed".
# </details>

# %%
answer = {"row": ..., "verdict": ...}  # a row's name; "larger", "within" or "one seed"
check_biggest_switch(answer)

# %% [markdown]
# The rule, applied to every row:

# %%
for name, gap, noise, verdict in ablation_verdicts(rows):
    print(f"{name:<11} {gap:+.3f} against the base row, larger spread {noise:.3f}: {verdict}")

# %% [markdown]
# Only learned positions, whose table starts knowing nothing about order, land outside the
# spread. Two seeds make that a lead to check, not a ranking.
#
# ## Further reading
#
# - Zhang and Sennrich, [Root Mean Square Layer
#   Normalization](https://arxiv.org/abs/1910.07467), 2019.
# - Shazeer, [GLU Variants Improve Transformer](https://arxiv.org/abs/2002.05202), 2020.
# - Su et al., [RoFormer](https://arxiv.org/abs/2104.09864), 2021: RoPE.
# - Shazeer, [One Write-Head is All You Need](https://arxiv.org/abs/1911.02150), 2019, and
#   Ainslie et al., [GQA](https://arxiv.org/abs/2305.13245), 2023.
# - Touvron et al., [LLaMA](https://arxiv.org/abs/2302.13971), 2023: the switches together.
# - S. Raschka, [LLMs from Scratch](https://github.com/rasbt/LLMs-from-scratch): GPT
#   turned into LLaMA, one change at a time.
# - Vaswani et al., [Attention Is All You Need](https://arxiv.org/abs/1706.03762), 2017,
#   and [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/):
#   where we started.


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
# The model we built is the 2017 Transformer. The language models of today, LLaMA, Mistral,
# Qwen and their relatives, are still Transformers, but a handful of parts have changed.
# Each change is a switch on the same model: flip it, and one part is swapped for its
# modern version while everything else stays put. By the end of this chapter you will be
# able to:
#
# - say what RMSNorm drops from LayerNorm, and why that is cheap and harmless;
# - draw the gated feed-forward block, SwiGLU, and size it to the same parameter count;
# - explain RoPE as a rotation, and show that its score depends only on the distance;
# - compute the decoding cache of grouped-query and multi-query attention;
# - turn the encoder-decoder into a decoder-only model that reads "source, then target";
# - read an ablation table and say which differences are larger than the noise.
#
# Letters used for shapes: B batch, S source length, T target length, D = d_model,
# H heads, V vocabulary.

# %%
import torch
from torch import nn

import annotated
from annotated import make_model, show
from annotated.modern import (
    RMSNorm,
    RotaryEmbedding,
    SwiGLU,
    ablation_results,
    cache_bytes_formula,
    rotate_pair,
    swiglu_hidden,
)
from annotated.multihead import KVCache, MultiHeadedAttention
from annotated.viz.draw import ablation_figure, draw_loss_race
from annotated.viz.figures import FIGURES
from annotated.viz.measure import (
    RACE,
    RACE_MODEL,
    ablation_table,
    ablation_verdicts,
    ffn_parameters,
    norm_outputs,
    relative_scores,
    switch_race,
)
from annotated.viz.widgets import rope_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## The map
#
# Five switches, each a keyword of `make_model`. The left column is the model of chapters
# 1 to 9; the right one is what LLaMA uses.
#
# | switch | 2017 | today | from |
# |---|---|---|---|
# | `norm_type` | LayerNorm | RMSNorm | Zhang & Sennrich, 2019 |
# | `ffn` | ReLU | SwiGLU | Shazeer, 2020 |
# | `position` | sines added to the input | RoPE, a rotation | Su et al., 2021 |
# | `kv_heads` | h key/value heads | fewer, shared | Shazeer, 2019; Ainslie et al., 2023 |
# | `arch` | encoder-decoder | decoder-only | Radford et al., 2018 |
#
# None of them changes what attention is. They make the model cheaper to run, a little
# better per parameter, or simpler. We take them one at a time, each with a picture and a
# check, and then race the old model against the new one.
#
# ## RMSNorm: scale, but do not centre
#
# LayerNorm, from chapter 6, does two things to each position's vector: it subtracts the
# mean of its D numbers, then divides by their standard deviation. A learned scale and
# shift follow. RMSNorm keeps only the division. It divides by the **root mean square**,
# the square root of the mean of the squares, and multiplies by a learned scale. There is
# no mean to subtract and no shift to add.
#
# At the article's size it is three lines:

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
# *LayerNorm moves the bars so they straddle 0; RMSNorm only shrinks them, and every bar
# keeps its sign.*

# %%
for name, v in norm_outputs().items():
    print(f"{name:<13} mean {v.mean().item():+.4f}   root mean square "
          f"{v.pow(2).mean().sqrt().item():.4f}")
ln, rms = norm_outputs()["LayerNorm(x)"], norm_outputs()["RMSNorm(x)"]
cosine = torch.cosine_similarity(rms, norm_outputs()["x"], dim=0).item()
print(f"RMSNorm(x) points the same way as x: cosine {cosine:.4f}")

# %% [markdown]
# RMSNorm's output is x itself, shortened: its cosine with x is 1. Zhang and Sennrich
# argued that the rescaling is what makes LayerNorm useful, and the centring is not needed.
# Dropping it saves a mean and a subtraction per vector, and the shift parameters. In
# their translation experiments that made training steps faster at the same quality.
# In a pre-norm model it is a drop-in swap, which is why the package's `SublayerConnection`
# takes either norm. The package's version, hardened: the mean of squares is taken in
# float32, so that mixed precision cannot overflow it.

# %%
show(RMSNorm)

# %% [markdown]
# ## The gated feed-forward block: SwiGLU
#
# The block of chapter 6 is `W_2 relu(W_1 x)`. A **gated** block computes two expansions
# of x and multiplies them entry by entry: one goes through an activation and acts as a
# gate, the other carries the values. SwiGLU uses SiLU, `z * sigmoid(z)`, as the gate's
# activation:
#
# `SwiGLU(x) = W_2 (silu(W_1 x) * W_3 x)`
#
# Three matrices instead of two. To compare fairly, Shazeer shrank the hidden width to
# about 2/3 of d_ff, so both blocks have the same number of parameters.

# %%
_ = FIGURES["10_swiglu"].make()

# %% [markdown]
# *The gate is a third matrix; the narrower hidden layer pays for it, to the parameter.*

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
print("in ", tuple(x.shape), "(B, S, D)")
print("gate", tuple(ffn.w1(x).shape), "(B, S, hidden)")
print("out", tuple(ffn(x).shape), "(B, S, D)")

# %% [markdown]
# Why does it help? Shazeer compared eight variants at equal parameters and found the
# gated ones reached a lower loss. He offered no explanation and said so; his paper closes
# by attributing their success "to divine benevolence". The package also has GELU, the
# smooth ReLU of BERT and GPT-2, as `ffn="gelu"`.
#
# ## RoPE: positions as rotations
#
# Chapter 2 added a table of sines and cosines to the embeddings. It also showed that one
# sin/cos pair of that table moves around a circle as the position grows, so a shift by k
# positions is a rotation. **Rotary position embedding**, RoPE, uses that rotation
# directly. It adds nothing to the input. Instead, inside every attention layer, it turns
# each query and each key by an angle proportional to its position.
#
# The d_k numbers of a query are cut into d_k / 2 pairs. Pair i turns by `m * theta_i`
# radians at position m, with `theta_i = 10000^(-2i / d_k)`: fast turns for the first
# pairs, slow ones for the last.
#
# For one pair, the shortest way to write a turn is with complex numbers, as the RoFormer
# paper and LLaMA's first code did. Read the pair as x1 + i·x2; multiplying it by e^(iφ), a complex
# number of length 1, turns it by φ:

# %%
def rope_one_pair(x1, x2, m, theta):
    """Turn the pair (x1, x2) of a query or key at position m by the angle m * theta."""
    turned = torch.complex(x1, x2) * torch.polar(torch.tensor(1.0), torch.tensor(m * theta))
    return turned.real, turned.imag


q = rope_one_pair(torch.tensor(1.0), torch.tensor(0.0), m=3, theta=0.5)
print("(1, 0) at position 3, 0.5 rad per position:", [round(v.item(), 4) + 0.0 for v in q])
torch.testing.assert_close(q, rotate_pair(torch.tensor(1.0), torch.tensor(0.0),
                                          torch.tensor(1.5)))

# %% [markdown]
# Move the sliders: the position turns the pair, and the pair sets how fast it turns.

# %% tags=["nbval-ignore-output"]
rope_explorer()

# %% [markdown]
# Try pair 0, the fastest: one turn every 6.3 positions. Then pair 31, the slowest: it
# barely moves over 64 positions. Between them, the pairs act like the hands of a clock,
# from seconds to hours.
#
# ### The score sees only the distance
#
# Turn the query by m angles and the key by n angles. Their dot product is the dot product
# of the unturned vectors with one of them turned by the difference, m - n. So the score of
# a query at m and a key at n depends on where they sit only through m - n. With the added
# sine table that is not so: the table is mixed into the vectors before W_q and W_k.
#
# We test it with one word's vector at every position and random W_q and W_k. We slide
# the pair along, keeping the distance, and compare the scores.

# %%
_ = FIGURES["10_rope_relative"].make()

# %% [markdown]
# *Sinusoidal: three starts, three different curves. RoPE: one curve, three times.*

# %%
for kind in ("sinusoidal", "rope"):
    scores = torch.stack(list(relative_scores(kind).values()))  # (starts, distances)
    spread = (scores - scores[0]).abs().max().item()
    print(f"{kind:<10} largest change of a score when the pair slides along: {spread:.4f}")
rope_spread = (lambda s: (s - s[0]).abs().max().item())(
    torch.stack(list(relative_scores("rope").values())))
assert rope_spread < 1e-4

# %% [markdown]
# The RoPE scores agree to float32 rounding. That is why RoPE is called relative: a
# model can learn "look two words back" once, and it holds at every position. It also
# needs no table of a fixed length. The package's version rotates a whole (B, H, T, d_k)
# tensor at once. Its pairs are split halves: dimension i pairs with i + d_k / 2, as in
# LLaMA and GPT-NeoX.

# %%
show(RotaryEmbedding)
rope = RotaryEmbedding(d_k=64)
qs = torch.randn(2, 8, 10, 64)  # (B, H, T, d_k)
turned = rope(qs)
print("queries", tuple(qs.shape), "-> turned", tuple(turned.shape))
torch.testing.assert_close(turned.norm(dim=-1), qs.norm(dim=-1))
print("lengths unchanged: a rotation only turns", True)

# %% [markdown]
# In the model, `MultiHeadedAttention(..., rope=RotaryEmbedding(d_k))` turns q and k after
# the split into heads. Values are not turned: position shapes where a head looks, not
# what it carries.
#
# ## Sharing keys and values: grouped-query attention
#
# Chapter 8 decoded with a key/value cache: every layer keeps the keys and values of the
# tokens written so far, so each new token computes only its own. For a large model, that
# cache, not the weights, is what fills the memory when it writes long texts for many users.
#
# **Multi-query attention** keeps the h query heads but gives them one shared key head and
# one shared value head. **Grouped-query attention** is the middle way: the query heads
# form groups, and each group shares one key/value head.

# %%
_ = FIGURES["10_gqa"].make()

# %% [markdown]
# *The cache stores only the bottom row: fewer key/value heads, a smaller cache.*
#
# The package's `MultiHeadedAttention` takes `kv_heads`. W_k and W_v then project to
# kv_heads x d_k numbers instead of D, and each key/value head is repeated for its group
# of query heads. We decode 6 tokens one at a time with a cache, and weigh it:

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
    assert stored // steps == cache_bytes_formula(1, kv_heads, d_model // h, 4)

# %% [markdown]
# One layer in float32: 4,096 bytes a token with 8 key/value heads, 1,024 with 2, 512 with
# 1. The cache shrinks by the group size, as the formula `cache_bytes_formula` says. Ainslie
# et al. found that grouped-query attention with 8 key/value heads comes close to full
# multi-head quality while decoding almost as fast as multi-query; LLaMA 2's largest model
# and LLaMA 3 use it.

# %% [markdown]
# ## Decoder-only: the encoder folded in
#
# GPT and LLaMA have no encoder. They have one stack of causal self-attention layers that
# predicts the next token of whatever it reads. To translate with such a model, write the
# source, a separator, then the target, as one sequence: "ein und zwanzig <s> twenty -
# one". The model reads the source part as a prompt. The target part is written one token
# at a time, each looking back at the source and at the target so far.

# %%
_ = FIGURES["10_decoder_only"].make()

# %% [markdown]
# *One causal stack does both jobs; only the red rows, which write the target, are
# trained.*
#
# What did we lose? In the encoder-decoder, source words see each other in both
# directions. Here a source word sees only the words before it. What did we gain? One
# stack, one vocabulary, one mask, and a model that can be trained on any text without
# pairing it. The source counts as context, not as a task: the loss covers the target
# tokens only.

# %%
sizes = dict(N=2, d_model=128, d_ff=512, h=4)
torch.manual_seed(0)
encdec = make_model(40, 40, **sizes)
decoder = make_model(40, 40, arch="decoder", **sizes).eval()
print(type(encdec).__name__, f"{annotated.count_parameters(encdec):,} parameters")
print(type(decoder).__name__, f"{annotated.count_parameters(decoder):,} parameters, "
      f"{len(decoder.layers)} layers")
show(type(decoder).forward)
src, tgt = torch.tensor([[5, 6, 7]]), torch.tensor([[1, 8, 9]])  # (B, S), (B, T); 1 = <s>
with torch.no_grad():
    states = decoder(torch.cat([src, tgt], dim=1))  # (B, S + T, D)
    target_states = decoder.decode(decoder.encode(src), None, tgt)  # (B, T, D)
print("joint sequence", tuple(states.shape), "(B, S + T, D); target part",
      tuple(target_states.shape), "(B, T, D)")
torch.testing.assert_close(target_states, states[:, -3:])

# %% [markdown]
# `make_model(..., arch="decoder")` builds 2N layers, as many as the encoder and decoder
# together. It has fewer parameters all the same: no layer has a cross-attention. Its
# `decode` returns the target's positions only, so the training loop of chapter 7 and the
# greedy decoding of chapter 8 use it unchanged, and the loss counts the target alone.

# %% [markdown]
# ## All switches at once: a short race
#
# Now the 2017 model against one with every switch flipped: RMSNorm, SwiGLU, RoPE, two
# key/value heads for four query heads, and decoder-only. Both learn the number words of
# chapter 8, from the same seed, on the same examples in the same order. Each trains for
# 200 steps: enough to see the curves part, far too few to finish.

# %%
print("both:", RACE_MODEL)
for name, switches in RACE.items():
    print(f"{name}: {switches or 'the defaults'}")
show(switch_race)

# %% tags=["nbval-ignore-output"]
losses = switch_race()  # name -> training loss at each of the 200 steps
for name, loss in losses.items():
    print(f"{name:<5} step 1: {loss[0]:.2f}   mean of the last 20 steps: "
          f"{sum(loss[-20:]) / 20:.2f}")
assert all(sum(loss[-20:]) / 20 < loss[0] / 2 for loss in losses.values())
assert sum(losses["today"][-20:]) < sum(losses["2017"][-20:])
_ = draw_loss_race(losses)

# %% [markdown]
# *Both curves fall; the modern model's falls further in the same number of steps.*
#
# The modern model starts higher: it reads and writes one joint vocabulary, German,
# Japanese and English together, so a blind guess has more tokens to choose from. It ends
# lower. One seed and 200 steps make this an anecdote, not a result: the section below
# has the measurement.

# %% [markdown]
# ## The stored ablation
#
# One short run is one sample. To know which switch matters, each one has to be flipped
# alone, trained to the end and repeated with several seeds. `benchmarks/ablation.py`
# does that on the numbers task, and the package ships its table.

# %%
rows = ablation_results()  # one dict per row, read from the package's data
print(ablation_table(rows))

# %% [markdown]
# Each row flips one switch of the 2017 model, except "modern", which flips the four
# inside the layers. Every row trains for the same number of steps. Within one seed,
# every row sees the same training and test numbers; another seed draws other numbers and
# other starting weights, and the same model lands in a slightly different place. The
# picture shows each seed as a dot:

# %%
_ = ablation_figure(rows)

# %% [markdown]
# *Each dot is one seed, each black tick the mean; a row whose dots overlap the 2017 row's dots
# is not shown to be different.*
#
# That is the rule for reading any such table: a gap counts only if it is larger than
# the spread between seeds of the same model. The cell below applies it to every row, and
# nothing more. Two or three seeds give only a rough spread, so a verdict of "larger"
# is a reason to look closer, not a proof.

# %%
for name, gap, noise, verdict in ablation_verdicts(rows):
    print(f"{name:<11} {gap:+.3f} against the 2017 row, seeds spread {noise:.3f}: {verdict}")

# %% [markdown]
# The other columns need no seeds. The parameters and the cache follow from the shapes,
# as this chapter computed them: fewer key/value heads shrink the cache and W_k and W_v.
# The time per step was measured on one CPU thread for this small model; it is not the
# speed of a large one.
#
# %% [markdown]
# ## Recap
#
# - RMSNorm divides by the root mean square and keeps the mean: LayerNorm without the
#   centring, cheaper and as good.
# - SwiGLU gates one expansion with another; with 2/3 of the width it costs the same.
# - RoPE turns queries and keys by their positions, so a score depends only on m - n.
# - Grouped-query attention shares key/value heads; the cache shrinks by the group size.
# - A decoder-only model reads "source <s> target" with one causal stack.
#
# ## Your turn
#
# **1. Implement: RoPE for one pair.** Write `my_rotate_pair(x1, x2, angle)`: the pair
# (x1, x2), tensors of any shape, turned anticlockwise by `angle` radians. Return the
# two new tensors.

# %%
from annotated.exercises import (  # noqa: E402
    check_biggest_switch,
    check_cache_bytes,
    check_rotate_pair,
)


def my_rotate_pair(x1, x2, angle):
    ...


check_rotate_pair(my_rotate_pair)

# %% [markdown]
# **2. Predict: the cache of a real model.** Before you write code, estimate: LLaMA 2's
# 70B model has 80 layers, 64 query heads, d_model = 8,192 and 8 key/value heads. How many
# bytes does each token add to its cache in 2-byte numbers? Then write
# `cache_bytes(layers, h, kv_heads, d_model, bytes_per_value)` for any model.

# %%
def cache_bytes(layers, h, kv_heads, d_model, bytes_per_value):
    ...


check_cache_bytes(cache_bytes)

# %% [markdown]
# **3. Discover: which switch mattered most?** In the ablation table above, find the row
# that flips one switch and whose exact match moved furthest from the 2017 row. Then look
# at its seeds: is the gap larger than their spread? If not, what would you run to decide?

# %%
answer = ...  # a row's name, e.g. "rms"
check_biggest_switch(answer)
#
# ## Further reading
#
# - Zhang and Sennrich, [Root Mean Square Layer
#   Normalization](https://arxiv.org/abs/1910.07467), 2019.
# - Shazeer, [GLU Variants Improve Transformer](https://arxiv.org/abs/2002.05202), 2020.
# - Su et al., [RoFormer: Enhanced Transformer with Rotary Position
#   Embedding](https://arxiv.org/abs/2104.09864), 2021.
# - Shazeer, [Fast Transformer Decoding: One Write-Head is All You
#   Need](https://arxiv.org/abs/1911.02150), 2019: multi-query attention.
# - Ainslie et al., [GQA: Training Generalized Multi-Query Transformer Models from
#   Multi-Head Checkpoints](https://arxiv.org/abs/2305.13245), 2023.
# - Touvron et al., [LLaMA: Open and Efficient Foundation Language
#   Models](https://arxiv.org/abs/2302.13971), 2023: these switches together.
# - S. Raschka, [LLMs from Scratch](https://github.com/rasbt/LLMs-from-scratch): the bonus
#   chapters build GPT into LLaMA, one change at a time.
# - A. Karpathy, [nanochat](https://github.com/karpathy/nanochat): a small modern
#   chat model, trained end to end.
# - Stanford [CS336, Language Modeling from Scratch](https://stanford-cs336.github.io/):
#   assignment 1 builds these parts and checks them against reference outputs.
# - Vaswani et al., [Attention Is All You Need](https://arxiv.org/abs/1706.03762), 2017,
#   and [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/):
#   where we started.

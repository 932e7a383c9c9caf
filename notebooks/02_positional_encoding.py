# %% [markdown]
# # Chapter 2: Positional encoding, telling the model where each word is
#
# Chapter 1 turned each word into a vector. Nothing in those vectors says where the word stands,
# and attention, the Transformer's core, ignores order by itself. By the end you will be able to:
#
# - show that attention without positions confuses "John loves Mary" with "Mary loves John";
# - say, with numbers, what goes wrong when we add +1, +2, +3, ... to the words;
# - write the sine/cosine formula and read its table, curves and similarities;
# - explain why a shift by Δ positions is a rotation.
#
# Shapes: B batch, S sequence length, D d_model, V vocabulary size, L positions in a table.

# %%
import math

import torch
from torch import nn

import annotated
from annotated import Embeddings, PositionalEncoding, attention, pretrained, show
from annotated.examples import JOHN, MARY, WordVocab
from annotated.positional import shift_matrix, sinusoidal_frequencies, sinusoidal_table
from annotated.viz.figures import FIGURES
from annotated.viz.draw import draw_positional, draw_positions_switch
from annotated.viz.measure import source_positions_off
from annotated.viz.primitives import curves, grid, heatmap

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()
d_model = 512

# %% [markdown]
# ## 1. Why order matters: "John loves Mary" vs "Mary loves John"
#
# Only the order says who loves whom. Let us feed both through **self-attention**, the layer
# of the next chapter: each word's output is a weighted mix of all the words, with weights
# computed from the word vectors themselves. A one-head sketch with untrained weights (its
# queries, keys and values are explained in chapter 3):

# %%
cosine = torch.nn.functional.cosine_similarity
vocab = WordVocab()
embed = Embeddings(d_model, len(vocab))
nn.init.xavier_uniform_(embed.lut.weight)  # make_model's start, as in chapter 1
embed = embed.to(device)
proj_q, proj_k, proj_v = (nn.Linear(d_model, d_model).to(device) for _ in range(3))


def self_attention(x: torch.Tensor) -> torch.Tensor:
    """One head of self-attention: (B, S, D) -> (B, S, D)."""
    out, _ = attention(proj_q(x), proj_k(x), proj_v(x))  # queries, keys, values: all from x
    return out


with torch.no_grad():
    john_first = self_attention(embed(vocab.encode(JOHN).to(device)))  # (1, 3, D)
    mary_first = self_attention(embed(vocab.encode(MARY).to(device)))  # (1, 3, D)
print(vocab.tokenize(JOHN), "and", vocab.tokenize(MARY), "-> outputs of shape (B, S, D) =",
      tuple(john_first.shape))
# "john" is word 0 of the first sentence and word 2 of the second.
same = torch.allclose(john_first[0, 0], mary_first[0, 2], atol=1e-5)
print("output for 'john' identical in both sentences:", same)
assert same

# %% [markdown]
# The output for "john" is the same whether John loves or is loved. Self-attention is **permutation-equivariant**: shuffle the input words and the outputs are
# shuffled the same way, nothing else changes. A check on six random vectors:

# %%
x = torch.randn(1, 6, d_model).to(device)  # (B, S, D): six "words"
perm = torch.randperm(6)
print("shuffle:", perm.tolist())
with torch.no_grad():
    gap = (self_attention(x[:, perm]) - self_attention(x)[:, perm]).abs().max().item()
print("max |f(shuffled x) - shuffled f(x)| =", round(gap, 4))
assert gap < 1e-5

# %% [markdown]
# Now add a different vector to each position first: the **positional encoding** built in
# this chapter. The same word at two places becomes two different vectors:

# %%
position = PositionalEncoding(d_model, dropout=0.0).to(device)  # (B, S, D) -> (B, S, D)
with torch.no_grad():
    gap = (self_attention(position(x[:, perm])) - self_attention(position(x))[:, perm]).abs()
    john_first = self_attention(position(embed(vocab.encode(JOHN).to(device))))
    mary_first = self_attention(position(embed(vocab.encode(MARY).to(device))))
print("with positions: max |f(shuffled x + PE) - shuffled f(x + PE)| =",
      round(gap.max().item(), 4))
a, b = john_first[0, 0], mary_first[0, 2]
print(f"'john' in the two sentences: max gap {(a - b).abs().max().item():.3f},"
      f" cosine {cosine(a, b, dim=0).item():.3f}")
assert gap.max() > 0.01 and not torch.allclose(a, b, atol=0.01)

# %% [markdown]
# The symmetry is gone: "john" now gets two different outputs. The gap is small because
# untrained attention is close to a plain average of the words; training can make it larger.
#
# ### The same on a trained model
#
# The course ships a trained translator from German or Japanese number words to English. In
# Japanese, 23 is 二十三, "two ten three", and 32 is 三十二: the same tokens in another order.
# Switch off the positions its encoder adds, and it can no longer tell them apart:

# %%
translator = pretrained.load("numbers")
pair = ["二十三", "三十二"]  # 23 and 32
print("tokens:", [translator.task.source_tokens(t) for t in pair])
print("positions on: ", translator.translate(pair))
with source_positions_off(translator.model):  # the encoder adds zeros instead of PE
    off = translator.translate(pair)
print("positions off:", off)
assert off[0] == off[1]

# %% [markdown]
# Without positions, the encoder hands the decoder the same set of vectors in another order,
# and the decoder reads that set by attention, which ignores order.
#
# Try it: type a number and switch the source positions off. The picture is the decoder's
# attention to the source (chapter 6): rows are the English words, columns the source tokens.

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import positions_switch_explorer  # noqa: E402

positions_switch_explorer(translator)

# %% [markdown]
# Without a live kernel, here is 32 with positions on, then off:

# %%
_ = draw_positions_switch(translator, 32, "ja", positions=True)
_ = draw_positions_switch(translator, 32, "ja", positions=False)

# %% [markdown]
# ## 2. Why not just add +1, +2, +3, ...?
#
# The simplest idea: add 1 to every number of the first word's vector, 2 to the second's, and
# so on. François Porcher's article "The A-Z of Transformers: Everything You Need to Know"
# lists three problems, measured here.
#
# **Problem 1: one number for 512 dimensions.** The vector added at position p is
# `(p, p, ..., p)`. All such vectors point in one direction, so the cosine between any two is 1.

# %%
naive = torch.arange(100.0).unsqueeze(1).expand(100, d_model)  # (L, D): row p is p, p, ..., p
pe = sinusoidal_table(100, d_model)  # (L, D), used in the rest of the chapter
for p, q in [(3, 4), (3, 50)]:
    print(f"cosine(position {p}, position {q}): +p scheme "
          f"{cosine(naive[p], naive[q], dim=0).item():.4f} | sinusoidal "
          f"{cosine(pe[p], pe[q], dim=0).item():.4f}")

# %% [markdown]
# The +p vectors cannot tell position 3 from position 50 by direction; the sinusoidal ones can.
#
# <details><summary>Under the hood: how many directions does each table use?</summary>
#
# The **singular values** of a table measure how much of it lies along each independent
# direction. Every +p row is a multiple of `(1, ..., 1)`: one direction. The sinusoidal table
# uses all 100 in exact arithmetic, but its values fall steeply: over 100 positions a slow
# column is almost a straight line, so many columns nearly repeat each other. Where you cut
# sets the count, a **numerical rank**:
# </details>

# %%
# Under the hood, continued (optional): singular values and numerical rank of both tables.
s_naive = torch.linalg.svdvals(naive.double())  # (100,), largest first
print(f"+p scheme: singular value 0 = {s_naive[0].item():.1e}, the other 99 below 1e-6:",
      bool(s_naive[1:].max() < 1e-6))
s_sin = torch.linalg.svdvals(pe.double())  # (100,)
print("sinusoidal: singular values 0, 1, 10, 30, 40 =",
      ", ".join(f"{s_sin[i].item():.1e}" for i in (0, 1, 10, 30, 40)))
print("numerical rank of the sinusoidal table: float32 tolerance",
      torch.linalg.matrix_rank(pe).item(), "| float64 tolerance",
      torch.linalg.matrix_rank(pe.double()).item())

# %% [markdown]
# **Problem 2: values far outside [-1, 1].** The embedding entries are numbers of size about
# 1. At position 2000 the naive scheme adds 2000 to each of them:

# %%
with torch.no_grad():  # this chapter's scaled embeddings: Xavier start, times sqrt(D)
    all_ids = torch.arange(len(vocab), device=device).unsqueeze(0)  # (1, V): every word once
    emb_rms = embed(all_ids).pow(2).mean().sqrt().item()
print(f"RMS of one embedding entry here: {emb_rms:.2f}")
for p in (3, 100, 2000):
    print(f"position {p:4}: added value {p:4} = {p / emb_rms:6.0f} x the embedding's size"
          f" | sinusoidal entries stay in [{pe.min().item():.0f}, {pe.max().item():.0f}]")

# %% [markdown]
# The word's meaning would be drowned out by its position.
#
# **Problem 3: long texts and relative positions.** With +p, the word "cat" at position 3 and
# at position 3003 differ by 3000 in every entry, although its neighbourhood, "the cat
# drinks", is the same. What matters for meaning is mostly where words stand **relative to
# each other**. Compare the dot product of two positions 2 apart, early and late:

# %%
long_pe = sinusoidal_table(3100, d_model)  # (L, D)
long_naive = torch.arange(3100.0).unsqueeze(1).expand(3100, d_model)  # (L, D): the +p table
for p in (3, 3003):
    print(f"p = {p:4}: +p scheme PE(p)·PE(p + 2) = {(long_naive[p] @ long_naive[p + 2]).item():.4g}"
          f" | sinusoidal {(long_pe[p] @ long_pe[p + 2]).item():.2f}")
print("sinusoidal lengths |PE(3)|, |PE(3003)|:", long_pe[3].norm().item(),
      long_pe[3003].norm().item())
assert torch.allclose(long_pe[3] @ long_pe[5], long_pe[3003] @ long_pe[3005], atol=1e-2)

# %% [markdown]
# With +p, the similarity of two words depends on where they are, not on how far apart: 7,680
# early, about 4.6e9 late. The sinusoidal vectors all have the same length, `sqrt(D/2) = 16`,
# and their dot product depends only on the distance.
#
# ## 3. The sine and cosine formula
#
# Each position p gets a vector of D numbers. Dimensions come in pairs `(2k, 2k + 1)`, and each
# pair k has its own frequency $w_k$:
#
# $$PE_{(p,\,2k)} = \sin(p \cdot w_k), \qquad PE_{(p,\,2k+1)} = \cos(p \cdot w_k), \qquad
# w_k = \frac{1}{10000^{2k / d_{model}}}$$
#
# Sine on the even dimensions, cosine on the odd ones. The frequency falls along the
# dimensions: pair 0 turns once every $2\pi \approx 6.3$ positions, the last pair once every
# $2\pi \cdot 10000^{510/512} \approx 60{,}000$ positions. At the article's size, the whole
# table is five lines:

# %%
def sketch_table(max_len: int, d_model: int) -> torch.Tensor:
    p = torch.arange(max_len).unsqueeze(1)  # (L, 1): the positions
    w = 1 / 10000 ** (torch.arange(0, d_model, 2) / d_model)  # (D/2,): one frequency a pair
    table = torch.zeros(max_len, d_model)  # (L, D)
    table[:, 0::2], table[:, 1::2] = torch.sin(p * w), torch.cos(p * w)  # (L, 1) * (D/2,)
    return table


small = sketch_table(4, 8)  # 4 positions, d_model = 8
print("the table for 4 positions and d_model = 8, shape (L, D) =", tuple(small.shape))
print(small.round(decimals=4) + 0.0)
assert torch.allclose(small, sinusoidal_table(4, 8), atol=1e-6)

# %% [markdown]
# `p * w` multiplies a column of positions by a row of frequencies into an (L, D/2) table:
# broadcasting, from the primer A1. Row 0 is `(0, 1, 0, 1, ...)`: sin 0 = 0 and cos 0 = 1.
#
# The package's version is the same table, hardened: it refuses an odd d_model and computes
# the frequencies as the original code does.

# %%
show(sinusoidal_frequencies)
show(sinusoidal_table)

# %% [markdown]
# <details><summary>Under the hood: why exp and log?</summary>
#
# $\exp(-\tfrac{2k}{d_{model}} \ln 10000)$ equals $1 / 10000^{2k/d_{model}}$ up to float32
# rounding, about one part in a million: hence the `1e-6` in the assert above.
# </details>
#
# The whole table, for 100 positions, drawn at d_model = 128 so that the columns stay visible:

# %%
_ = FIGURES["02_pe_heatmap"].make()

# %% [markdown]
# *Each row is one position's vector. Follow the curved edge between the busy left columns
# and the still right ones: it moves right as p grows.*
#
# **A correction.** The article reads this picture as "later positions change faster". But
# each $w_k$ is fixed; what grows is the angle $p \cdot w_k$. Count the pairs past 0.1 radian:

# %%
w128 = sinusoidal_frequencies(128)  # (64,): the figure's frequencies, fixed
for p in (10, 99):
    print(f"position {p:2}: {int((p * w128 > 0.1).sum())} of 64 pairs have turned by over "
          "0.1 radian")

# %% [markdown]
# 48 pairs at position 99, 32 at position 10: a larger p reaches further along the row.
#
# The same table read column by column:

# %%
w = sinusoidal_frequencies(d_model)  # (D/2,)
print("wavelength of pairs 20, 50, 80:",
      [round(2 * math.pi / w[k].item(), 1) for k in (20, 50, 80)], "positions")
_ = curves(range(150), {f"dim {i} ({'sin' if i % 2 == 0 else 'cos'}, k = {i // 2})":
                        long_pe[:150, i] for i in (40, 100, 101, 160)},
           title="PE[p, i] over the positions", xlabel="position p", ylabel="PE[p, i]",
           figsize=(8.0, 3.5))

# %% [markdown]
# *Each pair repeats at its own pace, so together they give every position its own pattern.*
# Dimensions 100 and 101 share a frequency, a quarter turn apart, repeating every 38 positions. Dimension 40 repeats every 13 positions; it looks jagged
# because the table has values only at whole positions. Dimension 160 repeats every 112.
#
# ### Adding it to the embeddings, with dropout
#
# `PositionalEncoding` keeps the table as a **buffer**: a tensor that moves with
# `.to(device)` but is not trained. It adds the first S rows to its `(B, S, D)` input, then
# applies **dropout**: while training, it zeroes a random 10% of the numbers and scales the
# rest by 1/0.9, so the model cannot rely on any single number. `layer.eval()` turns it off.
#
# The Annotated Transformer's class, hardened: `persistent=False` keeps the recomputable table
# out of saved checkpoints; `.to(x.dtype)` matches the input's precision (chapter 7).

# %%
show(PositionalEncoding)

# %%
layer = PositionalEncoding(d_model, dropout=0.1).to(device)
print("trainable parameters:", sum(p.numel() for p in layer.parameters()),
      "| buffer 'pe' of shape (1, max_len, D) =", tuple(layer.pe.shape))
x = embed(vocab.encode("The cat drinks milk").to(device))  # (B, S, D) = (1, 4, 512)
layer.eval()  # no dropout: the output is exactly x + PE
with torch.no_grad():
    out = layer(x)  # (1, 4, D) + (1, 4, D)
assert torch.allclose(out, x + sinusoidal_table(4, d_model).to(device))
print("eval: output = x + pe[:S], shape", tuple(out.shape))
train_layer = PositionalEncoding(d_model, dropout=0.1).train()  # dropout on
torch.manual_seed(1)
with torch.no_grad():
    dropped = train_layer(torch.ones(1, 100, d_model))
undropped = (1 + sinusoidal_table(100, d_model)).unsqueeze(0)  # (1, 100, D)
kept = dropped != 0
print("train: fraction zeroed =", round(1 - kept.float().mean().item(), 2))
assert torch.allclose(dropped[kept], undropped[kept] / 0.9)  # survivors scaled by 1 / (1 - p)

# %% [markdown]
# <details><summary>Under the hood: the start argument</summary>
#
# `forward(x, start)` adds rows `start, start + 1, ...`: chapter 8's key/value cache feeds
# the decoder only its newest word, which needs its true position's row.
# </details>
#
# ## 4. Similarity depends only on the distance
#
# Take the dot product of two position vectors. For each pair k,
# `sin(p w_k)·sin(q w_k) + cos(p w_k)·cos(q w_k) = cos((p - q) w_k)`, the cosine of a
# difference. Summed over the 256 pairs, `PE(p)·PE(q) = sum_k cos((p - q) w_k)`: only the
# distance `p - q` appears. On the diagonal p = q, each term is cos 0 = 1, so the sum is 256.

# %%
_ = FIGURES["02_pe_similarity"].make()
gram = pe[:50] @ pe[:50].T  # (L, L): every PE(p)·PE(q)
print("PE(p)·PE(p) on the diagonal:", round(gram.diagonal().mean().item(), 3))
band = torch.diagonal(gram, offset=5)  # all pairs at distance 5
print("PE(p)·PE(p + 5) over p = 0..44: min", round(band.min().item(), 3), "max",
      round(band.max().item(), 3))
assert (band - band[0]).abs().max() < 1e-3
dots = long_pe[60] @ long_pe[:121].T  # (121,): PE(60)·PE(60 + Δ) for Δ = -60..60
ahead, behind = dots[61:], dots[:60].flip(0)  # Δ = 1..60 and -1..-60
print("largest |PE(60)·PE(60 + Δ) - PE(60)·PE(60 - Δ)| for Δ = 1..60:",
      round((ahead - behind).abs().max().item(), 3))
assert torch.allclose(ahead, behind, atol=1e-3)

# %% [markdown]
# *Every diagonal band of the left matrix has one colour, and the right curve is a mirror
# image: the dot product tells how far apart two positions are, never which comes first.*
#
# The dot product peaks at 256 on the diagonal and falls off with the distance. Because
# cosine is symmetric, `cos((p - q)w) = cos((q - p)w)`: a word 3 places before and a word 3
# places after look exactly alike. A raw dot product of two position vectors cannot tell
# "before" from "after"; attention's learned matrices can, as Exercise 2 shows.
#
# ## 5. A shift by Δ positions is a rotation
#
# Take an offset of Δ positions and one pair's frequency w. Moving from p to p + Δ turns that
# `(sin, cos)` pair by the angle $\Delta \cdot w$, whatever p is:
#
# $$\begin{pmatrix}\sin((p+\Delta)w)\\ \cos((p+\Delta)w)\end{pmatrix} =
# \begin{pmatrix}\cos \Delta w & \sin \Delta w\\ -\sin \Delta w & \cos \Delta w\end{pmatrix}
# \begin{pmatrix}\sin pw\\ \cos pw\end{pmatrix}$$
#
# Put the 2x2 rotations of all pairs on the diagonal of a D x D matrix $M_\Delta$ and
# $PE(p + \Delta) = M_\Delta PE(p)$ for every p.

# %%
show(shift_matrix)

# %%
offset = 3
m = shift_matrix(offset, d_model)  # (D, D)
print(f"the 2x2 block of M_{offset} for pair 0, w = 1:")
print(m[:2, :2].round(decimals=4) + 0.0)
table = sinusoidal_table(200, d_model)  # (L, D)
error = (table[offset:] - table[:-offset] @ m.T).abs().max().item()  # M PE(p) vs PE(p + 3)
print(f"max |PE(p + {offset}) - M_{offset} PE(p)| over p = 0..{199 - offset}:", round(error, 4))
assert error < 1e-4
assert torch.allclose(m @ m.T, torch.eye(d_model), atol=1e-5)  # a rotation keeps lengths

# %%
_ = FIGURES["02_pe_rotation"].make()

# %% [markdown]
# *Every position sits on the unit circle, each step turns it by the same angle, and $M_2$
# carries each dot exactly onto the dot two positions further on.*
#
# Why would this help? The authors chose this function "because we hypothesized it would
# allow the model to easily learn to attend by relative positions". A **hypothesis**:
# $M_\Delta$ is linear, so a layer *could* learn it, but nothing forces a trained model to.
#
# ## 6. Interleaved or concatenated?
#
# The paper interleaves: sin in dimension 2k, cos in 2k + 1. The authors' Tensor2Tensor code
# and "The Illustrated Transformer" put all the sines first, then all the cosines, with
# frequencies spaced a little differently; Tensor2Tensor's code says it "slightly differs
# from the published paper". Almost the same frequencies, in another column order:

# %%
concatenated = torch.cat([pe[:, 0::2], pe[:, 1::2]], dim=1)  # (L, D): sines, then cosines
order = torch.cat([torch.arange(0, d_model, 2), torch.arange(1, d_model, 2)])
assert torch.equal(concatenated, pe[:, order])
fig, (left, right) = grid(2, cols=2, size=4.0)
_ = heatmap(pe[:, :32], ax=left, cmap="RdBu_r", vmin=-1, vmax=1, ticks=False,
            title="interleaved (paper): sin, cos, sin, ...", xlabel="column", ylabel="position")
_ = heatmap(torch.cat([pe[:, 0:32:2], pe[:, 1:32:2]], dim=1), ax=right, cmap="RdBu_r", vmin=-1,
            vmax=1, ticks=False, title="concatenated: 16 sin, then 16 cos",
            xlabel="column", ylabel="position")
for ax in (left, right):  # tick labels at the middle of every 4th column and 10th row
    ax.set_xticks([c + 0.5 for c in range(0, 32, 4)], range(0, 32, 4))
    ax.set_yticks([r + 0.5 for r in range(0, 100, 10)], range(0, 100, 10))

# %% [markdown]
# *Pairs 0 to 15, red +1, blue -1. On the left, each sine sits beside its cosine, so
# neighbouring columns disagree. On the right, column 16 is column 0's partner: both halves
# slow down the same way from left to right.*
#
# <details><summary>Under the hood: why the layout does not matter to the model</summary>
#
# The layers that read these numbers next, a LayerNorm and linear maps, can learn the same
# things from either order of their inputs, as long as it stays fixed.
# </details>
#
# ## 7. Explore the encoding
#
# Move the position: the dashed line follows on the curves, the black line on the heatmap.
# Move the dimension range: low dimensions oscillate quickly, high ones barely move.

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import positional_explorer  # noqa: E402

positional_explorer()

# %% [markdown]
# Without a live kernel: position 10, dimensions 0 to 127.

# %%
_ = draw_positional(10, (0, 128))

# %% [markdown]
# ## Recap
#
# - Self-attention alone is permutation-equivariant: without positions, 二十三 reads as 三十二.
# - +p fails three ways: one direction, huge values, similarity that depends on where.
# - The sinusoidal table puts `sin(p·w_k)` on dimension 2k and `cos(p·w_k)` on 2k + 1. It is
#   fixed, added to the embeddings, then goes through dropout.
# - `PE(p)·PE(q)` depends only on the distance, and cannot tell before from after.
# - `PE(p + Δ) = M_Δ PE(p)`, a rotation; that models use it is the paper's hypothesis.
#
# ## Your turn
#
# **Exercise 1: predict, then run.** With d_model = 512, after about how many positions
# (within 1%) does dimension 301 repeat? Work it out on paper, then run the check; the next
# cell measures it. Then: why does no dimension repeat at exactly a whole number of positions?

# %%
from annotated.exercises import (  # noqa: E402
    check_look_ahead,
    check_positional_encoding,
    check_small_base,
    check_wavelength,
)

my_wavelength = None  # your prediction, in positions

check_wavelength(my_wavelength)

# %%
if check_wavelength(my_wavelength):  # measured only once your prediction is in
    column = sinusoidal_table(3000, d_model)[:, 301]  # (L,)
    peaks = [p for p in range(1, 2999) if column[p - 1] < column[p] >= column[p + 1]]
    print("dimension 301 peaks at positions", peaks, "-> spacing", peaks[1] - peaks[0])
else:
    print("Make a prediction above first; this cell then measures the wave on the table.")

# %% [markdown]
# **Exercise 2: design a look-ahead.** Section 4 showed that `PE(p)·PE(q)` cannot tell
# before from after. Attention scores a query against a key through learned matrices, so
# write `look_ahead(offset, d_model)` returning a D x D matrix A for which the score
# `PE(p) @ A @ PE(q)` is largest at q = p + offset: each position looks ahead.

# %%
def look_ahead(offset, d_model):
    ...


check_look_ahead(look_ahead)

# %% [markdown]
# **Exercise 3: break it.** Replace 10000 in the formula with 10. Predict the right panel of
# the similarity figure, `PE(60)·PE(60 + Δ)` for Δ from -60 to 60: (a) it stays high far from
# Δ = 0, as now; (b) it falls to about 0 within a few positions, then only wobbles; (c) it
# climbs back to 256 at some Δ far from 0.

# %%
my_prediction = None  # "a", "b" or "c"

check_small_base(my_prediction)

# %%
if check_small_base(my_prediction):  # drawn only once your prediction is in
    similarity = {}
    for base in (10000, 10):
        freq = 1 / base ** (torch.arange(0, d_model, 2) / d_model)  # (D/2,)
        angle = torch.arange(121).unsqueeze(1) * freq  # (L, D/2)
        table_b = torch.stack([angle.sin(), angle.cos()], dim=2).flatten(1)  # (L, D)
        similarity[f"base {base}"] = table_b[60] @ table_b.T  # (121,): Δ = -60..60
    _ = curves(range(-60, 61), similarity, title="PE(60)·PE(60 + Δ)", xlabel="offset Δ",
               ylabel="dot product", figsize=(7.0, 3.0))
else:
    print("Make a prediction above first; this cell then draws both curves.")

# %% [markdown]
# **Exercise 4: the table from memory.** Without scrolling up, write
# `my_positional_encoding(max_len, d_model)`.

# %%
def my_positional_encoding(max_len, d_model):
    ...


check_positional_encoding(my_positional_encoding)

# %% [markdown]
# Worked answers: `annotated.exercises.solutions.solution("check_look_ahead")`, and so on.
#
# ## Further reading
#
# - [Attention Is All You Need](https://arxiv.org/abs/1706.03762), section 3.5: learned
#   positions did about as well.
# - François Porcher's article "The A-Z of Transformers: Everything You Need to Know", and its
#   [code](https://github.com/FrancoisPorcher/awesome-ai-tutorials): the three problems of +p.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/): the
#   `PositionalEncoding` class this chapter's code grew from.
# - [Self-Attention with Relative Position Representations](https://arxiv.org/abs/1803.02155),
#   Shaw et al., 2018: attention is told the distance between words directly.
# - [RoFormer: Rotary Position Embedding](https://arxiv.org/abs/2104.09864), Su et al., 2021:
#   queries and keys rotated by $M_p$, section 5's rotation, in many of today's large models.

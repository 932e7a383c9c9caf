# %% [markdown]
# # Chapter 2: Positional encoding, telling the model where each word is
#
# Chapter 1 turned each word into a vector. Nothing in those vectors says where the word stands
# in the sentence, and attention, the Transformer's core, does not look at order by itself. By
# the end of this chapter you will be able to:
#
# - show, with a check that passes, that attention without positions cannot tell "John loves
#   Mary" from "Mary loves John", and that adding positional encodings fixes it;
# - say what goes wrong with the naive idea of adding +1, +2, +3, ... (with numbers);
# - write the sine/cosine formula and read its table, curves and similarity pictures;
# - explain why a shift by k positions is a rotation, the same for every position.
#
# Shape letters: B batch, S sequence length, D d_model, V vocabulary size, L the number of
# positions in a table (up to max_len).

# %%
import math

import torch
from torch import nn

import annotated
from annotated import Embeddings, PositionalEncoding, attention, show
from annotated.examples import JOHN, MARY, WordVocab
from annotated.positional import shift_matrix, sinusoidal_frequencies, sinusoidal_table
from annotated.viz.draw import pe_rotation
from annotated.viz.figures import FIGURES
from annotated.viz.primitives import curves, grid, heatmap

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()
d_model = 512

# %% [markdown]
# ## 1. Why order matters: "John loves Mary" vs "Mary loves John"
#
# The two sentences use the same three words; only the order differs, and with it who loves
# whom. Let us feed both through **self-attention**, the layer of the next chapter. For now all
# you need to know: each word's output is a weighted mix of all the words, with weights computed
# from the word vectors themselves. Three linear maps make the queries, keys and values.

# %%
cosine = torch.nn.functional.cosine_similarity
vocab = WordVocab()
embed = Embeddings(d_model, len(vocab))
# make_model's initialisation (chapter 1): with nn.Embedding's own N(0, 1) start, the scaled
# embeddings would be 32 times larger than the positions we add below and drown them.
nn.init.xavier_uniform_(embed.lut.weight)
embed = embed.to(device)  # initialised on the CPU first: the same numbers on every device
w_q, w_k, w_v = (nn.Linear(d_model, d_model).to(device) for _ in range(3))


def self_attention(x: torch.Tensor) -> torch.Tensor:
    """One head of self-attention: (B, S, D) -> (B, S, D)."""
    out, _ = attention(w_q(x), w_k(x), w_v(x))  # queries, keys and values all come from x
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
# The output for "john" is the same whether John is the one who loves or the one who is loved.
# This is not bad luck. Self-attention is **permutation-equivariant**: shuffle the input words
# and the outputs are shuffled the same way, nothing else changes. A check on random vectors
# and a random shuffle:

# %%
x = torch.randn(1, 6, d_model).to(device)  # (B, S, D): six "words"
perm = torch.randperm(6)
print("shuffle:", perm.tolist())
with torch.no_grad():
    gap = (self_attention(x[:, perm]) - self_attention(x)[:, perm]).abs().max().item()
print("max |f(shuffled x) - shuffled f(x)| =", round(gap, 4))
assert gap < 1e-5

# %% [markdown]
# Now add a different vector to each position first (the positional encoding built below). The
# same words at different places become different vectors, and the symmetry is gone:

# %%
position = PositionalEncoding(d_model, dropout=0.0).to(device)  # (B, S, D) -> (B, S, D)
with torch.no_grad():
    gap = (self_attention(position(x[:, perm])) - self_attention(position(x))[:, perm]).abs()
    john_first = self_attention(position(embed(vocab.encode(JOHN).to(device))))
    mary_first = self_attention(position(embed(vocab.encode(MARY).to(device))))
print("with positions: max |f(shuffled x + PE) - shuffled f(x + PE)| =",
      round(gap.max().item(), 4))
john_gap = (john_first[0, 0] - mary_first[0, 2]).abs().max().item()
print("'john' in the two sentences now differs by up to", round(john_gap, 4))
a, b = john_first[0, 0], mary_first[0, 2]
print(f"that is {((a - b).norm() / a.norm()).item():.0%} of the vector's length "
      f"(cosine {cosine(a, b, dim=0).item():.3f})")
assert gap.max() > 0.01 and john_gap > 0.01

# %% [markdown]
# ## 2. Why not just add +1, +2, +3, ...?
#
# The simplest idea: add 1 to every number of the first word's vector, 2 to the second's, and so
# on. The article lists three problems with it. Here they are, measured.
#
# **Problem 1: one number for 512 dimensions.** The vector added at position p is (p, p, ...,
# p): all 512 numbers say the same thing. All these vectors point in one direction and differ
# only in length: the cosine of the angle between any two of them is 1. The sinusoidal vectors
# point in different directions.

# %%
naive = torch.arange(100.0).unsqueeze(1).expand(100, d_model)  # (L, D): row p is p, p, ..., p
sines = sinusoidal_table(100, d_model)  # (L, D)
for p, q in [(3, 4), (3, 50)]:
    print(f"cosine(position {p}, position {q}): +p scheme "
          f"{cosine(naive[p], naive[q], dim=0).item():.4f} | sinusoidal "
          f"{cosine(sines[p], sines[q], dim=0).item():.4f}")
print("rank of the 100 x 512 tables: +p scheme", torch.linalg.matrix_rank(naive).item(),
      "| sinusoidal", torch.linalg.matrix_rank(sines).item())
pe = sinusoidal_table(100, d_model)  # (L, D), used in the rest of the chapter

# %% [markdown]
# The rank of a table counts the independent directions among its rows: 1 for +p, where
# every row is a multiple of (1, 1, ..., 1); 39 for the sinusoids, whose rows point in many
# directions.
#
# **Problem 2: values far outside [-1, 1].** The embedding entries are numbers of size about
# 1 (chapter 1 measured 0.82 for a 1000-word table; this chapter's small table is printed
# below). At position 2000 the naive scheme adds 2000 to each of them:

# %%
with torch.no_grad():  # this chapter's scaled embeddings (Xavier start, x sqrt(D))
    all_ids = torch.arange(len(vocab), device=device).unsqueeze(0)  # (1, V): every word once
    emb_rms = embed(all_ids).pow(2).mean().sqrt().item()
print(f"RMS of one embedding entry here: {emb_rms:.2f}")
for p in (3, 100, 2000):
    print(f"position {p:4}: added value {p:4} = {p / emb_rms:6.0f} x the embedding's size"
          f" | sinusoidal entries stay in [{pe.min().item():.0f}, {pe.max().item():.0f}]")

# %% [markdown]
# The word's meaning would be a rounding error next to its position.
#
# **Problem 3: long texts and relative positions.** With +p, the word "cat" at position 3 and
# at position 3003 differ by 3000 in every entry, although its neighbourhood ("the cat drinks")
# is the same. What matters for meaning is mostly where words stand **relative to each other**.
# The sinusoidal vectors all have the same length, sqrt(D/2) = 16, and the similarity of two
# positions depends only on their distance, wherever they are:

# %%
long_pe = sinusoidal_table(3100, d_model)
print("lengths |PE(3)|, |PE(3003)|:", long_pe[3].norm().item(), long_pe[3003].norm().item())
for p in (3, 3003):
    print(f"PE({p})·PE({p} + 2) = {(long_pe[p] @ long_pe[p + 2]).item():.2f}")
assert torch.allclose(long_pe[3] @ long_pe[5], long_pe[3003] @ long_pe[3005], atol=1e-2)

# %% [markdown]
# ## 3. The sine and cosine formula
#
# Each position p gets a vector of D numbers. Dimensions come in pairs (2k, 2k + 1), and each
# pair has its own frequency w_k:
#
# $$PE_{(p,\,2k)} = \sin(p \cdot w_k), \qquad PE_{(p,\,2k+1)} = \cos(p \cdot w_k), \qquad
# w_k = \frac{1}{10000^{2k / d_{model}}}$$
#
# Sine on the even dimensions, cosine on the odd ones. The frequency falls along the dimensions:
# pair 0 turns once every 2π ≈ 6.3 positions, the last pair once every 2π · 10000^(510/512)
# ≈ 60,000 positions. The package's code (it computes w_k as exp(-(2k / d_model) ln 10000),
# the original code's form: the same numbers as 1 / 10000^(2k / d_model), up to float32
# rounding of about 1e-6):

# %%
show(sinusoidal_frequencies)
show(sinusoidal_table)

# %%
w = sinusoidal_frequencies(d_model)  # (D/2,)
wavelength = 2 * math.pi / w
print("pairs k:                 ", [0, 1, 2, 20, 50, 80, 128, 255])
print("wavelength (positions):  ",
      [round(wavelength[k].item(), 1) for k in (0, 1, 2, 20, 50, 80, 128, 255)])
small = sinusoidal_table(4, 8)  # 4 positions, d_model = 8
print("the table for 4 positions and d_model = 8, shape (L, D) =", tuple(small.shape))
print(small.round(decimals=4) + 0.0)
p, k = 3, 1
assert math.isclose(small[p, 2 * k].item(), math.sin(p / 10000 ** (2 * k / 8)), abs_tol=1e-6)
assert math.isclose(small[p, 2 * k + 1].item(), math.cos(p / 10000 ** (2 * k / 8)), abs_tol=1e-6)

# %% [markdown]
# Row 0 is (0, 1, 0, 1, ...): sin 0 = 0 and cos 0 = 1. Going right along a row, the columns
# change more and more slowly with the position.
#
# The whole table, for 100 positions:

# %%
_ = FIGURES["02_pe_heatmap"].make()

# %% [markdown]
# *Each row is one position's vector (drawn with d_model = 128, so that the stripes are wide
# enough to see). The left columns (high frequency) change from one row to the next; towards
# the right they change so slowly that they look constant: the sin columns stay near 0
# (white), the cos columns near 1 (red), hence the stripes. Along a row, a larger p keeps
# oscillating further to the right before the columns go flat.*
#
# **Correction.** The article reads this picture as "later positions change faster (the
# frequency increases)". The frequency w_k of each dimension pair is fixed; what grows with
# p is the angle p·w_k. Count the pairs whose angle has moved visibly (over 0.1 radian):
#
# %%
w128 = sinusoidal_frequencies(128)  # (64,): the figure's frequencies, fixed
for p in (10, 99):
    print(f"position {p:2}: {int((p * w128 > 0.1).sum())} of 64 pairs have turned by over "
          "0.1 radian")

# %% [markdown]
# At position 99, 48 pairs have moved, against 32 at position 10: a larger p reaches further
# along the row, with the same frequencies.
#
# The same table read column by column: a few dimensions as curves over the positions.

# %%
_ = curves(range(100), {f"dim {i} ({'sin' if i % 2 == 0 else 'cos'}, k = {i // 2})": pe[:, i]
                        for i in (40, 100, 101, 160)},
           title="PE[p, i] over the positions", xlabel="position p", ylabel="PE[p, i]",
           figsize=(8.0, 3.5))

# %% [markdown]
# *Dimensions 100 and 101 share one frequency: the same wave, shifted by a quarter turn (sin and
# cos), repeating every 38 positions. Dimension 40 repeats every 13 positions, dimension 160 only
# every 112: each pair repeats at its own pace, so together they give every position its own
# pattern.*
#
# ### Adding it to the embeddings, with dropout
#
# `PositionalEncoding` keeps the table as a **buffer**: it moves with `.to(device)` but is not
# trained (the paper also tried learned positions and found nearly identical results). It adds
# the first S rows to its (B, S, D) input, then applies dropout (p = 0.1 in the paper) to the sum:
# while training, dropout sets a random 10% of the numbers to 0 and scales the rest by 1/0.9,
# so that the model cannot rely on any single number; `layer.train()` turns it on,
# `layer.eval()` off (for testing and translating).
# (`start` lets a decoder that produces one word at a time add row `start` instead of row 0:
# chapter 8.)

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
# Dropout draws random numbers: on a copy on the CPU, the same ones on every machine.
cpu_layer = PositionalEncoding(d_model, dropout=0.1).train()  # dropout on
torch.manual_seed(1)
with torch.no_grad():
    dropped = cpu_layer(torch.ones(1, 100, d_model))
undropped = (1 + sinusoidal_table(100, d_model)).unsqueeze(0)  # (1, 100, D)
kept = dropped != 0
print("train: fraction zeroed =", round(1 - kept.float().mean().item(), 2))
assert torch.allclose(dropped[kept], undropped[kept] / 0.9)  # survivors scaled by 1 / (1 - p)

# %% [markdown]
# ## 4. Similarity depends only on the distance
#
# Take the dot product of two position vectors. For each pair of dimensions,
# sin(pw)·sin(qw) + cos(pw)·cos(qw) = cos((p - q)w): only the distance p - q appears. So
# PE(p)·PE(q) depends on |p - q| alone.

# %%
_ = FIGURES["02_pe_similarity"].make()
gram = pe[:50] @ pe[:50].T  # (L, L)
band = torch.diagonal(gram, offset=5)  # all pairs at distance 5
print("PE(p)·PE(p + 5) over p = 0..44: min", round(band.min().item(), 3), "max",
      round(band.max().item(), 3))
assert (band - band[0]).abs().max() < 1e-3

# %% [markdown]
# *Left: every diagonal band of the matrix has one colour, so the similarity is a function of
# the distance; it is largest (256 = D/2) on the diagonal and falls off with the distance.
# Right: the curves for three start positions coincide, so only the last one drawn is visible.*
#
# ## 5. A shift by k positions is a rotation
#
# Why would this help the model? Moving from position p to p + k turns each (sin, cos) pair by
# the angle k·w_k, whatever p is:
#
# $$\begin{pmatrix}\sin((p+k)w)\\ \cos((p+k)w)\end{pmatrix} =
# \begin{pmatrix}\cos kw & \sin kw\\ -\sin kw & \cos kw\end{pmatrix}
# \begin{pmatrix}\sin pw\\ \cos pw\end{pmatrix}$$
#
# Put the 2x2 rotations of all pairs on the diagonal of a D x D matrix M_k and
# PE(p + k) = M_k PE(p) for every p. A linear layer can learn such a map, so "the word two
# places back" is easy to express.

# %%
show(shift_matrix)

# %%
k = 3
m = shift_matrix(k, d_model)  # (D, D)
print(f"the 2x2 block of M_{k} for pair 0 (w = 1):")
print(m[:2, :2].round(decimals=4) + 0.0)
angle = k * w[0].item()
assert torch.allclose(m[:2, :2], torch.tensor([[math.cos(angle), math.sin(angle)],
                                               [-math.sin(angle), math.cos(angle)]]))
table = sinusoidal_table(200, d_model)
error = (table[k:] - table[:-k] @ m.T).abs().max().item()  # row p: M_k PE(p) vs PE(p + k)
print(f"max |PE(p + {k}) - M_{k} PE(p)| over p = 0..{199 - k}:", round(error, 4))
assert error < 1e-4
assert torch.allclose(m @ m.T, torch.eye(d_model), atol=1e-5)  # a rotation keeps lengths

# %%
_ = pe_rotation(pair=24, offset=2, positions=10)

# %% [markdown]
# *Dimensions 48 and 49 of PE(p) for p = 0..11, as points on the unit circle: each step in
# position turns the point by the same angle. The crosses are M_2 applied to PE(0)..PE(9): each
# lands exactly on the dot two positions further on.*
#
# ## 6. Interleaved or concatenated?
#
# The paper interleaves: sin in dimension 2k, cos in 2k + 1. The authors' Tensor2Tensor code and
# the pictures of "The Illustrated Transformer" put all the sines first and all the cosines
# after (Tensor2Tensor also spaces the frequencies very slightly differently). With the same
# frequencies, the two layouts are the same numbers with the columns in another order:

# %%
concatenated = torch.cat([pe[:, 0::2], pe[:, 1::2]], dim=1)  # (L, D): sines, then cosines
order = torch.cat([torch.arange(0, d_model, 2), torch.arange(1, d_model, 2)])
assert torch.equal(concatenated, pe[:, order])
fig, (left, right) = grid(2, cols=2, size=4.0)
_ = heatmap(pe[:, :64], ax=left, cmap="RdBu_r", vmin=-1, vmax=1, ticks=False,
            title="interleaved (paper), dims 0-63", xlabel="dimension", ylabel="position")
_ = heatmap(torch.cat([pe[:, 0:64:2], pe[:, 1:64:2]], dim=1), ax=right, cmap="RdBu_r", vmin=-1,
            vmax=1, ticks=False, title="concatenated: 32 sin, then 32 cos",
            xlabel="dimension", ylabel="position")

# %% [markdown]
# *The same 32 frequency pairs in two layouts: on the left sin and cos columns alternate, on the
# right the sines fill the left half and the cosines the right half.* What reads these
# numbers next is a LayerNorm (this course's pre-norm, chapter 6) and then linear maps: a
# fixed reordering of the inputs is just a reordering of the LayerNorm's per-number scale and
# shift and of the linear weights, so the model can learn the same things from either
# layout. What matters is to use one layout consistently.
#
# ## 7. Explore the encoding
#
# Move the position slider: the dashed line moves along the curves and the black line down the
# heatmap, and the title prints the values at that position. Move the dimension range to see the
# frequency fall: low dimensions oscillate quickly, high ones barely move.

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import positional_explorer  # noqa: E402

positional_explorer()

# %% [markdown]
# ## Recap
#
# - Self-attention alone is permutation-equivariant: "John loves Mary" and "Mary loves John"
#   give "john" the same output (asserted). Adding a position-dependent vector breaks this.
# - Adding +p fails three ways: one number for all 512 dimensions (every row a multiple of
#   the same vector: the table has rank 1), values far outside
#   [-1, 1] (2000 at position 2000), and absolute positions that grow with the text while
#   meaning depends on relative position.
# - The sinusoidal encoding: sin(p·w_k) on dimension 2k, cos(p·w_k) on 2k + 1, with w_k falling
#   from 1 to 1/10000 along the dimensions. Every vector has length sqrt(D/2); it is added to the
#   embeddings, then dropout is applied; it is fixed, not trained.
# - PE(p)·PE(q) depends only on |p - q|, and PE(p + k) = M_k PE(p) with M_k a rotation that does
#   not depend on p.
# - Interleaved (paper) and concatenated (Tensor2Tensor) layouts differ only by a column order.
#
# ## Your turn
#
# **Exercise.** Write `my_positional_encoding(max_len, d_model)` returning the (max_len,
# d_model) table: `PE[p, 2k] = sin(p / 10000^(2k / d_model))`, `PE[p, 2k+1] = cos(...)` for the
# same frequency. Hint: `pe[:, 0::2]` selects the even columns.

# %%
from annotated.exercises import check_positional_encoding  # noqa: E402


def my_positional_encoding(max_len, d_model):
    ...


check_positional_encoding(my_positional_encoding)

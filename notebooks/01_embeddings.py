# %% [markdown]
# # Chapter 1: Embeddings, from words to vectors
#
# A Transformer computes with vectors, not words. This chapter turns the article's running
# example, "The cat drinks milk", into numbers the model can use. By the end you will be able to:
#
# - turn a sentence into tokens, token ids and vectors, and name the shape at each step;
# - explain the lookup table of shape (vocab, d_model) and why a lookup is a matrix product;
# - show with numbers why the vectors are multiplied by sqrt(d_model), which the article
#   promises to explain and never does;
# - say where the vectors come from: random numbers at first, learned during training.
#
# Shape letters used in every chapter: B batch, S source length, D d_model, V vocabulary size.

# %%
import math

import torch
import torch.nn.functional as F

import annotated
from annotated import Embeddings, make_model, show
from annotated.embeddings import nearest_neighbours
from annotated.examples import CAT, WordVocab
from annotated.viz.figures import FIGURES
from annotated.viz.measure import embedding_scales
from annotated.viz.primitives import heatmap
from annotated.positional import sinusoidal_table

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()  # a GPU when there is one; every number below is the same

# %% [markdown]
# ## 1. Text, tokens, ids
#
# The model cannot read letters. First we cut the text into **tokens** (here: words), then
# replace each token by its number in a fixed **vocabulary**: its **id**. Our vocabulary is a
# short list of words, enough for the article's sentences. Real systems cut text into subword
# pieces so that any word can be spelled (chapter 9); one id per word keeps this chapter easy
# to read. `tokenize` also lower-cases, so "The" and "the" are one word. A word that is not
# in the list becomes `<unk>` ("unknown", id 0).

# %%
vocab = WordVocab()
print("vocabulary size V =", len(vocab))
print(vocab.words)

tokens = vocab.tokenize(CAT)
ids = vocab.encode(CAT).to(device)  # (B, S): a batch of one sentence
print(f"{CAT!r} -> tokens {tokens}")
print("ids:", ids.tolist(), "shape (B, S) =", tuple(ids.shape))
print("an unknown word:", vocab.tokenize("The zebra drinks milk"), "->",
      vocab.encode("The zebra drinks milk").tolist())

# %% [markdown]
# The sentence has `seq_len` = 4 tokens, so its ids form a (1, 4) tensor. Models process
# several sentences at once, stacked along a first axis called the **batch**, of size B: here
# one sentence (B = 1), four positions (S = 4).
#
# ## 2. The lookup table E, of shape (vocab, d_model)
#
# The **embedding** of a token is a vector of `d_model` numbers; the paper uses d_model = 512.
# All of them sit in one table `E` with one row per word of the vocabulary: shape (V, D).
# Embedding a sentence means reading the rows of its ids. Here is the package's `Embeddings`
# module, the code the whole course uses (the article's, plus input checks):

# %%
show(Embeddings)

# %%
d_model = 512
emb = Embeddings(d_model, len(vocab)).to(device)
E = emb.lut.weight  # the table: one row per word; nn.Embedding's default N(0, 1) start
print("E shape (V, D) =", tuple(E.shape))

x = emb(ids)  # (B, S) -> (B, S, D)
print("embedded sentence shape (B, S, D) =", tuple(x.shape))
print("first 5 numbers of each token's vector:")
for token, vector in zip(tokens, x[0], strict=True):
    print(f"  {token:>6}:", vector[:5].detach().cpu().round(decimals=4) + 0.0)

# %% [markdown]
# The article draws `E` as a (d_model, vocab_size) matrix. That is the same table transposed:
# PyTorch's `nn.Embedding` stores one **row** per word, shape (V, D), which is what we print.
# This table keeps `nn.Embedding`'s default start, numbers drawn from N(0, 1); section 4 shows
# that the model itself starts from much smaller ones.
#
# Each token became 512 numbers. A picture of the first 24 of them:

# %%
_ = heatmap(x[0, :, :24], tokens, [str(i) for i in range(24)], cmap="RdBu_r", vmin=-60, vmax=60,
            annot=False, figsize=(8.0, 2.4), title="The cat drinks milk: the first 24 of 512 "
            "numbers", xlabel="dimension", ylabel="token")

# %% [markdown]
# *Each row is one token's vector (the first 24 of its 512 numbers): four rows, four unrelated
# patterns, because the table is still random. Red is positive, blue negative; the values reach
# about ±60 because `Embeddings` multiplies by sqrt(512) ≈ 22.6 (section 4).*
#
# ## 3. A lookup is a one-hot matrix product
#
# Why does the article call `E` a linear map? Write each id as a **one-hot** vector: V numbers,
# all 0 except a 1 at the id. Multiplying that vector by `E` picks exactly one row. So the
# lookup `E[ids]` and the product `one_hot(ids) @ E` are the same thing; the lookup is just the
# fast way, skipping the multiplications by zero.

# %%
one_hot = F.one_hot(ids, num_classes=len(vocab)).float()  # (B, S) -> (B, S, V)
print("one-hot shape (B, S, V) =", tuple(one_hot.shape))
print("ones in each row:", one_hot.sum(-1).tolist(), "at columns", one_hot[0].argmax(-1).tolist())
by_matmul = one_hot @ E  # (B, S, V) @ (V, D) -> (B, S, D)
by_lookup = E[ids]  # (B, S, D)
assert torch.equal(by_matmul, by_lookup)
assert torch.allclose(emb(ids), by_matmul * math.sqrt(d_model))
print("one_hot @ E == E[ids]: True;  multiply-adds the matmul spends:",
      one_hot.numel() * d_model, "(the lookup: none)")

# %%
_ = heatmap(one_hot[0], tokens, list(vocab.words), cmap="Greys", annot=False, cbar=False,
            figsize=(8.0, 2.2), title="one-hot rows of 'the cat drinks milk'",
            xlabel="vocabulary word", ylabel="token")

# %% [markdown]
# *One row per token, one column per vocabulary word: each row has a single black cell, in the
# column of its own word. Multiplying this (4, 22) matrix by `E` (22, 512) copies those four rows
# of `E`.*
#
# ## 4. Why multiply by sqrt(d_model)? (a correction)
#
# `Embeddings.forward` returns `lut(x) * math.sqrt(d_model)`. The article notes "we multiply by
# d_model for normalisation (explained later)" (its code multiplies by the square root) and
# never comes back to it; the paper only says that it is done. Here is the reason, measured.
#
# In the next chapter the embedding is **added** to a positional encoding, a vector of sines and
# cosines. The two should have a similar size, or one drowns the other. The size of the
# positional encoding is fixed: each sin/cos pair has sin² + cos² = 1, so a vector of length D
# has squared length D/2 and each entry has a root-mean-square (RMS) of sqrt(1/2) = 0.7071.

# %%
pe = sinusoidal_table(100, d_model)  # (positions, D)
print("PE: RMS of one entry =", round(pe.pow(2).mean().sqrt().item(), 4),
      "| length of each vector =", pe.norm(dim=1)[:3].round(decimals=4).tolist(), "...")
assert torch.allclose(pe.norm(dim=1), torch.full((100,), math.sqrt(d_model / 2)))

# %% [markdown]
# The size of an embedding depends on how its table starts. There are two answers in this
# code base, and they differ by a factor of about 30:
#
# - `nn.Embedding` on its own starts every entry from a normal distribution N(0, 1): RMS 1.
# - `make_model` (chapter 6) re-initialises **every** weight matrix with Xavier-uniform:
#   numbers drawn evenly between ±sqrt(6 / (V + D)), whose standard deviation is
#   sqrt(2 / (V + D)). For V = 1000, D = 512 that is 0.036.
#
# The model we train uses the second. Let us measure both, scaled and not:

# %%
def rms(t: torch.Tensor) -> float:
    """Root mean square of all entries: the typical size of one number."""
    return round(t.pow(2).mean().sqrt().item(), 4)


plain = Embeddings(d_model, 1000)  # nn.Embedding's own N(0, 1) init
model = make_model(1000, 1000, N=1, d_model=d_model)  # Xavier-uniform init on every matrix
xavier = model.src_embed[0]  # the Embeddings inside the model's input block
print("make_model's table std:", round(xavier.lut.weight.std().item(), 4),
      " sqrt(2 / (V + D)) =", round(math.sqrt(2 / (1000 + d_model)), 4))
sample = torch.arange(1000).unsqueeze(0)  # every word once: (1, V)
pe_rms = rms(pe)
for name, layer in [("N(0,1) init (nn.Embedding)", plain), ("Xavier init (make_model)", xavier)]:
    scaled = layer(sample)  # (1, V, D), multiplied by sqrt(D)
    unscaled = layer.lut(sample)
    print(f"{name:27}: unscaled RMS {rms(unscaled):7.4f} (PE/emb = "
          f"{pe_rms / rms(unscaled):5.1f}) | x sqrt(D): RMS {rms(scaled):7.4f} "
          f"(emb/PE = {rms(scaled) / pe_rms:5.2f})")

# %% [markdown]
# Read the last line: with `make_model`'s initialisation, the unscaled embedding is about 19
# times smaller than the positional encoding (the word would be drowned by its position);
# times sqrt(512) it is 1.2 times the positional encoding's size: the two sit side by side.
# With `nn.Embedding`'s own N(0, 1) start, the factor does the opposite: the embedding becomes 32
# times larger and the position is nearly lost. **The factor is meant for small initial
# weights** (about sqrt(2 / (V + D)) per entry), which is what `make_model` gives.
#
# Then why not keep N(0, 1) and drop the factor? Unscaled, the N(0, 1) table is only 1.4
# times the positional encoding. The reason is the other job the paper gives this matrix: it
# also serves as the output projection (chapter 6, optional in this course), which turns
# each decoder vector into one score per word, `x @ E.T`. With N(0, 1) entries those scores
# would be huge, and the softmax over them saturated (chapter 3):
#
# %%
vectors = torch.randn(1000, d_model)  # decoder outputs of typical size: RMS 1
for name, layer in [("N(0,1) table", plain), ("Xavier table", xavier)]:
    scores = vectors @ layer.lut.weight.detach().T  # (1000, V): one score per word
    print(f"output scores with the {name:<12}: std {scores.std().item():6.2f}")

# %% [markdown]
# With N(0, 1) entries the scores have a standard deviation of sqrt(512) = 22.6; with Xavier,
# below 1. So the matrix starts small for the output's sake, and the factor sqrt(d_model)
# brings the input side back up to the size of the positions.
#
# The same measurement for several d_model, as a picture:

# %%
_ = FIGURES["01_embedding_scale"].make()

# %% [markdown]
# *The purple line (positional encoding) stays at 0.71 for every d_model. Two lines run near
# it: green, Xavier times sqrt(d_model) (within about 2x), and orange, N(0,1) unscaled (1.4x),
# the pair that does not suit a shared output matrix (above). Red (Xavier, unscaled) is 16 to
# 28 times lower, blue (N(0,1) times sqrt(d_model)) 11 to 64 times higher.*
#
# The factor does not make the sizes equal in every setting: the Xavier spread depends on the
# vocabulary too. With the paper's shared vocabulary of 37000 subwords:

# %%
big = embedding_scales([512], vocab=37000)
print("V = 37000, D = 512: Xavier x sqrt(D) RMS =", round(big["Xavier init x sqrt(D)"][0], 4),
      "| PE RMS =", round(big["positional encoding"][0], 4),
      "| unscaled =", round(big["Xavier init"][0], 4))
print(f"PE is {big['positional encoding'][0] / big['Xavier init x sqrt(D)'][0]:.1f} times the "
      f"scaled embedding, {big['positional encoding'][0] / big['Xavier init'][0]:.0f} times "
      "the unscaled one")

# %% [markdown]
# Still the same order of magnitude as the positional encoding, where the unscaled table
# would be 97 times smaller. And the table is trained, so the network can grow or shrink the
# embeddings as it needs; the factor only sets a sensible start.
#
# ## 5. Learned from scratch, not pretrained
#
# The article wondered whether the embeddings should come from a pretrained model (word2vec and
# the like) and answers no (its note 2): in the Transformer the table starts **random** and is
# **learned** with the rest of the network. `E` is an ordinary trainable parameter:

# %%
print("E is a trainable parameter:", isinstance(E, torch.nn.Parameter), E.requires_grad)
unit = F.normalize(E.detach(), dim=-1)  # (V, D), rows of length 1
cos = unit @ unit.T  # (V, V) cosine similarities
off_diagonal = cos[~torch.eye(len(vocab), dtype=torch.bool, device=cos.device)]
print("cosine(cat, dog)   =", round(cos[vocab.index["cat"], vocab.index["dog"]].item(), 4))
print("cosine(cat, '.')   =", round(cos[vocab.index["cat"], vocab.index["."]].item(), 4))
print("mean |cosine| over all pairs =", round(off_diagonal.abs().mean().item(), 4),
      "| random 512-d vectors expect about sqrt(2 / (pi * 512)) =",  # |cos| of random pairs
      round(math.sqrt(2 / (math.pi * d_model)), 4))

# %% [markdown]
# Before training, "cat" is no closer to "dog" than to ".": random vectors in 512 dimensions are
# almost perpendicular to each other (the cosine of two random directions has a standard
# deviation of about 1/sqrt(D), and its mean size is sqrt(2/π)/sqrt(D), the number printed).
# Meaning arrives through training. The course's shipped number translator (chapter 0) shows
# it: in its trained target table, the nearest words are words used alike.

# %%
from annotated import pretrained  # noqa: E402

numbers = pretrained.load("numbers")
table = numbers.model.tgt_embed[0].lut.weight.detach()  # (V, D), trained
for word in ("twenty", "three"):
    near, sims = nearest_neighbours(table, numbers.tgt_vocab.stoi[word], k=4)
    print(f"trained, nearest to {word!r}:", [numbers.tgt_vocab.itos[i] for i in near.tolist()],
          [round(x, 2) for x in sims.tolist()])

# %% [markdown]
# The tens sit together, and so do the small numbers, with cosines of 0.46 to 0.66, where
# random vectors of this table's width (128) would give nearest neighbours of about 0.2. One gradient step shows how training starts:
# the loss only touches the rows of the words in the sentence, so only those rows get a
# gradient.

# %%
emb.zero_grad()
loss = emb(ids).pow(2).mean()  # any loss computed from the sentence's vectors
loss.backward()
rows_with_gradient = (E.grad.abs().sum(dim=1) > 0).nonzero().flatten().tolist()
print("rows with a gradient:", rows_with_gradient, "=", vocab.decode(rows_with_gradient))
assert sorted(rows_with_gradient) == sorted(ids[0].tolist())

# %% [markdown]
# ## 6. Explore the table
#
# Pick a word: the strip shows its 512 numbers (red positive, blue negative) and the list its
# nearest neighbours by cosine similarity. **The table is untrained**, so the neighbours are
# random and every similarity is small (at most about 0.15); after training, words used alike
# end up close together (the number translator above). The same ranking in code:

# %%
neighbour_ids, sims = nearest_neighbours(E, vocab.index["cat"], k=3)
print("nearest to 'cat':", vocab.decode(neighbour_ids), sims.cpu().round(decimals=4) + 0.0)

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import embedding_explorer  # noqa: E402

embedding_explorer(E, vocab.words)

# %% [markdown]
# ## Recap
#
# - Text -> tokens -> ids -> vectors: (B, S) ids become (B, S, D) vectors; for "The cat drinks
#   milk", (1, 4) -> (1, 4, 512).
# - The table `E` has one row per vocabulary word, shape (V, D). A lookup equals a one-hot
#   matrix product (we asserted it); indexing is the fast way to do it.
# - The vectors are multiplied by sqrt(d_model) so that, with `make_model`'s small Xavier
#   initialisation, they start at the size of the positional encodings they are added to (0.82
#   vs 0.71 here, instead of 19 times smaller). With `nn.Embedding`'s own N(0, 1) start the
#   factor would make them 32 times too large.
# - The table starts random and is learned with the model; it is not pretrained.
#
# ## Your turn
#
# **Exercise 1.** Write the scaled lookup yourself: `my_embed(ids, table)` returns the row of
# `table` (V, D) for each id in `ids` (B, S), multiplied by sqrt(D). Replace `...` and run the
# cell; the checker tells you what is missing.

# %%
from annotated.exercises import check_embed, check_nearest  # noqa: E402


def my_embed(ids, table):
    ...


check_embed(my_embed)

# %% [markdown]
# **Exercise 2.** Write `my_nearest(table, index, k)`: the ids of the `k` rows of `table` most
# similar to row `index` by cosine similarity, most similar first, leaving the word itself out.

# %%
def my_nearest(table, index, k):
    ...


check_nearest(my_nearest)

# %% [markdown]
# # Chapter 1: Embeddings, from words to vectors
#
# A Transformer computes with vectors, not words. This course grew from François Porcher's
# article "The A-Z of Transformers: Everything You Need to Know"; "the article" below means
# it. This chapter turns its running example, "The cat drinks milk", into numbers the model
# can use. By the end you will be able to:
#
# - turn a sentence into tokens, token ids and vectors, and name the shape at each step;
# - explain the lookup table `E` of shape `(V, D)` and why a lookup is a matrix product;
# - say why the vectors are multiplied by sqrt(d_model), which the article promises to explain
#   and never does;
# - see what training puts into the table, on the course's trained number translator.
#
# Shape letters used in every chapter: B batch, S source length, D d_model, V vocabulary size.

# %%
import math

import torch
import torch.nn.functional as F

import annotated
from annotated import Embeddings, pretrained, show
from annotated.examples import CAT, WordVocab
from annotated.positional import sinusoidal_table
from annotated.viz.figures import FIGURES
from annotated.viz.measure import SCALE_INITS, group_cosines, init_table, number_tables
from annotated.viz.primitives import heatmap

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()  # a GPU when there is one; every number below is the same

# %% [markdown]
# ## 1. Text, tokens, ids
#
# The model cannot read letters. First we cut the text into **tokens**, here whole words.
# Then we replace each token by its number in a fixed **vocabulary**: its **id**. Real systems
# cut text into pieces of words, so that any word can be spelled; chapter 9 does that. One id
# per word keeps this chapter easy to read. A word missing from the list becomes `<unk>`, for
# "unknown", with id 0.

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
# Models read several sentences at once, stacked along a first axis called the **batch**.
# Here the batch holds one sentence of four tokens, so the ids form a tensor of shape
# `(B, S) = (1, 4)`.
#
# ## 2. The lookup table E
#
# The **embedding** of a token is a vector of `d_model` numbers; the paper uses d_model = 512.
# All of them sit in one table `E` with one row per word of the vocabulary, shape `(V, D)`.
# Embedding a sentence means reading the rows of its ids. At the article's size, that is
# two lines:

# %%
V, D = len(vocab), 8  # a tiny table, small enough to print
table = torch.randn(V, D)  # one row of D numbers per word, random for now
# .cpu(): this small table lives on the CPU, so the ids must too
vectors = table[ids.cpu()] * math.sqrt(D)  # (B, S) -> (B, S, D): read rows, scale them
print("table (V, D) =", tuple(table.shape), "-> vectors (B, S, D) =", tuple(vectors.shape))
cat_row = table[vocab.index["cat"]] * math.sqrt(D)  # (D,)
# round to 4 decimals; adding 0.0 prints -0.0 as 0.0
print("the row of 'cat', scaled:", cat_row.round(decimals=4) + 0.0)
print("the sentence's second vector:", vectors[0, 1].round(decimals=4) + 0.0)

# %% [markdown]
# The second vector is the row of "cat", the second word. Section 4 explains the factor
# sqrt(D). The package's `Embeddings` is the same idea, hardened: the table lives in an
# `nn.Embedding`, so PyTorch trains it with the rest of the model, and the ids are checked
# first, so that a wrong input fails with a message that says what to fix.

# %%
show(Embeddings)

# %%
d_model = 512
emb = Embeddings(d_model, len(vocab)).to(device)
E = emb.lut.weight  # the table, one row per word
print("E shape (V, D) =", tuple(E.shape))
x = emb(ids)  # (B, S) -> (B, S, D)
print("embedded sentence shape (B, S, D) =", tuple(x.shape))
try:
    emb(torch.tensor([[1, 99]], device=device))  # id 99 is not in a 22-word vocabulary
except ValueError as e:
    print("ValueError:", e)

# %% [markdown]
# The article draws `E` with shape `(d_model, vocab_size)`: the same table on its side.
# PyTorch stores one row per word. Each token became 512 numbers; here are the first 24:

# %%
_ = heatmap(x[0, :, :24], tokens, [str(i) for i in range(24)], cmap="RdBu_r", vmin=-60, vmax=60,
            annot=False, figsize=(8.0, 2.4), title="The cat drinks milk: the first 24 of 512 "
            "numbers", xlabel="dimension", ylabel="token")

# %% [markdown]
# *Four rows, four unrelated patterns: before training, a word's vector is random noise. The
# scale runs to ±60 because this table starts at `nn.Embedding`'s `N(0, 1)`, not at a small
# start; section 4 shows why that is too big.*
#
# ## 3. A lookup is a one-hot matrix product
#
# Why does the article call `E` a linear map? Write each id as a **one-hot** vector: V
# numbers, all 0 except a 1 at the id. Multiplying that vector by `E` picks exactly one row.
# So the lookup `E[ids]` and the product `one_hot(ids) @ E` are the same; the lookup is just
# the fast way, skipping the multiplications by zero.

# %%
one_hot = F.one_hot(ids, num_classes=len(vocab)).float()  # (B, S) -> (B, S, V)
print("one-hot shape (B, S, V) =", tuple(one_hot.shape))
by_matmul = one_hot @ E  # (B, S, V) @ (V, D) -> (B, S, D)
by_lookup = E[ids]  # (B, S, D)
assert torch.equal(by_matmul, by_lookup)
assert torch.allclose(emb(ids), by_matmul * math.sqrt(d_model))
print("one_hot @ E == E[ids]:", torch.equal(by_matmul, by_lookup),
      "| multiply-adds the matmul spends:", one_hot.numel() * d_model, "| the lookup: none")

# %%
_ = heatmap(one_hot[0], tokens, list(vocab.words), cmap="Greys", annot=False, cbar=False,
            figsize=(8.0, 2.2), title="one-hot rows of 'the cat drinks milk'",
            xlabel="vocabulary word", ylabel="token")

# %% [markdown]
# *Each row has one black cell, in the column of its own word: multiplying by `E` copies
# exactly that word's row.*
#
# ## 4. Why multiply by sqrt(d_model)?
#
# The paper only says that the embedding is multiplied by sqrt(d_model). The article promises
# to explain it later and never does. The authors' own code, Tensor2Tensor, gives the clue:
# it draws the table's entries from `N(0, 1/D)`: a normal, bell-curve distribution with mean 0
# and variance 1/D, that is, standard deviation `1/sqrt(D)`. The lookup multiplies them by
# sqrt(d_model).
# The two cancel. **A small start times sqrt(d_model) gives every embedding entry a typical
# size of about 1, whatever d_model is.**
#
# Why does that size matter? In chapter 2 the embedding is added to a positional encoding, a
# vector of sines and cosines whose entries have a fixed size. Neither should drown the other.
# We measure the typical size of one entry as its root mean square, RMS. A sine or cosine wave
# has RMS 1/sqrt(2), about 0.71. Our tables have 1000 rows, a stand-in for a real vocabulary;
# `init_table` builds each start:

# %%
show(init_table)


def rms(t):  # root mean square: the typical size of one entry
    return t.pow(2).mean().sqrt().item()


pe = sinusoidal_table(100, d_model)  # (positions, D)
pe_rms = rms(pe)
print(f"positional encoding: RMS of one entry = {pe_rms:.4f}")

print("start of a (1000, 512) table   unscaled RMS   x sqrt(D) RMS   (x sqrt(D)) / PE")
for kind in SCALE_INITS:
    start = init_table(kind, 1000, d_model)  # (V, D), as this start leaves it
    unscaled, scaled = rms(start), rms(start) * math.sqrt(d_model)
    print(f"{kind:>30}   {unscaled:12.4f}   {scaled:13.4f}   {scaled / pe_rms:16.2f}")

# %% [markdown]
# Read the last column, the scaled embedding divided by the positional encoding:
#
# - **Tensor2Tensor's start**, `N(0, 1/D)`: 1.42. The two sit side by side.
# - **Xavier**, the start `make_model` gives every weight matrix in chapter 6: 1.16. It draws
#   numbers evenly between `±sqrt(6 / (V + D))`, so its size depends on V as well as D. Here
#   it lands near the encoding, but with the factor it grows with the width. Only the
#   `N(0, 1/D)` start gives the same size at every width.
# - **`N(0, 1)`**, what `nn.Embedding` does on its own: 32. This start does not suit the factor;
#   the word would drown its position. That is why the 512-number vectors of section 2 reach ±60.
#
# Why start small at all? In Tensor2Tensor the same table also scores the output. The
# **decoder**, the half of the model that writes the translation (chapter 6), ends with one
# vector per position; each is multiplied by every row of `E` to give one score per word.
# Small entries keep those first scores near 1; entries of size 1 would make them about
# sqrt(512):

# %%
decoder_out = torch.randn(1000, d_model)  # vectors with entries of typical size 1
for kind in ("Tensor2Tensor", "N(0,1)"):
    scores = decoder_out @ init_table(kind, 1000, d_model).T  # (1000, V): one score per word
    print(f"output scores with the {kind} start: standard deviation {scores.std().item():.1f}")

# %% [markdown]
# Scores that large make the softmax, which turns scores into probabilities, almost certain
# of one random word before any training, so the first losses and gradients are huge;
# chapter 3 shows softmax saturating. So the start is small for the output's sake, and
# sqrt(d_model) brings the input side back up. This is our reading of Tensor2Tensor's code;
# the paper states no reason. The picture repeats the measurement for widths from 64 to 2048:

# %%
_ = FIGURES["01_embedding_scale"].make()

# %% [markdown]
# *Only the green line, the `N(0, 1/D)` start times sqrt(d_model), keeps one size at every
# width; Xavier's orange line grows with d_model, and the unscaled start sinks.*
#
# <details><summary>Under the hood: Xavier depends on the vocabulary too</summary>
#
# Xavier's spread is `sqrt(2 / (V + D))`, so the scaled entry is `sqrt(2D / (V + D))`: about 1
# for a vocabulary near the width, smaller for a large vocabulary. Tensor2Tensor's start does
# not depend on V. Either way the table is trained, so the network can grow or shrink it;
# the factor only sets a sensible start.
#
# </details>
#
# ## 5. Learned from scratch, not pretrained
#
# The article wondered whether the embeddings should come from a pretrained model such as
# word2vec, and answers no: in the Transformer the table starts **random** and is **learned**
# with the rest of the network. `E` is an ordinary trainable parameter. A loss computed from a
# sentence sends a **gradient**, the direction to nudge each number, to the rows of that
# sentence's words only:

# %%
print("E is a trainable parameter:", isinstance(E, torch.nn.Parameter), E.requires_grad)
emb.zero_grad()
loss = emb(ids).pow(2).mean()  # any loss computed from the sentence's vectors
loss.backward()
rows_with_gradient = (E.grad.abs().sum(dim=1) > 0).nonzero().flatten().tolist()
print("rows with a gradient:", rows_with_gradient, "=", vocab.decode(rows_with_gradient))
assert sorted(rows_with_gradient) == sorted(ids[0].tolist())

# %% [markdown]
# This is **autograd**: `zero_grad` clears old gradients, `backward` computes the gradient of
# the loss for every trainable number, and `.grad` holds it. The
# [PyTorch primer](A1_pytorch_primer.ipynb) walks through it.

# %% [markdown]
# Before training, no word is closer to another. We compare two vectors by their **cosine
# similarity**: 1 for the same direction, 0 for perpendicular. Random vectors in 512
# dimensions are almost perpendicular:

# %%
unit = F.normalize(E.detach(), dim=-1)  # (V, D), rows of length 1
cos = unit @ unit.T  # (V, V) cosine similarities
print("cosine(cat, dog) =", round(cos[vocab.index["cat"], vocab.index["dog"]].item(), 3),
      "| cosine(cat, '.') =", round(cos[vocab.index["cat"], vocab.index["."]].item(), 3))

# %% [markdown]
# Meaning arrives through training. The course ships a trained Transformer that translates
# German and Japanese number words into English; chapter 0 showed it at work. Its English
# table has 37 words of 128 numbers each. To draw 128 numbers on paper, we keep the two
# directions along which the words differ most, a projection called **PCA**, and compare with a
# random table of the same shape, as `make_model` would start it. The colours mark four
# groups: units "one" to "nine", teens "ten" to "nineteen", tens "twenty" to "ninety", and the
# **joiners** "hundred", "thousand", "and", "-" and "," that hold a number together. Grey
# marks the rest: "zero" and the special tokens `<s>` and `</s>` that start and end a
# sentence, `<unk>`, and `<pad>`, filler for short sentences. Each title gives the share of
# the spread, the variance of all 128 numbers, that the 2-D view keeps.

# %%
numbers = pretrained.load("numbers")
tables = number_tables(numbers)  # {"trained": (V, D), "random": (V, D)}
words = list(numbers.tgt_vocab.itos)
print("English table (V, D) =", tuple(tables["trained"].shape))
_ = FIGURES["01_trained_embeddings"].make()

# %% [markdown]
# *After training the tens form one tight cluster, and the units and the teens two
# neighbouring ones; the random table has no groups. "ten" does not join the teens: why
# might that be?*
#
# A 2-D view keeps only part of the spread, so we check the claim in all 128 numbers: the mean
# cosine between two words of one group, and between a word of the group and the other words.

# %%
for name in ("random", "trained"):
    found = group_cosines(tables[name], words)
    print(f"{name:>7}:", " | ".join(f"{group} {inside:.2f} vs {outside:.2f}"
                                    for group, (inside, outside) in found.items()))

# %% [markdown]
# In the trained table, two tens have a mean cosine of 0.63, two units 0.42, two teens 0.52,
# while the random table gives about 0 everywhere. The joiners are not a group: 0.01. They
# share a corner of the 2-D view, yet in all 128 numbers they point in unrelated directions;
# a projection can mislead, so check it. Each joiner plays its own part in a number. Nobody
# told the model which words are tens; it found out because they are used alike.
#
# ## 6. Explore the table
#
# Run the cell and pick a word: the left panel marks it and its four nearest neighbours, by
# cosine in all 128 numbers; the right panel lists their cosines. Switch to the random table
# to see what training changed.

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import number_embedding_explorer  # noqa: E402

number_embedding_explorer(numbers)

# %% [markdown]
# ## Recap
#
# - Text -> tokens -> ids -> vectors: ids of shape `(B, S)` become vectors of shape
#   `(B, S, D)`; for "The cat drinks milk", `(1, 4)` becomes `(1, 4, 512)`.
# - The table `E` has one row per word, shape `(V, D)`. A lookup equals a one-hot matrix
#   product; indexing is the fast way to do it.
# - The factor sqrt(d_model) pairs with the `N(0, 1/D)` start: together they give entries of
#   size about 1, beside the positional encoding's 0.71, at any width. The start is small
#   because the same table also scores the output words.
# - The table starts random and is learned; trained, words used alike sit together.
#
# ## Your turn
#
# **Exercise 1: predict, then check.** A table of V = 1000 words starts like `make_model`'s,
# with Xavier, and you double d_model from 512 to 1024. By what factor does the typical size
# of one embedding entry change, with the factor sqrt(d_model) and without it? Write each
# answer as new size / old size. Work it out first; the checker then shows the measured ratios.
#
# <details><summary>Hint 1</summary>
#
# Xavier's spread depends on V + D, not on D alone, and V stays the same.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The box "Under the hood" in section 4 gives the spread as a formula. Evaluate it at both
# widths with `math.sqrt`, then divide; the factor sqrt(d_model) changes by its own ratio.
#
# </details>

# %%
from annotated.exercises import check_nearest, check_scale_prediction  # noqa: E402

prediction = {"scaled": ..., "unscaled": ...}
check_scale_prediction(prediction)

# %% [markdown]
# **Exercise 2: discover.** Write `my_nearest(table, index, k)`: the ids of the `k` rows of
# `table` most similar to row `index` by cosine similarity, most similar first, leaving
# the word itself out. Once it passes, the next lines run it on the trained table. Then
# think: rank by the plain dot product instead. Which word becomes the nearest to "ten", and
# why? Print the length of each row to find out.
#
# <details><summary>Hint 1</summary>
#
# Compare directions, not lengths: two rows pointing the same way should score 1, however
# long they are. And a word is not its own neighbour.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Look up `torch.nn.functional.normalize` and a tensor's `topk` method.
#
# </details>

# %%
def my_nearest(table, index, k):
    ...


if check_nearest(my_nearest):
    for word in ("one", "ten", "zero"):
        near = my_nearest(tables["trained"], words.index(word), 4)
        print(word, "->", [words[i] for i in near.tolist()])
else:
    print(check_nearest(my_nearest))

# %% [markdown]
# ## Further reading
#
# - Vaswani et al., [Attention Is All You Need](https://arxiv.org/abs/1706.03762), 2017:
#   section 3.4 states the factor sqrt(d_model) and the table shared with the output.
# - François Porcher's article "The A-Z of Transformers: Everything You Need to Know", this
#   course's seed, and its [code](https://github.com/FrancoisPorcher/awesome-ai-tutorials).
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/), Harvard
#   NLP: the paper as line-by-line PyTorch code, `Embeddings` included.
# - [Tensor2Tensor](https://github.com/tensorflow/tensor2tensor), the authors' code: in
#   `tensor2tensor/layers/modalities.py` the table starts at `N(0, 1/d_model)` and the lookup
#   multiplies by d_model ** 0.5.
# - Mikolov et al., [word2vec](https://arxiv.org/abs/1301.3781), 2013, and J. Alammar's
#   [Illustrated Word2vec](https://jalammar.github.io/illustrated-word2vec/): the pretrained
#   word vectors the article decided against, and why similar words end up close.
# - Press and Wolf, [Using the Output Embedding to Improve Language
#   Models](https://arxiv.org/abs/1608.05859), 2017: sharing one table between input and output.
# - Sennrich et al., [subword units](https://arxiv.org/abs/1508.07909), 2016: the pieces of
#   words that later models embed instead of whole words.

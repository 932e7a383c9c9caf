# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 6: The full model
#
# Embeddings, positions, multi-head attention and masks are all built. Now we assemble them
# into the encoder-decoder Transformer of the paper. By the end of this chapter you will be
# able to:
#
# - name the three parts, encoder, decoder and generator, and say what `src` and `tgt` are;
# - explain the sublayer connection, and the difference between the paper's post-norm and
#   the article's pre-norm, with a measurement of why it matters for deep stacks;
# - follow the shapes through the feed-forward block, an encoder layer and a decoder layer
#   with its cross-attention;
# - count the parameters of the paper's base and big models, line by line;
# - run an untrained model and watch it write (random) output one word at a time.
#
# Letters used for shapes: B batch, S source length, T target length, D = d_model,
# H heads, V vocabulary.

# %%
import torch

import annotated
from annotated import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderDecoder,
    EncoderLayer,
    Generator,
    PositionwiseFeedForward,
    SublayerConnection,
    count_parameters,
    keep_attention,
    make_model,
    model_from_config,
    padding_mask,
    show,
    subsequent_mask,
)
from annotated.multihead import clones
from annotated.viz.draw import architecture_figure, grad_norms_figure
from annotated.viz.measure import layer_gradient_norms
from annotated.viz.widgets import model_attention_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## Encoder, decoder, generator
#
# At the highest level the Transformer has three parts:
#
# - the **encoder** reads the whole source sentence (`src`, the sentence to translate) and
#   turns each word into a vector that knows its context: the *memory*;
# - the **decoder** reads the target sentence written so far (`tgt`) and, through
#   cross-attention, the memory, and produces one vector per target position;
# - the **generator** turns each of those vectors into a probability for every word of
#   the vocabulary: which word comes next.
#
# The output is **autoregressive**: the model writes one word, appends it to `tgt`, and runs
# the decoder again to get the next one, until it writes an end token. That is why the
# decoder needs the target so far as an input, and why it needs the causal mask of
# chapter 5. It is also what sets it apart from the decoder of an autoencoder, which
# rebuilds its output from the encoder's code alone: ours reads the code (the memory) *and*
# its own words so far. The two halves also work alone: BERT is a stack of encoder layers
# only (it reads text, it does not write it), GPT a stack of decoder layers without
# cross-attention. Here is the whole data flow with the shape on each arrow:

# %%
_ = architecture_figure()

# %% [markdown]
# *Read it from the bottom. Source ids (B, S) and target ids (B, T) become vectors of width
# D; the encoder keeps (B, S, D) all the way up; its output, the memory, enters every decoder
# layer's cross-attention (with `src_mask`, so that no target word reads a source pad); the
# generator maps (B, T, D) to (B, T, V) log-probabilities. The boxes show the model this
# course builds by default, pre-norm: LayerNorm, then the sublayer, then + the residual, and
# one more LayerNorm at the top of each stack. (The paper's figure is post-norm, "Add &
# Norm" after each sublayer; the difference is explained below.) The feed-forward block's
# d_ff = 4D = 2048 (below). The target mask drawn as (B, T, T) may also be (1, T, T): one
# causal mask broadcast over the batch, as in the code below.*
#
# In code, `EncoderDecoder` only wires the parts together: `encode` runs the source
# embedding and the encoder, `decode` the target embedding and the decoder. Its `forward`
# returns the decoder's vectors (B, T, D), not probabilities: the generator is applied
# separately (the loss of chapter 7 calls it). The "shifted" target ids of the docstring are
# the target moved one place right behind a start token (chapter 7). (`new_cache` and
# `decode`'s `cache` make decoding one word at a time fast: chapter 8.)

# %%
show(EncoderDecoder)

# %% [markdown]
# The generator is one linear map from D to V, the scores (`logits`), followed by
# log-softmax (log-probabilities add where probabilities multiply, and the loss of chapter 7
# wants logs):

# %%
show(Generator)
gen = Generator(d_model=512, vocab=1000)
h = torch.randn(2, 3, 512)  # (B, T, D): decoder output
logp = gen(h)
print("generator:", tuple(h.shape), "(B, T, D) ->", tuple(logp.shape), "(B, T, V)")
torch.testing.assert_close(logp.exp().sum(dim=-1), torch.ones(2, 3))  # a distribution
print("each position's probabilities sum to 1:", True)

# %% [markdown]
# ## The sublayer connection: residual + LayerNorm
#
# Every attention and feed-forward block in the model sits inside the same wrapper. It adds
# the block's output back to its input (a **residual connection**: the block only has to
# learn a correction, and gradients have a direct path down) and normalises with
# **LayerNorm** (each position's D numbers rescaled to mean 0 and standard deviation 1, then
# a learned scale and shift). There are two ways to order these:
#
# - **post-norm**, the paper: `LayerNorm(x + Sublayer(x))`;
# - **pre-norm**, the article's code (taken from the Annotated Transformer):
#   `x + Sublayer(LayerNorm(x))`.
#
# **Correction.** The article describes the paper's order ("a residual connection followed
# by layer norm"), and the docstring of its `SublayerConnection` even says the norm comes
# last "for code simplicity". But its code, `x + self.dropout(sublayer(self.norm(x)))`,
# normalises *first*: that is pre-norm, not the paper. (The Annotated Transformer, where the
# code comes from, says it the right way round: the norm is first as opposed to last.) And
# it is not a mere simplification: it is a different model, which trains differently
# (measured below). Our package builds both: `make_model(..., norm="pre")` (the default, as
# in the article's code) or `norm="post"` (the paper).

# %%
show(SublayerConnection)

# %% [markdown]
# Both, on the same input and the same feed-forward block. We give the input a scale that
# is not normalised, as the residual stream of a deep model soon has:

# %%
D = 512
ffn = PositionwiseFeedForward(D, 2048, dropout=0.0)
pre = SublayerConnection(D, dropout=0.0, norm="pre")
post = SublayerConnection(D, dropout=0.0, norm="post")
x = torch.randn(2, 5, D) * 3 + 1  # (B, S, D), mean 1, std 3

y_pre, y_post = pre(x, ffn), post(x, ffn)  # (B, S, D) each
torch.testing.assert_close(y_pre, x + ffn(pre.norm(x)))  # x + Sublayer(LN(x))
torch.testing.assert_close(y_post, post.norm(x + ffn(x)))  # LN(x + Sublayer(x))
for name, y in (("input", x), ("pre-norm output", y_pre), ("post-norm output", y_post)):
    print(f"{name:<17} mean {y.mean().item():7.4f}   std {y.std().item():.4f}")
print(f"what the pre-norm block added: std {(y_pre - x).std().item():.4f} (a small correction)")

# %% [markdown]
# Post-norm hands the next layer a normalised stream (mean 0, std 1). Pre-norm leaves the
# stream as it is and only normalises what enters the block, so a pre-norm stack needs one
# final LayerNorm at the top: that is the `norm` at the end of `Encoder` and `Decoder`.
#
# ### Why pre-norm trains deep stacks more easily
#
# Call the x that is passed from layer to layer, and to which each sublayer adds its
# output, the **residual stream**. In pre-norm, the stream from the loss down to the first
# layer is a plain sum `x + ... + ... + ...`: the gradient that reaches a layer is the one
# from the top, passed down unchanged, plus what every layer above adds to it, so it does
# not shrink on the way down (lower layers may even get more). In post-norm, every layer
# puts a LayerNorm on that path, and each one rescales the gradient on its way down. We
# measure it: a fresh 24-layer model (D = 128 to keep it fast), one loss on random
# sentences, and each layer's **gradient norm**, the square root of the sum of the squares
# of all its parameters' gradients: how hard one training step would push that layer.

# %%
show(layer_gradient_norms)
norms = {n: layer_gradient_norms(n, N=24) for n in ("pre", "post")}
for n in ("pre", "post"):
    for part in ("encoder", "decoder"):
        g = norms[n][part]
        print(f"{n:>4}-norm {part}: layer 1 {g[0]:.2e}, layer 24 {g[-1]:.2e}, "
              f"largest / smallest {max(g) / min(g):.2g}")
post_dec, pre_dec = norms["post"]["decoder"], norms["pre"]["decoder"]
assert post_dec[-1] / post_dec[0] > 100 and max(pre_dec) / min(pre_dec) < 4

# %%
_ = grad_norms_figure(norms)

# %% [markdown]
# *Log scale. Right: with post-norm (orange) the decoder's gradient falls more than a
# thousandfold from the top layer to the bottom one, so the lower layers barely learn at
# first; with pre-norm (blue) the decoder layers stay within a factor of about 2. Left: the
# encoder, which gets gradient through the cross-attention of every decoder layer, varies by
# less than 4x with both.*
#
# At the paper's depth the gap is much smaller. The same measurement with 6 layers:

# %%
six = {n: layer_gradient_norms(n, N=6)["decoder"] for n in ("pre", "post")}
for n, g in six.items():
    print(f"{n:>4}-norm decoder, 6 layers: largest / smallest {max(g) / min(g):.1f}")
assert max(six["post"]) / min(six["post"]) > max(six["pre"]) / min(six["pre"])

# %% [markdown]
# The paper trained its 6-layer post-norm model well, with the learning-rate warm-up of
# chapter 7, which keeps early updates small while these gradients are uneven. Deeper
# post-norm stacks often fail to train without such care (Xiong et al., 2020, "On Layer
# Normalization in the Transformer Architecture", analyse exactly this); pre-norm is what
# most later Transformers use.
#
# ## The position-wise feed-forward block: expand, then compress
#
# The box labelled "Feed Forward" in the paper's figure is two linear maps with a ReLU
# between them: D = 512 numbers are expanded to d_ff = 2048, then compressed back to 512.
# "Position-wise" means the same two maps are applied to each position on its own; words
# only talk to each other in attention.

# %%
show(PositionwiseFeedForward)
x = torch.randn(2, 5, D)  # (B, S, D)
hidden = ffn.w_1(x).relu()  # (B, S, d_ff)
print("input  ", tuple(x.shape), "(B, S, D)")
print("expand ", tuple(hidden.shape), "(B, S, d_ff)")
print("compress", tuple(ffn.w_2(hidden).shape), "(B, S, D)")
print("parameters:", count_parameters(ffn), "= 512 x 2048 + 2048 + 2048 x 512 + 512")
assert count_parameters(ffn) == 512 * 2048 + 2048 + 2048 * 512 + 512

one_word = ffn(x[:, 2:3])  # position 2 alone, (B, 1, D)
torch.testing.assert_close(ffn(x)[:, 2:3], one_word)  # same result as inside the sentence
print("position 2 alone == position 2 in the sentence:", True)

# %% [markdown]
# ## The encoder layer
#
# An encoder layer is self-attention (every source word looks at every source word, pads
# hidden by the source mask) and then the feed-forward block, each in a sublayer
# connection. The paper stacks N = 6 of them.

# %%
show(EncoderLayer)

# %% [markdown]
# ### Correction: the encoder keeps d_model
#
# The article says the encoder turns the input into a new sequence "usually of smaller
# dimension". It does not: every sublayer adds its output to its input, which only works if
# both have the same width, so each of the 6 layers maps (B, S, D) to (B, S, D). The
# encoder's output, the memory, has one vector of the full width D per source word. Take
# the whole model with the paper's sizes (and a toy 11-word vocabulary) and watch the shape
# after each layer:

# %%
# A toy vocabulary of 11 ids: 0 is <pad>, 1 is the start symbol <s>, 2 to 10 are "words".
PAD, START = 0, 1
torch.manual_seed(0)  # the untrained model's outputs below depend on these random weights
model = make_model(src_vocab=11, tgt_vocab=11, N=6, d_model=512, d_ff=2048, h=8)
model = model.to(device).eval()
src = torch.tensor([[2, 3, 4, 5, 6, 7, 8, 9, 10, PAD]]).to(device)  # (B, S): 9 words, 1 pad
src_mask = padding_mask(src, PAD)  # (B, 1, S)

x = model.src_embed(src)  # (B, S, D)
print("embedded source ", tuple(x.shape))
for i, layer in enumerate(model.encoder.layers):
    x = layer(x, src_mask)  # (B, S, D)
    print(f"after layer {i + 1}   ", tuple(x.shape))
    assert x.shape == (1, 10, 512)
memory = model.encoder.norm(x)  # the final LayerNorm of pre-norm
torch.testing.assert_close(memory, model.encode(src, src_mask))
print("memory          ", tuple(memory.shape), "(B, S, D): the width never shrinks")

# %% [markdown]
# ## The decoder layer and cross-attention
#
# A decoder layer has three sublayers:
#
# 1. masked self-attention over the target so far (the causal mask of chapter 5);
# 2. **cross-attention**: the queries come from the decoder (one per target position), the
#    keys and values from the encoder's memory (one per source word). This is where the
#    translation looks at the source;
# 3. the feed-forward block.
#
# (Its `cache` argument is for decoding one word at a time, chapter 8.)

# %%
show(DecoderLayer)

# %% [markdown]
# With S = 10 source words and T = 4 target words, the cross-attention weights have one row
# per target position and one column per source word: (B, H, T, S).

# %%
# Keep the weights in each layer's .attn: chapter 4's explicit softmax ("naive") path, where
# the fused sdpa path would not keep them.
keep_attention(model)
tgt = torch.tensor([[START, 3, 7, 5]]).to(device)  # (B, T): the target so far
tgt_mask = subsequent_mask(4).to(device)  # (1, T, T)
out = model.decode(memory, src_mask, tgt, tgt_mask)  # (B, T, D)
layer0 = model.decoder.layers[0]
print("decoder output        ", tuple(out.shape), "(B, T, D)")
print("self-attention weights", tuple(layer0.self_attn.attn.shape), "(B, H, T, T)")
print("cross-attention weights", tuple(layer0.src_attn.attn.shape), "(B, H, T, S)")
assert layer0.src_attn.attn.shape == (1, 8, 4, 10)
print("weight on the source pad:", layer0.src_attn.attn[..., -1].abs().max().item())

# Keys and values come from the memory: change the source, and every target position moves.
other_src = src.flip(1).roll(-1, 1)  # the words reversed, the pad still last
other_memory = model.encode(other_src, src_mask)
out2 = model.decode(other_memory, src_mask, tgt, tgt_mask)
moved = (out - out2).abs().amax(dim=-1)  # (B, T): the largest change at each target position
print("largest change at each target position:", moved[0].detach().cpu())
assert moved.gt(1e-4).all()

# %% [markdown]
# ## N = 6: the stacks
#
# `Encoder` and `Decoder` are N copies of their layer (made by `clones`), applied in turn,
# and, with pre-norm, one last LayerNorm. The copies are deep copies: each layer has its own
# weights, which training will make different (`make_model` re-draws them right away).

# %%
show(clones)
show(Decoder)
print("encoder layers:", len(model.encoder.layers), "  decoder layers:", len(model.decoder.layers))
assert isinstance(model.encoder, Encoder) and len(model.decoder.layers) == 6
w1 = [layer.feed_forward.w_1.weight for layer in model.encoder.layers[:2]]
assert w1[0] is not w1[1] and not torch.equal(w1[0], w1[1])  # no weights shared
print("layers 1 and 2 share their weights:", w1[0] is w1[1])

# %% [markdown]
# ## `make_model` and the parameter count
#
# `make_model` takes a handful of sizes and hands them to `model_from_config`, which builds
# all of the above: one attention, feed-forward block and positional encoding, deep-copied
# into every place that needs one; the embeddings and positions of each side as a
# `Sequential`; the optional tying of the embeddings; and finally every weight matrix drawn
# afresh with Xavier-uniform initialisation (chapter 1).

# %%
show(make_model)
show(model_from_config)

# %% [markdown]
# The paper reports 65 million parameters for its base model and 213 million for the big
# one, translating English to German with one shared vocabulary of about 37,000 subword
# tokens. Shared means one embedding matrix serves the source lookup, the target lookup and
# the generator's projection (`tie_embeddings=True`, the paper's section 3.4). Counting
# line by line (two things do not appear: the sinusoidal positional encoding is a buffer,
# not a parameter; and the number of heads h, because the heads split the same D x D maps.
# The table counts the pre-norm model: the paper's post-norm model has no final LayerNorms,
# 2 x 2 x 512 = 2,048 parameters fewer):

# %%
def parameter_table(V: int, D: int, d_ff: int, N: int) -> dict[str, int]:
    """The parameters of a tied, pre-norm make_model, part by part."""
    attn = 4 * (D * D + D)  # W_q, W_k, W_v, W_o, each with a bias
    ffn = D * d_ff + d_ff + d_ff * D + D  # W_1, b_1, W_2, b_2
    norm = 2 * D  # a LayerNorm's scale and shift
    return {
        "shared embedding V x D (src, tgt, generator)": V * D,
        f"encoder: {N} x (attention + FFN + 2 LayerNorms)": N * (attn + ffn + 2 * norm),
        f"decoder: {N} x (2 attentions + FFN + 3 LayerNorms)": N * (2 * attn + ffn + 3 * norm),
        "final LayerNorms of encoder and decoder": 2 * norm,
        "generator bias (V)": V,
    }


base = parameter_table(V=37_000, D=512, d_ff=2048, N=6)
for part, n in base.items():
    print(f"{part:<52} {n:>12,}")
print(f"{'total':<52} {sum(base.values()):>12,}")

base_model = make_model(37_000, 37_000, tie_embeddings=True)  # the real thing, on the CPU
assert count_parameters(base_model) == sum(base.values()) == 63_121_544
print("count_parameters(make_model(...)) agrees:", count_parameters(base_model))
del base_model

# %% [markdown]
# The big model doubles D to 1024 and d_ff to 4096, with 16 heads. Its 214 million
# parameters would take 860 MB, so we build it on PyTorch's `meta` device: every tensor has
# its shape and no memory, which is all a count needs.

# %%
big = parameter_table(V=37_000, D=1024, d_ff=4096, N=6)
for part, n in big.items():
    print(f"{part:<52} {n:>12,}")
print(f"{'total':<52} {sum(big.values()):>12,}")
with torch.device("meta"):
    big_model = make_model(37_000, 37_000, d_model=1024, d_ff=4096, h=16, tie_embeddings=True)
assert count_parameters(big_model) == sum(big.values()) == 214_286_472
print("count_parameters(make_model(...)) agrees:", count_parameters(big_model))

# %% [markdown]
# We get 63.1M against the paper's 65M, and 214.3M against 213M. The paper does not give its
# exact vocabulary size, so which vocabulary would make each number exact? Every extra word
# adds D weights to the shared embedding and 1 bias to the generator:

# %%
for name, table, D_, paper in (("base", base, 512, 65e6), ("big", big, 1024, 213e6)):
    V_needed = 37_000 + (paper - sum(table.values())) / (D_ + 1)
    print(f"{name}: {paper / 1e6:.0f}M needs a vocabulary of about {V_needed:,.0f}")

# %% [markdown]
# The two answers disagree (about 40,700 and 35,700). Rounding cannot explain it: "65M"
# allows 64.5M to 65.5M, a vocabulary of about 39,700 to 41,600, and "213M" about 35,300 to
# 36,200; the ranges do not overlap. So the paper counted a slightly different model from
# ours, and it does not say which. Our exact counts against the paper's:

# %%
for name, table, paper in (("base", base, 65e6), ("big", big, 213e6)):
    print(f"{name}: {sum(table.values()) / 1e6:.1f}M vs {paper / 1e6:.0f}M, "
          f"{sum(table.values()) / paper - 1:+.1%}")
shared_share = base["shared embedding V x D (src, tgt, generator)"] / sum(base.values())
print(f"the shared embedding is {shared_share:.0%} of the base model")

# %% [markdown]
# Exercise 1 at the end asks what untying the embeddings would cost.
#
# ## An untrained model's output, one word at a time
#
# Our toy model (paper sizes, 11-word vocabulary) has never seen data. Give it a source and
# let it write autoregressively, always taking the most likely next word (greedy decoding,
# chapter 7): run the decoder on the target so far, take the generator's output at the last
# position, append the winner, repeat.

# %%
keep_attention(model, False)  # back to the fused sdpa path: we only need the outputs here
ys = torch.full((1, 1), START).to(device)  # (B, 1): the start symbol
with torch.no_grad():
    memory = model.encode(src, src_mask)  # (B, S, D), computed once
    for step in range(6):
        out = model.decode(memory, src_mask, ys, subsequent_mask(ys.size(1)).to(device))
        logp = model.generator(out[:, -1])  # (B, V): the next word after the last position
        next_word = logp.argmax(dim=-1, keepdim=True)  # (B, 1)
        ys = torch.cat([ys, next_word], dim=1)  # (B, t + 1)
        print(f"step {step + 1}: tgt {tuple(ys.shape)} {ys[0].tolist()}   "
              f"its probability {logp.exp().max().item():.2f}")
assert ys[0, 1:].tolist() != src[0, :6].tolist()  # not a copy of the source: untrained

# %% [markdown]
# Nothing here has to do with the source (a copy would read 2, 3, 4, ...). What it does
# write depends on the random weights. Two more untrained models, with other seeds:

# %%
def untrained_greedy(seed: int, steps: int = 6) -> tuple[list[int], list[float]]:
    """Greedy words and their probabilities from a fresh model built with `seed`."""
    torch.manual_seed(seed)
    fresh = make_model(11, 11, N=6, d_model=512, d_ff=2048, h=8).to(device).eval()
    ys, probs = torch.full((1, 1), START).to(device), []
    with torch.no_grad():
        memory = fresh.encode(src, src_mask)
        for _ in range(steps):
            out = fresh.decode(memory, src_mask, ys, subsequent_mask(ys.size(1)).to(device))
            p = fresh.generator(out[:, -1]).exp()  # (B, V)
            probs.append(round(p.max().item(), 2))
            ys = torch.cat([ys, p.argmax(dim=-1, keepdim=True)], dim=1)
    return ys[0, 1:].tolist(), probs


for seed in (1, 2):
    words, probs = untrained_greedy(seed)
    print(f"seed {seed}: {words}   probabilities {probs}")

# %% [markdown]
# Two of the three models repeat one word; the third alternates between two. Their
# probabilities, 0.27 to 0.66, are well above the 1/11 = 0.09 of a blind guess: random
# weights can make a model confident, about nothing that has to do with the source.
# Confidence is not knowledge. Chapter 7 trains a
# much smaller model of the same design to copy its source.
#
# ## Widget: every head of every layer
#
# Run the model once more with the weights kept, on the source and the target written
# above, and explore the three kinds of attention in all 6 layers and 8 heads. Untrained, the
# patterns are random, but the shapes tell the story: encoder self-attention is S x S,
# decoder self-attention is T x T with nothing above the diagonal, and cross-attention is
# T x S with nothing in the pad column.

# %% tags=["nbval-ignore-output"]
names = {PAD: "<pad>", START: "<s>"}
src_tokens = [names.get(i, str(i)) for i in src[0].tolist()]
tgt_tokens = [names.get(i, str(i)) for i in ys[0].tolist()]
model_attention_explorer(model, src, ys, src_tokens, tgt_tokens, src_mask)

# %% [markdown]
# ## Recap
#
# - `EncoderDecoder` = source embedding + encoder, target embedding + decoder, and a
#   `Generator` (linear + log-softmax). `src` is the sentence to translate, `tgt` the
#   translation so far; the output is written one word at a time.
# - Each sublayer sits in a residual connection with LayerNorm. Correction: the paper is
#   post-norm, the article's code pre-norm; at initialisation a 24-layer post-norm decoder's
#   lowest layer gets a gradient over a thousand times smaller than its top one.
# - The feed-forward block expands 512 -> 2048 and compresses back, at each position alone.
# - Encoder layer: self-attention + FFN. Decoder layer: masked self-attention,
#   cross-attention (queries from the decoder, keys and values from the memory), FFN.
#   N = 6 of each. Correction: the encoder keeps the width d_model.
# - Base model: 63,121,544 parameters (paper: 65M); big: 214,286,472 (paper: 213M).
#
# Why did this design take over? Nothing in it is specific to language: attention relates
# any set of vectors, so the same blocks read image patches or audio frames once those are
# turned into vectors. It assumes little about its input (no built-in notion of order or
# locality: positions are added, and attention learns what matters). And every position of
# a sentence is computed at once, as matrix products a GPU runs in parallel, where a
# recurrent network must go word by word.
#
# ## Your turn
#
# **1.** The paper ties the three vocabulary matrices. Write
# `untied_parameters(src_vocab, tgt_vocab, d_model, d_ff, N)`: the parameters of a pre-norm
# `make_model(..., tie_embeddings=False)`, where the source lookup, the target lookup and the
# generator each have their own matrix, as a formula (h does not change it). The two
# vocabularies may differ. The grader compares it with real models, the paper's base size
# among them.

# %%
from annotated.exercises import check_post_norm, check_untied_parameters  # noqa: E402


def untied_parameters(src_vocab, tgt_vocab, d_model, d_ff, N):
    ...


check_untied_parameters(untied_parameters)

# %% [markdown]
# **2.** Write the paper's post-norm residual connection, `post_norm(x, sublayer, norm)`,
# where `sublayer` is a function of x and `norm` a `nn.LayerNorm`.

# %%
def post_norm(x, sublayer, norm):
    ...


check_post_norm(post_norm)

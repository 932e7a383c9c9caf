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
# Embeddings, positions, attention and masks are built. Now we assemble them into the
# paper's encoder-decoder Transformer. By the end of this chapter you will be able to:
#
# - name the three parts, encoder, decoder and generator, and say what `src` and `tgt` are;
# - draw a sublayer connection in the paper's order and the article's, and compare them;
# - say what the feed-forward block adds to attention;
# - follow the shapes through an encoder layer and a decoder layer;
# - count the parameters of the paper's base and big models.
#
# Letters used for shapes: B batch, S source length, T target length, D = d_model,
# H heads, V vocabulary.

# %%
import torch
from torch import nn

import annotated
from annotated import (
    Decoder,
    DecoderLayer,
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
    pretrained,
    show,
    subsequent_mask,
)
from annotated.multihead import clones
from annotated.viz.figures import FIGURES
from annotated.viz.draw import grad_norms_figure
from annotated.viz.measure import (
    copy_run_without_warmup,
    layer_gradient_norms,
    train_without_warmup,
    without_feed_forward,
)
from annotated.viz.widgets import trained_heads_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## Encoder, decoder, generator
#
# The Transformer has three parts:
#
# - the **encoder** reads the whole source sentence, `src`, and turns each word into a
#   vector that knows its context. Its output is called the **memory**;
# - the **decoder** reads the translation written so far, `tgt`, looks at the memory
#   through cross-attention, and produces one vector per target position;
# - the **generator** turns each of those vectors into a probability for every word of the
#   vocabulary: which word comes next.
#
# The output is **autoregressive**: the model writes one word, appends it to `tgt`, and runs
# the decoder again for the next one, hence the causal mask of chapter 5. BERT is an
# encoder stack alone, GPT a decoder stack.

# %%
_ = FIGURES["06_architecture"].make()

# %% [markdown]
# *Read it from the bottom: the encoder keeps the shape (B, S, D) all the way up, and its
# memory enters the cross-attention of every decoder layer. The blue paths are the residual
# connections of the next section.*
#
# In code, `EncoderDecoder` only wires the parts together. Its `forward` returns the
# decoder's vectors, not probabilities: the loss of chapter 7 calls the generator. The
# `cache` arguments are for chapter 8.

# %%
show(EncoderDecoder)

# %% [markdown]
# The generator is one linear map from D to V, giving a score per word, the **logits**, then
# a log-softmax. Logs, because the loss of chapter 7 wants log-probabilities.

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
# Every attention block and every feed-forward block sits inside the same wrapper. It adds
# the block's output back to its input. That is a **residual connection**: the block only
# has to learn a correction to x, and the gradient has a direct path down. The wrapper also
# applies **LayerNorm**, which rescales each position's D numbers to mean 0 and standard
# deviation 1, then applies a learned scale and shift.
#
# At the article's size, the whole wrapper is four lines:

# %%
class SublayerSketch(nn.Module):
    """x + Sublayer(LayerNorm(x)): the article's code order, pre-norm."""

    def __init__(self, size: int):
        super().__init__()
        self.norm = nn.LayerNorm(size)

    def forward(self, x, sublayer):
        return x + sublayer(self.norm(x))


# %% [markdown]
# There are two ways to order the sum and the norm:

# %%
_ = FIGURES["06_pre_post_norm"].make()

# %% [markdown]
# *Pre-norm keeps a clean residual path, a plain sum from bottom to top; post-norm puts a
# LayerNorm on that path after every sublayer.*
#
# **Correction.** The article describes the paper's post-norm, but its code,
# `x + self.dropout(sublayer(self.norm(x)))`, normalises first: that is pre-norm, a
# different model.
# The package's `SublayerConnection` is the sketch hardened: dropout on the sublayer's
# output, and both orders, chosen with `norm="pre"` (the default) or `norm="post"`.

# %%
show(SublayerConnection)

# %% [markdown]
# Both orders on the same input and the same feed-forward block. The input is an example
# whose numbers are not yet normalised: mean 1, standard deviation 3.

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

# %% [markdown]
# Post-norm hands the next layer a normalised stream. Pre-norm only normalises what enters
# the block, so a pre-norm stack needs one final LayerNorm at its top: the `norm` at the end
# of `Encoder` and `Decoder`.
#
# ### How the two orders train
#
# The x passed from layer to layer, to which every sublayer adds its output, is the
# **residual stream**. In pre-norm, the path from the loss down to the first layer is a plain
# sum. In post-norm, each LayerNorm on that path rescales the gradient on its way down.
#
# We measure each layer's **gradient norm**, the square root of the sum of its squared
# gradients, after one loss on random sentences. The fresh model has 24 layers, four times
# the paper's 6, so that the effect is easy to see, and a small width, D = 128.

# %%
norms = {n: layer_gradient_norms(n, N=24) for n in ("pre", "post")}
for n in ("pre", "post"):
    g = norms[n]["decoder"]
    print(f"{n:>4}-norm decoder: layer 1 {g[0]:.2e}, layer 24 {g[-1]:.2e}, "
          f"largest / smallest {max(g) / min(g):.0f}")
post_dec, pre_dec = norms["post"]["decoder"], norms["pre"]["decoder"]
assert post_dec[-1] / post_dec[0] > 100 and max(pre_dec) / min(pre_dec) < 4

# %%
_ = grad_norms_figure(norms)

# %% [markdown]
# *With post-norm the decoder's gradient shrinks more than a thousandfold from the top layer
# to the bottom one; with pre-norm it stays nearly flat.*
#
# Read the decoder panel, where the path from the loss down is one chain. The encoder's
# gradient arrives through the cross-attention of all 24 decoder layers at once, so one
# chain does not describe it.
#
# A gradient at initialisation is a hint, not a training run. So we train the copy task of
# chapter 7, N = 6 layers, 100 steps, without the paper's slow start of the learning rate,
# its **warm-up**. Only the order differs.

# %%
show(copy_run_without_warmup)
losses = {n: train_without_warmup(n) for n in ("pre", "post")}  # 100 losses each
last10 = {n: sum(loss[-10:]) / 10 for n, loss in losses.items()}  # one batch is noisy
for n, loss in losses.items():
    print(f"{n:>4}-norm: loss {loss[0]:.2f} at step 1, mean of the last 10 steps "
          f"{last10[n]:.2f}")
guess = torch.log(torch.tensor(10.0)).item()  # cross-entropy of a uniform guess
print(f"a blind guess among the 10 symbols: {guess:.2f}")
assert last10["pre"] < guess - 0.1 and last10["post"] > guess - 0.05

# %% [markdown]
# `train_without_warmup` runs this function on one CPU thread, nothing more.
#
# Without warm-up, pre-norm starts to learn: its loss ends below a blind guess. Post-norm
# stays at a blind guess. One seed, one learning rate, 100 steps and a small gap: read it
# as an example of a known effect, not a law. The paper trained its 6-layer post-norm
# model well, with the warm-up of chapter 7. Xiong et al., 2020, analyse why post-norm
# needs it; most later Transformers are pre-norm.

# %% [markdown]
# ## The feed-forward block: what attention does not do
#
# Attention moves information between positions, but each output is a weighted average of
# value vectors, with weights that are at least 0 and sum to 1. So each coordinate of an
# output stays within the range of the values: attention mixes what is there. The
# **position-wise feed-forward block** transforms each position's vector on its own: two
# linear maps with a ReLU between them, D = 512 expanded to d_ff = 2048 and back. At the
# article's size it is one line, `w_2(relu(w_1(x)))`; the package adds dropout.

# %%
show(PositionwiseFeedForward)
x = torch.randn(2, 5, D)  # (B, S, D)
hidden = ffn.w_1(x).relu()  # (B, S, d_ff)
print("input   ", tuple(x.shape), "(B, S, D)")
print("expand  ", tuple(hidden.shape), "(B, S, d_ff)")
print("compress", tuple(ffn.w_2(hidden).shape), "(B, S, D)")
torch.testing.assert_close(ffn(x)[:, 2:3], ffn(x[:, 2:3]))  # position 2 alone: same result
print("position 2 alone == position 2 in the sentence:", True)

# %% [markdown]
# Does a trained model need it? Switch off every feed-forward block of chapter 8's number
# translator, so each adds 0 to the stream, and translate again:

# %%
translator = pretrained.load("numbers")
texts = ["einundzwanzig", "dreihundertvierundfünfzig", "siebentausendzwölf"]
with_ffn = translator.translate(texts)
with without_feed_forward(translator.model):
    no_ffn = translator.translate(texts)
for text, a, b in zip(texts, with_ffn, no_ffn, strict=True):
    print(f"{text:<27} with FFN: {a:<30} without: {b}")
assert with_ffn != no_ffn and translator.translate(texts) == with_ffn  # restored after

# %% [markdown]
# The short number survives; the longer ones fall apart. The trained model relies on its
# feed-forward blocks, as on any part it learned to use. That does not prove attention
# alone could not do their job; exercise 3 makes one limit of attention exact.
#
# ## The encoder layer
#
# An encoder layer is self-attention, then the feed-forward block, each inside a sublayer
# connection. A decoder layer has three sublayers: masked self-attention over the target so
# far, **cross-attention**, and the feed-forward block. In cross-attention the queries come
# from the decoder, one per target position, and the keys and values from the encoder's
# memory, one per source word: here the translation looks at the source.

# %%
_ = FIGURES["06_layers_residual"].make()

# %% [markdown]
# *Every sublayer has its own residual path, so the stream enters and leaves each layer with
# the same shape, (B, S, D) or (B, T, D).*

# %%
show(EncoderLayer)

# %% [markdown]
# **Correction.** The article says the encoder turns the input into a sequence "usually of
# smaller dimension". It does not: a residual adds a sublayer's output to its input, which
# only works if both have the same width. Here is a model with the paper's sizes and a toy
# 11-word vocabulary, with the shape after each layer:

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
# The decoder layer in code, with its three sublayers in the order of the figure:

# %%
show(DecoderLayer)

# %% [markdown]
# With S = 10 source words and T = 4 target words, the cross-attention weights have one row
# per target position and one column per source word: (B, H, T, S).

# %%
# Keep each layer's weights in .attn: chapter 4's explicit softmax path.
keep_attention(model)
tgt = torch.tensor([[START, 3, 7, 5]]).to(device)  # (B, T): the target so far
tgt_mask = subsequent_mask(4).to(device)  # (1, T, T)
out = model.decode(memory, src_mask, tgt, tgt_mask)  # (B, T, D)
layer0 = model.decoder.layers[0]
print("decoder output         ", tuple(out.shape), "(B, T, D)")
print("self-attention weights ", tuple(layer0.self_attn.attn.shape), "(B, H, T, T)")
print("cross-attention weights", tuple(layer0.src_attn.attn.shape), "(B, H, T, S)")
assert layer0.src_attn.attn.shape == (1, 8, 4, 10)
print("weight on the source pad:", layer0.src_attn.attn[..., -1].abs().max().item())
_ = keep_attention(model, False)  # back to the fused path

# %% [markdown]
# The padding mask works: no query looks at `<pad>`, the last source position.
#
# ## N = 6: the stacks and `make_model`
#
# `Encoder` and `Decoder` are N deep copies of their layer, made by `clones`, applied in
# turn, then one last LayerNorm. Each copy has its own weights. `make_model` builds all of
# it from a handful of sizes and draws every weight matrix afresh with Xavier
# initialisation, as in chapter 1.

# %%
show(clones)
show(Decoder)
w1 = [layer.feed_forward.w_1.weight for layer in model.encoder.layers[:2]]
assert w1[0] is not w1[1] and not torch.equal(w1[0], w1[1])
print("layers 1 and 2 share their weights:", w1[0] is w1[1])
show(make_model)
show(model_from_config)

# %% [markdown]
# ## Counting the parameters
#
# The paper reports 65 million parameters for its base model and 213 million for the big
# one, with one shared vocabulary of about 37,000 subword tokens. Shared means one matrix
# serves the source lookup, the target lookup and the generator, `tie_embeddings=True`.
# The positional encoding is a fixed table, and the heads split the same D x D maps, so
# neither adds parameters.

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

# The big model: D = 1024, d_ff = 4096, 16 heads. On the `meta` device tensors have shapes
# and no memory, which is all a count needs.
big = parameter_table(V=37_000, D=1024, d_ff=4096, N=6)
with torch.device("meta"):
    big_model = make_model(37_000, 37_000, d_model=1024, d_ff=4096, h=16, tie_embeddings=True)
assert count_parameters(big_model) == sum(big.values()) == 214_286_472
print(f"big model: {count_parameters(big_model):,}")
shared_share = base["shared embedding V x D (src, tgt, generator)"] / sum(base.values())
print(f"the shared embedding is {shared_share:.0%} of the base model")

# %% [markdown]
# We count 63,121,544 against the paper's 65M, and 214,286,472 against its 213M: the same
# design, with a vocabulary the paper does not state exactly. Our table counts a pre-norm
# model; the paper's post-norm model has no final LayerNorms, 2 x 2 x 512 = 2,048 fewer
# parameters in the base model.

# %%
for name, table, D_, paper in (("base", base, 512, 65e6), ("big", big, 1024, 213e6)):
    V_needed = 37_000 + (paper - sum(table.values())) / (D_ + 1)  # D weights + 1 bias a word
    print(f"{name}: {paper / 1e6:.0f}M needs a vocabulary of about {V_needed:,.0f}")

# %% [markdown]
# <details><summary>Under the hood: which vocabulary would match the paper?</summary>
#
# Every extra word adds D weights to the shared matrix and 1 bias to the generator, so the
# cell above solves for the vocabulary that would make each count exact. The answers, about
# 40,700 and 35,700, disagree by more than rounding allows: the paper counted a slightly
# different model, and does not say which.
# </details>
#
# ## An untrained model writes, one word at a time
#
# Our toy model has never seen data. Let it write: run the decoder on the target so far,
# take the generator's output at the last position, append the most likely word, repeat.
# Chapter 7 calls this greedy decoding.

# %%
ys = torch.full((1, 1), START).to(device)  # (B, 1): the start symbol
with torch.no_grad():
    memory = model.encode(src, src_mask)  # (B, S, D), computed once
    for step in range(6):
        out = model.decode(memory, src_mask, ys, subsequent_mask(ys.size(1)).to(device))
        logp = model.generator(out[:, -1])  # (B, V): the next word after the last position
        next_word = logp.argmax(dim=-1, keepdim=True)  # (B, 1)
        ys = torch.cat([ys, next_word], dim=1)  # (B, t + 1)
        print(f"step {step + 1}: tgt {ys[0].tolist()}   its probability "
              f"{logp.exp().max().item():.2f}")
assert ys[0, 1:].tolist() != src[0, :6].tolist()  # not a copy of the source: untrained

# %% [markdown]
# The words have nothing to do with the source, yet their probabilities are well above the
# 1/11 = 0.09 of a blind guess: random weights can make a model confident.
#
# ## Widget: inside a trained model
#
# The explorer shows every attention weight of the trained number translator, 2 layers of
# 4 heads, as it translates "einundzwanzig" into "twenty-one". Flip **weights** to
# *untrained* for the same model with random weights.
#
# Each row is labelled with the word the model writes there; the layer buttons count from
# 0, so button 1 is the last layer. Pick cross-attention, layer button 1, "mean of the
# heads": the row "twenty" looks mostly at "zwanzig", the row "one" only at "ein".
# Untrained, nothing lines up.

# %% tags=["nbval-ignore-output"]
trained_heads_explorer(translator, "einundzwanzig", part="cross")

# %% [markdown]
# ## Recap
#
# - Encoder, decoder, generator; the output comes word by word.
# - Each sublayer sits in a residual connection with LayerNorm: post-norm in the paper,
#   pre-norm in the article's code. Without warm-up, only pre-norm started to learn here.
# - Attention mixes; the feed-forward block transforms each position, and the trained
#   translator relies on it.
# - Encoder layer: self-attention, FFN. Decoder layer: masked self-attention,
#   cross-attention, FFN. The width stays d_model. Base model: 63,121,544 parameters.
#
# ## Your turn
#
# **1. Predict: untie the embeddings.** First estimate, without code: what would untying
# cost the paper's base model, more or fewer than 10 million parameters? Then write
# `untied_parameters(src_vocab, tgt_vocab, d_model, d_ff, N)`: the parameters of a pre-norm
# `make_model(..., tie_embeddings=False)`, where the source lookup, the target lookup and
# the generator each have their own matrix. The two vocabularies may differ.

# %%
from annotated.exercises import (  # noqa: E402
    check_attention_bound,
    check_norm_prediction,
    check_untied_parameters,
)


def untied_parameters(src_vocab, tgt_vocab, d_model, d_ff, N):
    ...


check_untied_parameters(untied_parameters)

# %% [markdown]
# **2. Predict: the two orders at scale.** Feed an input of mean 0 and standard deviation
# 10 to the `pre` and `post` blocks above, with the same `ffn`. Predict the standard
# deviation of each output before you run; the cell after the grader measures.

# %%
prediction = {"pre": ..., "post": ...}
check_norm_prediction(prediction)

# %%
x10 = torch.randn(2, 5, D) * 10  # (B, S, D), mean 0, std 10
for name, block in (("pre", pre), ("post", post)):
    print(f"{name:>4}-norm output std: {block(x10, ffn).std().item():.2f}")

# %% [markdown]
# **3. Discover: attention only mixes.** `values` is a table (S, D) of value vectors, one
# row per position; an attention output averages these rows with weights that are at least
# 0 and sum to 1. Write `attention_bound(values)`, returning a tensor (D,): the largest
# value each coordinate of any attention output could take. Then ask yourself: if every
# value in a column is negative, can attention output a positive number there?

# %%
def attention_bound(values):
    ...


check_attention_bound(attention_bound)

# %% [markdown]
# ## Further reading
#
# - Vaswani et al., [Attention Is All You Need](https://arxiv.org/abs/1706.03762), 2017:
#   section 3.1 for the layers, table 3 for the sizes.
# - François Porcher, "The A-Z of Transformers", and its
#   [code](https://github.com/FrancoisPorcher/awesome-ai-tutorials): the pre-norm
#   `SublayerConnection` this chapter corrects.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/): the
#   code the article's model comes from.
# - J. Alammar, [The Illustrated Transformer](https://jalammar.github.io/illustrated-transformer/).
# - He et al., [Deep Residual Learning](https://arxiv.org/abs/1512.03385), 2015; Ba et
#   al., [Layer Normalization](https://arxiv.org/abs/1607.06450), 2016.
# - Xiong et al., [On Layer Normalization in the Transformer
#   Architecture](https://arxiv.org/abs/2002.04745), 2020: why post-norm needs warm-up.
# - Dong et al., [Attention is Not All You Need](https://arxiv.org/abs/2103.03404), 2021:
#   stacked attention alone collapses.
# - Geva et al., [Feed-Forward Layers Are Key-Value Memories](https://arxiv.org/abs/2012.14913),
#   2021; Shazeer, [GLU Variants](https://arxiv.org/abs/2002.05202), 2020, the gated block
#   of chapter 10.

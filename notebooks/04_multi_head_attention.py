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
# Here we run eight of them side by side. By the end of this chapter you will be able to:
#
# - say why one head is not enough, with a measurement;
# - follow every tensor shape inside `MultiHeadedAttention`, from (B, S, D) to (B, H, S, d_k),
#   to the (B, H, S, S) weights and back to (B, S, D);
# - check our module against PyTorch's own `nn.MultiheadAttention`, weight for weight;
# - read one attention heatmap per head, and pick heads in a widget.
#
# Letters used for shapes: B batch, S sequence length, D = d_model, H heads, d_k = D / H.

# %%
import math

import torch
from torch import nn

import annotated
from annotated import MultiHeadedAttention, count_parameters, show
from annotated.widgets import draw_heads, head_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## The single-head limit
#
# One head gives each word one set of weights over the other words, and softmax makes that
# set lopsided: exp() turns a small lead in score into a large lead in weight. How lopsided?
# Take random scores for 5 keys and spread them more and more, as a model does once it has
# learned to prefer some words. We count how much weight the top key gets, and how many keys
# get more than 0.1.

# %%
for spread in (0.5, 1.0, 2.0, 4.0):
    weights = (torch.randn(10_000, 5) * spread).softmax(dim=-1)  # 10,000 queries x 5 keys
    top = weights.max(dim=-1).values.mean().item()
    above = (weights > 0.1).sum(dim=-1).float().mean().item()
    print(f"scores spread {spread}: top key gets {top:.2f} of the weight, "
          f"keys above 0.1: {above:.1f} of 5")

# %% [markdown]
# With scores spread by 4, the top key takes about 0.8 of the weight and fewer than two keys
# get more than 0.1: **softmax tends to pick one token**. But a word usually relates to
# several. In "She gave him her book", *gave* needs *She* (who gives) and *book* (what is
# given). Give those two words tiny 2-number values, one slot for "who", one for "what", and
# see what a single head can hand to *gave*:

# %%
v_she, v_book = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])  # values: [who, what]

sharp = 0.9 * v_she + 0.1 * v_book  # one head that picked "She"
even = 0.5 * v_she + 0.5 * v_book   # one head that split its weight
two_heads = torch.cat([1.0 * v_she, 1.0 * v_book])  # head 1 looks at She, head 2 at book
print("one head, sharp:", sharp)
print("one head, even: ", even)
print("two heads:      ", two_heads)
assert even.max() == 0.5 and two_heads.tolist() == [1.0, 0.0, 0.0, 1.0]

# %% [markdown]
# One head must choose: keep *She* and lose most of *book*, or keep half of each. Two heads
# each pick one word at full strength, and putting their outputs side by side keeps both.
# That is multi-head attention: several attentions in parallel, each free to ask its own
# question, their answers concatenated.

# %% [markdown]
# ## h heads, each of size d_k = d_model / h
#
# The paper uses h = 8 heads with d_model = 512, so each head works in d_k = 512 / 8 = 64
# dimensions. The heads do not add parameters: W_q, W_k and W_v are still 512 x 512 maps,
# each head simply reads its own 64 columns of the result. A fourth map, W_o, mixes the
# concatenated heads back together.

# %%
B, S, D, H = 2, 5, 512, 8
mha = MultiHeadedAttention(h=H, d_model=D, dropout=0.0, backend="naive")
print("d_k =", mha.d_k, "  heads x d_k =", mha.h * mha.d_k)
print("linear maps:", len(mha.linears), "each", tuple(mha.linears[0].weight.shape))
print("parameters:", count_parameters(mha), "= 4 x (512 x 512 + 512)")
assert count_parameters(mha) == 4 * (D * D + D)

# %% [markdown]
# One detail of the article's code: `linears` is made by `clones`, which deep-copies *one*
# `nn.Linear` four times, so W_q, W_k, W_v and W_o start out equal. In a full model
# `make_model` re-draws every weight (chapter 6); used alone, we re-draw them here the same
# way, or every query would start out most similar to its own key.

# %%
print("W_q == W_k at construction:", torch.equal(mha.linears[0].weight, mha.linears[1].weight))
for lin in mha.linears:
    nn.init.xavier_uniform_(lin.weight)  # what make_model does to every weight matrix
print("W_q == W_k after re-drawing:", torch.equal(mha.linears[0].weight, mha.linears[1].weight))
mha = mha.to(device).eval()

# %% [markdown]
# ## The shapes, step by step
#
# We follow a batch of B = 2 sentences of S = 5 words through the module by hand. The trick
# that makes eight heads cost one matrix product: project once to (B, S, D), then *view* the
# D numbers of each word as H slices of d_k, and move the head axis forward so that each head
# sees a plain (S, d_k) matrix.

# %%
x = torch.randn(B, S, D).to(device)  # (B, S, D): five word vectors per sentence
print("x                 ", tuple(x.shape), "(B, S, D)")

q = mha.linears[0](x)
print("W_q x             ", tuple(q.shape), "(B, S, D)")
q = q.view(B, S, H, mha.d_k)
print(".view             ", tuple(q.shape), "(B, S, H, d_k)")
q = q.transpose(1, 2)
print(".transpose(1, 2)  ", tuple(q.shape), "(B, H, S, d_k)")
k, v = [lin(x).view(B, S, H, mha.d_k).transpose(1, 2) for lin in mha.linears[1:3]]

scores = q @ k.transpose(-2, -1) / math.sqrt(mha.d_k)
print("scores Q K^T/√d_k ", tuple(scores.shape), "(B, H, S, S): one S x S table per head")
weights = scores.softmax(dim=-1)
heads = weights @ v
print("weights @ V       ", tuple(heads.shape), "(B, H, S, d_k)")
concat = heads.transpose(1, 2).reshape(B, S, D)
print("concatenate heads ", tuple(concat.shape), "(B, S, D)")
out = mha.linears[3](concat)
print("W_o               ", tuple(out.shape), "(B, S, D)")

# %% [markdown]
# The module does exactly these steps (plus an optional mask, chapter 5). Same input, same
# output:

# %%
torch.testing.assert_close(out, mha(x, x, x), atol=1e-5, rtol=1e-5)
torch.testing.assert_close(weights, mha.attn)  # the module keeps the weights in .attn
print("by hand == MultiHeadedAttention:", True)

# %% [markdown]
# ## `MultiHeadedAttention`: the code
#
# Here is the package's real source. `linears` is [W_q, W_k, W_v, W_o]. The
# `backend` switch picks between computing the softmax ourselves ("naive", which keeps the
# weights in `.attn` for pictures) and PyTorch's fused `scaled_dot_product_attention`
# ("sdpa", faster, same numbers). The `cache` argument serves decoding one word at a time
# (chapter 8); without it, as here, the layer computes every key and value from its inputs.

# %%
show(MultiHeadedAttention)

# %% [markdown]
# ## Equal to PyTorch's `nn.MultiheadAttention`
#
# PyTorch ships the same layer. It stores W_q, W_k and W_v stacked in one (3D, D) matrix
# `in_proj_weight`, and W_o as `out_proj`. Copy our weights in and the two must agree on
# both the output and the per-head weights.

# %%
ref = nn.MultiheadAttention(D, H, dropout=0.0, batch_first=True).to(device).eval()
with torch.no_grad():
    ref.in_proj_weight.copy_(torch.cat([lin.weight for lin in mha.linears[:3]]))  # (3D, D)
    ref.in_proj_bias.copy_(torch.cat([lin.bias for lin in mha.linears[:3]]))  # (3D,)
    ref.out_proj.weight.copy_(mha.linears[3].weight)  # (D, D)
    ref.out_proj.bias.copy_(mha.linears[3].bias)  # (D,)

ours = mha(x, x, x)  # (B, S, D)
theirs, their_weights = ref(x, x, x, need_weights=True, average_attn_weights=False)
print("outputs  ", tuple(ours.shape), tuple(theirs.shape))
print("weights  ", tuple(mha.attn.shape), tuple(their_weights.shape))
torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
torch.testing.assert_close(mha.attn, their_weights, atol=1e-5, rtol=1e-5)
print("largest difference below 1e-5:", (ours - theirs).abs().max().item() < 1e-5)

# %% [markdown]
# ## One heatmap per head
#
# Now the sentence from the start, "She gave him her book". The model is untrained, so we
# stand in random vectors for the five words; what matters is how differently the eight heads
# spread their weight over the same words.

# %%
tokens = ["She", "gave", "him", "her", "book"]
words = torch.randn(1, len(tokens), D).to(device)  # (1, S, D)
_ = mha(words, words, words)
head_weights = mha.attn[0]  # (H, S, S): batch element 0
print("weights per head:", tuple(head_weights.shape), "(H, S, S)")
_ = draw_heads(head_weights, tokens, numbers=True)

# %% [markdown]
# *Each panel is one head: a row is a query word, a column a key word, and each row sums to 1.
# Look along the row for* gave *: the heads put their largest weight on different words.*
#
# How many different words does each word reach through its eight heads? Count each head's
# favourite key:

# %%
for i, word in enumerate(tokens):
    favourites = [tokens[j] for j in head_weights[:, i].argmax(dim=-1).tolist()]
    print(f"{word:>5}: favourite per head {favourites} -> {len(set(favourites))} different words")
distinct = [len(set(head_weights[:, i].argmax(dim=-1).tolist())) for i in range(len(tokens))]
assert min(distinct) > 1  # one head could only ever give one favourite

# %% [markdown]
# Even before training, each word's eight heads favour several different words, where one
# head would give exactly one. Training then makes each head's choice mean something.
#
# ## Widget: pick a head
#
# Choose "all heads" or one head to see its weights with the numbers. Given a whole model's
# stack of weights, shape (L, H, S, S), the same widget adds a layer slider: chapter 6 uses it
# that way.

# %% tags=["nbval-ignore-output"]
head_explorer(head_weights, tokens)

# %% [markdown]
# ## Recap
#
# - One head gives each word one softmax-weighted average, and softmax tends to pick one
#   word; several heads let a word gather from several words at full strength.
# - h = 8 heads of d_k = d_model / h = 64: the same parameters as one 512-wide head, four
#   linear maps W_q, W_k, W_v, W_o.
# - Shapes: (B, S, D) -> view (B, S, H, d_k) -> transpose (B, H, S, d_k) -> scores
#   (B, H, S, S) -> (B, H, S, d_k) -> transpose and reshape (B, S, D) -> W_o.
# - Our `MultiHeadedAttention` equals `nn.MultiheadAttention` with the same weights.
#
# Next, chapter 5: sentences of different lengths in one batch, and masks that hide padding
# and the future.
#
# ## Your turn
#
# **1.** Write `split_heads(x, h)`: (B, S, D) -> (B, H, S, d_k). Replace the `...`.

# %%
from annotated.exercises import check_merge_heads, check_split_heads  # noqa: E402


def split_heads(x, h):
    ...


check_split_heads(split_heads)

# %% [markdown]
# **2.** Write `merge_heads(x)`, the way back: (B, H, S, d_k) -> (B, S, H * d_k).

# %%
def merge_heads(x):
    ...


check_merge_heads(merge_heads)

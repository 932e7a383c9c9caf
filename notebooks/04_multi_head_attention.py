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
from annotated import AttentionMaps, MultiHeadedAttention, count_parameters, show
from annotated.viz.draw import draw_attention
from annotated.viz.widgets import head_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## The single-head limit
#
# One head gives each word one set of weights over the other words, and softmax makes that
# set lopsided: exp() turns a small lead in score into a large lead in weight. How lopsided?
# Take random scores for 5 keys with a growing **spread** (the standard deviation of the
# scores). Spread 1 is an untrained model's: chapter 3 divided by sqrt(d_k) to get exactly
# that. Trained models often spread their scores wider, once they prefer some words
# (chapter 8 shows trained heads that put most of their weight on one word). We count how
# much weight the top key gets, and how many keys get more than 0.1.

# %%
for spread in (0.5, 1.0, 2.0, 4.0):
    weights = (torch.randn(10_000, 5) * spread).softmax(dim=-1)  # 10,000 queries x 5 keys
    top = weights.max(dim=-1).values.mean().item()
    above = (weights > 0.1).sum(dim=-1).float().mean().item()
    print(f"scores spread {spread}: top key gets {top:.2f} of the weight, "
          f"keys above 0.1: {above:.1f} of 5")
assert top > 0.75 and above < 2  # the last line, spread 4

# %% [markdown]
# With scores spread by 4, the top key takes about 0.8 of the weight and fewer than two keys
# get more than 0.1: **softmax tends to pick one token**. But a word usually relates to
# several. In "She gave him her book", *gave* needs *She* (who gives) and *book* (what is
# given). Give those two words tiny values of D = 2 numbers, one slot for "who", one for
# "what", and compare what *gave* receives from one head of width 2 and from two heads of
# width 1 each (the same total width D, as in the real model): head 1's value map reads the
# "who" slot, head 2's the "what" slot.

# %%
v_she, v_book = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])  # values: [who, what]

sharp = 0.9 * v_she + 0.1 * v_book  # one head that picked "She"
even = 0.5 * v_she + 0.5 * v_book   # one head that split its weight
head_1 = 1.0 * v_she[:1]  # head 1 attends to She only, its value map keeps "who": (1,)
head_2 = 1.0 * v_book[1:]  # head 2 attends to book only, its value map keeps "what": (1,)
two_heads = torch.cat([head_1, head_2])  # concatenated: (2,), the same width as one head
print("one head, sharp:", sharp)
print("one head, even: ", even)
print("two heads:      ", two_heads)
assert even.max() == 0.5 and two_heads.tolist() == [1.0, 1.0]

# %% [markdown]
# One head must choose with one set of weights: keep *She* and lose most of *book*, or keep
# half of each, and how much of each arrives depends on a softmax that also has to serve
# every other purpose of that head. Two heads each put their full weight on their own word
# and fill their own slice of the output: *She* as the giver, *book* as the thing given,
# both at full strength, in the same D numbers. The paper says it in one line: "With a
# single attention head, averaging inhibits this", this being attending to different kinds
# of information at different positions.
# That is multi-head attention: several attentions in parallel, each free to ask its own
# question, their answers concatenated.

# %% [markdown]
# ## h heads, each of size d_k = d_model / h
#
# The paper uses h = 8 heads with d_model = 512, so each head works in d_k = 512 / 8 = 64
# dimensions: exactly the (64, 512) head of chapter 3, eight times. In the paper's notation,
#
# $$\text{MultiHead}(Q, K, V) = \text{Concat}(\text{head}_1, \dots, \text{head}_h)\,W^O,
# \qquad \text{head}_i = \text{Attention}(Q W_i^Q, K W_i^K, V W_i^V)$$
#
# with each W_i^Q, W_i^K, W_i^V of size 512 x 64 (d_v = d_k = 64 for the values too) and W^O
# of size 512 x 512. The code stacks the eight W_i^Q into one 512 x 512 map W_q: head i uses
# rows 64 i to 64 i + 63 of `W_q.weight`, so one matrix product computes all eight heads'
# queries. The heads therefore add no parameters. The fourth map, W_o, mixes the concatenated
# heads back together: without it, each output number would come from one head only.

# %%
B, S, D, H = 2, 5, 512, 8
mha = MultiHeadedAttention(h=H, d_model=D, dropout=0.0, backend="naive")
print("d_k =", mha.d_k, "  heads x d_k =", mha.h * mha.d_k)
print("linear maps:", len(mha.linears), "each", tuple(mha.linears[0].weight.shape))
print("parameters:", count_parameters(mha), "= 4 x (512 x 512 + 512)")
assert count_parameters(mha) == 4 * (D * D + D)
print("with one head instead of 8:", count_parameters(MultiHeadedAttention(h=1, d_model=D)))
assert count_parameters(MultiHeadedAttention(h=1, d_model=D)) == count_parameters(mha)

# %% [markdown]
# One detail of the article's code: `linears` is made by `clones`, which deep-copies *one*
# `nn.Linear` four times, so W_q, W_k, W_v and W_o start out equal. In a full model
# `make_model` re-draws every weight (chapter 6); used alone, we re-draw them here the same
# way, or every query would start out most similar to its own key: with W_q = W_k, the score
# of a word against itself is |W x|^2, which is usually the largest in its row. We count the
# (head, query) rows whose largest weight is on the word itself, before and after.


# %%
def self_favourite(m: MultiHeadedAttention) -> float:
    """The fraction of (head, query) rows whose largest weight is on the query's own word."""
    x = torch.randn(1, 20, D, generator=torch.Generator().manual_seed(1))  # 20 random words
    with torch.no_grad():
        m(x, x, x)
    return (m.attn[0].argmax(dim=-1) == torch.arange(20)).float().mean().item()


print("W_q == W_k at construction:", torch.equal(mha.linears[0].weight, mha.linears[1].weight),
      f"| rows that favour their own word: {self_favourite(mha):.0%}")
for lin in mha.linears:
    nn.init.xavier_uniform_(lin.weight)  # what make_model does to every weight matrix
print("W_q == W_k after re-drawing:", torch.equal(mha.linears[0].weight, mha.linears[1].weight),
      f"| rows that favour their own word: {self_favourite(mha):.0%}")
mha = mha.to(device).eval()

# %% [markdown]
# (Only the weight matrices are re-drawn; the four biases stay equal, as in `make_model`,
# which re-draws every tensor with more than one axis. Equal small biases do no harm.)

# %% [markdown]
# ## The shapes, step by step
#
# We follow a batch of B = 2 sentences of S = 5 words through the module by hand. The trick
# that makes eight heads cost one matrix product: project once to (B, S, D), then *view* the
# D numbers of each word as H slices of d_k, and move the head axis forward so that each head
# sees a plain (S, d_k) matrix. `@` on 4-axis tensors does one ordinary matrix product for
# each (batch, head) pair: that is how eight heads run at once.

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
W = mha.linears[0]  # head 3's queries come from rows 192..255 of W_q: its own 512 -> 64 map
torch.testing.assert_close(q[:, 3], x @ W.weight[192:256].T + W.bias[192:256])

print("K^T               ", tuple(k.transpose(-2, -1).shape), "(B, H, d_k, S)")
scores = q @ k.transpose(-2, -1) / math.sqrt(mha.d_k)
print("scores Q K^T/√d_k ", tuple(scores.shape), "(B, H, S, S): one S x S table per head")
weights = scores.softmax(dim=-1)
heads = weights @ v
print("weights @ V       ", tuple(heads.shape), "(B, H, S, d_k)")
print(".transpose(1, 2)  ", tuple(heads.transpose(1, 2).shape), "(B, S, H, d_k)")
concat = heads.transpose(1, 2).reshape(B, S, D)
print("concatenate heads ", tuple(concat.shape), "(B, S, D)")
# the reshape IS the concatenation: head 0's d_k numbers, then head 1's, ...
assert torch.equal(concat, torch.cat([heads[:, i] for i in range(H)], dim=-1))
out = mha.linears[3](concat)
print("W_o               ", tuple(out.shape), "(B, S, D)")

# %% [markdown]
# Two questions a careful reader asks here. Why not view (B, S, D) straight as
# (B, H, S, d_k)? Because `view` only re-reads the numbers in their memory order, word after
# word: cut that way, each "head" would get S x d_k = 320 consecutive numbers, a run from
# one or two words, not a slice of every word. And why
# `reshape` on the way back? After `transpose`, the numbers are no longer in memory order
# for the new shape, and `view` refuses; `reshape` copies when it must (the module writes
# `.contiguous().view(...)`, which does the same).

# %%
straight = mha.linears[0](x).view(B, H, S, mha.d_k)
print("viewed straight to (B, H, S, d_k) equals the real split:", torch.equal(straight, q))
try:
    heads.transpose(1, 2).view(B, S, D)
except RuntimeError as e:
    print("view after transpose:", str(e).split(".")[0])

# %% [markdown]
# The module does exactly these steps (plus an optional mask, chapter 5). `mha(x, x, x)`
# passes x three times because this is self-attention: queries, keys and values all come
# from the same sentence, and the module applies W_q, W_k and W_v itself. Same input, same
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
# ("sdpa", faster, same numbers up to rounding: checked below). The default, "auto", runs
# sdpa unless `keep_attn` is set (chapter 6's `keep_attention(model)` sets it). `view(B, -1,
# ...)` lets PyTorch work out the length, because in cross-attention (chapter 6) the queries
# (Tq of them) and the keys (Tk) come from sentences of different lengths. The `cache`
# argument serves decoding one word at a time (chapter 8); without it, as here, the layer
# computes every key and value from its inputs.

# %%
show(MultiHeadedAttention)
mha.backend = "sdpa"
fused = mha(x, x, x)
print("sdpa vs naive, largest difference:", f"{(fused - out).abs().max().item():.1e}",
      "| weights kept:", mha.attn is not None)
torch.testing.assert_close(fused, out, atol=1e-5, rtol=1e-5)
mha.backend = "naive"

# %% [markdown]
# ## Equal to PyTorch's `nn.MultiheadAttention`
#
# PyTorch ships the same layer. It stores W_q, W_k and W_v stacked in one (3D, D) matrix
# `in_proj_weight`, and W_o as `out_proj`. Copy our weights in and the two must agree on
# both the output and the per-head weights. Two settings make it speak our shapes:
# `batch_first=True` (its default order is (S, B, D)), and `average_attn_weights=False`
# (by default it returns the heads' average, (B, S, S), instead of every head's weights).

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
print(f"largest difference: {(ours - theirs).abs().max().item():.1e}")

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
_ = draw_attention(AttentionMaps.of_heads(head_weights, tokens), "self", numbers=True)

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
# head would give exactly one. This variety is accidental here, the work of random weights;
# training makes each head's choice mean something (chapter 8 shows trained heads).
#
# ## Widget: pick a head
#
# Choose "all heads" or one head to see its weights with the numbers. Given a whole model's
# stack of weights, shape (L, H, S, S), the same widget adds layer buttons: chapter 6 uses it
# that way.

# %% tags=["nbval-ignore-output"]
head_explorer(head_weights, tokens)

# %% [markdown]
# ## Recap
#
# - One head gives each word one softmax-weighted average, and softmax tends to pick one
#   word; several heads let a word gather from several words at full strength.
# - h = 8 heads of d_k = d_model / h = 64: eight of chapter 3's 512 -> 64 maps stacked into
#   each of W_q, W_k, W_v, plus W_o to mix the heads; the same parameters as one 512-wide
#   head.
# - Shapes: (B, S, D) -> view (B, S, H, d_k) -> transpose (B, H, S, d_k) -> scores
#   (B, H, S, S) -> (B, H, S, d_k) -> transpose and reshape (B, S, D) -> W_o.
# - Our `MultiHeadedAttention` equals `nn.MultiheadAttention` with the same weights.
#
# Next, chapter 5: sentences of different lengths in one batch, and masks that hide padding
# and the future.
#
# ## Your turn
#
# **1.** Write `split_heads(x, h)`: (B, S, D) -> (B, H, S, d_k), where h is the number of
# heads and d_k = D // h. Replace the `...`.

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

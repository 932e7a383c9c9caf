# %% [markdown]
# # Chapter 3: Attention, one head
#
# Attention is how the words of a sentence look at each other. It is the core of the Transformer
# and this chapter builds it one step at a time. By the end you will be able to:
#
# - explain queries, keys and values, and where they come from;
# - reproduce the article's worked example by hand: scores 3/2 and 1/8, then weights, then the
#   output;
# - show with measurements why the scores are divided by sqrt(d_k);
# - use the course's `attention(query, key, value, mask, dropout)` and read its weights as a
#   heatmap.
#
# Shape letters: B batch, S sequence length, D d_model; d_k is the length of a query or key.
# Some printed tensors go through `round(...) + 0.0`: the `+ 0.0` turns a printed -0. into 0.

# %%
import math

import torch
from torch import nn

import annotated
from annotated import Embeddings, PositionalEncoding, attention, show
from annotated.examples import FEATURES, SHE, WordVocab, she_gave_him_her_book
from annotated.viz.figures import FIGURES
from annotated.viz.measure import dot_product_stats
from annotated.viz.primitives import heatmap

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## 1. The intuition: a spotlight
#
# Picture each word holding a spotlight. When the model works on one word, it shines the light
# over the whole sentence: the words that matter for this one are lit brightly, the others stay
# dim. The brightness is a number between 0 and 1 for each word, and all of them add up to 1.
# The word's new vector is then a mix of what the lit words have to offer, in proportion to
# their brightness.
#
# Three roles make this work. For each word the model computes:
#
# - a **query** (Q): the question the word asks ("who owns something here?");
# - a **key** (K): the label each word offers, against which questions are matched;
# - a **value** (V): the content a word hands over when it is lit.
#
# The brightness of word j for word i is how well i's query matches j's key.
#
# ## 2. The article's example: "She gave him her book"
#
# Focus on "she". The article argues that attention should find:
#
# - a strong link to "book": "her book" says that she owns it;
# - a moderate link to "her": both name the same person;
# - weak links to "gave" and "him".
#
# A trained model learns its own queries and keys. To see the mechanism first, we write them
# down by hand, with features that mean something: keys say what a word **is**, queries what a
# word **looks for**. Each vector has one entry per feature, so here d_k = 4. The values, what
# each word hands over, are simply its own features (the same numbers as its key), so an
# output will tell which features a word gathered. (The article links "her" to "she" because
# both name the same person; our four features cannot say "same person", so these vectors are
# chosen to reproduce the article's reading through "female" and "possession".)

# %%
tokens, q_hand, k_hand, v_hand = she_gave_him_her_book()
print("sentence:", SHE, "->", tokens)
print("features:", FEATURES)
for name, t in [("keys (what each word is)", k_hand), ("queries (what each looks for)", q_hand),
                ("values (what each hands over)", v_hand)]:
    print(name)
    for token, row in zip(tokens, t, strict=True):
        print(f"  {token:>5}: {row.tolist()}")

# %% [markdown]
# "she" looks for "female" (weight 2) and "possession" (weight 3). Its match with each word is
# the **dot product** of its query with that word's key: multiply the entries pairwise and add.
# For "book": 0·0 + 2·0 + 3·2 + 0·0 = 6. We divide it by sqrt(d_k) = sqrt(4) = 2 (section 4
# says why), so the score is 3. Then **softmax** turns the five scores s_1 ... s_5 into
# weights that are positive and add up to 1:
#
# $$\text{softmax}(s)_j = \frac{e^{s_j}}{e^{s_1} + e^{s_2} + \dots + e^{s_5}}$$
#
# `q_hand[0]` is the query of "she", shape (4,); `k_hand.T` holds the five keys as columns,
# shape (4, 5); their product is the five dot products at once, shape (5,):

# %%
print("q_hand", tuple(q_hand.shape), "k_hand", tuple(k_hand.shape), "(S, d_k)")
scores = q_hand[0] @ k_hand.T / math.sqrt(4)  # (4,) @ (4, S) -> (S,): "she" against each key
weights = scores.softmax(dim=-1)  # (S,)
for token, s, w in zip(tokens, scores.tolist(), weights.tolist(), strict=True):
    print(f"she -> {token:>5}: score {s:4.2f}  weight {w:.4f}")
by_hand = math.exp(3) / sum(math.exp(x) for x in scores.tolist())  # the formula above
print(f"softmax by hand for 'book': e^3 / (sum of the five e^s) = {by_hand:.4f}")
assert math.isclose(by_hand, weights[4].item(), rel_tol=1e-5)
assert weights.argmax() == tokens.index("book") and math.isclose(weights.sum().item(), 1.0, rel_tol=1e-6)

# %% [markdown]
# "book" gets 0.54, "her" 0.33, "gave" and "him" 0.03 each: the article's reading, in numbers.
# Every word asks its own question, so every word gets its own row of weights:

# %%
_ = FIGURES["03_attention_she"].make()

# %% [markdown]
# *Row = the word asking, column = the word looked at; each row sums to 1. The "she" row lights
# up "book" (0.54) and "her" (0.33). "him" looks for an action and finds "gave" (0.40); "her" and
# "book" look for a female person and find "she" (0.41) and "her" (0.38).*
#
# ## 3. Q, K and V come from three learned linear maps
#
# In a real model nobody writes the features. Each word's vector x (embedding plus position,
# chapters 1 and 2) goes through three learned linear maps, W_q, W_k and W_v, one per role.
# They start random and are trained with the rest of the model. The paper runs h = 8 such
# attentions side by side, called **heads** (chapter 4), each with d_k = d_model / h =
# 512 / 8 = 64; here we build one. An `nn.Linear(512, 64)` acts on the last axis only, so the
# batch and sequence axes pass through: (B, S, 512) -> (B, S, 64). PyTorch stores its weight
# as (out, in) = (64, 512).

# %%
vocab = WordVocab()
d_model, d_k = 512, 64
embed = Embeddings(d_model, len(vocab))
nn.init.xavier_uniform_(embed.lut.weight)  # make_model's initialisation (chapter 1)
embed = embed.to(device)  # initialised first, on the CPU: the same numbers on every device
position = PositionalEncoding(d_model, dropout=0.0).to(device)
w_q, w_k, w_v = (nn.Linear(d_model, d_k).to(device) for _ in range(3))
print("W_q's weight (out, in) =", tuple(w_q.weight.shape))

ids = vocab.encode(SHE).to(device)  # (B, S) = (1, 5)
with torch.no_grad():
    x = position(embed(ids))  # (B, S, D)
    Q, K, V = w_q(x), w_k(x), w_v(x)  # each (B, S, d_k): one query, key, value per word
print("ids (B, S) =", tuple(ids.shape), "-> x (B, S, D) =", tuple(x.shape))
print("Q, K, V (B, S, d_k) =", tuple(Q.shape), tuple(K.shape), tuple(V.shape))
assert not torch.allclose(Q, K) and not torch.allclose(K, V)  # same x, three different views

# %% [markdown]
# The same vectors x feed all three maps: this is **self**-attention (the sentence attends to
# itself). In the decoder (chapter 6) the queries come from one sentence and the keys and values
# from another.
#
# ## 4. Scores, and why they are divided by sqrt(d_k)
#
# The score of query q against key k is their dot product q·k = q_1 k_1 + ... + q_dk k_dk: large
# when the two point the same way. The paper divides it by sqrt(d_k). The article says it divides
# by "the standard deviation of this random variable", which is exactly right; here is why it
# matters.
#
# If the entries of q and k are independent with mean 0 and variance 1, each product q_i k_i has
# variance 1, and the sum of d_k of them has variance d_k. So the scores spread wider as d_k
# grows, and sqrt(d_k) is their standard deviation: the article's reading is exact under this
# assumption (section 6 checks that real, randomly initialised linear maps come close to
# it). Measured on 2000 random queries, each against 10 keys (20,000 scores per d_k); with
# 10 equal weights the largest would be 0.10:

# %%
d_ks = [1, 4, 16, 64, 256, 1024]
stats = dot_product_stats(d_ks)
print(" d_k | var(q·k) | var(q·k / sqrt(d_k)) | largest weight of 10: raw  scaled")
for i, d in enumerate(d_ks):
    print(f"{d:4} | {stats['var(q·k)'][i]:8.1f} | {stats['var(q·k / sqrt(d_k))'][i]:20.2f} |"
          f"                    {stats['max weight, q·k'][i]:.2f}   "
          f"{stats['max weight, q·k / sqrt(d_k)'][i]:.2f}")

# %% [markdown]
# Without the division, wide scores push softmax to the extreme: one key takes almost all the
# weight (0.97 on average at d_k = 1024, among 10 keys). Dividing by sqrt(d_k) brings the
# variance back to 1 for every d_k, and the largest weight stays near 0.3.

# %%
_ = FIGURES["03_softmax_saturation"].make()

# %% [markdown]
# *Left: the variance of q·k grows in step with d_k (a straight line on these log axes); divided
# by sqrt(d_k) it stays at 1. Right: unscaled, the mean largest softmax weight climbs towards 1;
# scaled, it stays flat near 0.3.*
#
# Why is a saturated softmax bad? Its gradient vanishes: when one weight is 1 and the rest 0,
# nudging a score changes nothing, so the model cannot learn which key to prefer. The gradient
# of softmax is a matrix (its Jacobian), diag(p) - p pᵀ: entry (i, j) says how much weight i
# moves when score j is nudged. We report its overall size (the Frobenius norm: the square
# root of the sum of its squared entries), on random scores of 1000 queries against 10 keys,
# at the paper's d_k = 64 and at 512:

# %%
gen = torch.Generator().manual_seed(0)
for dk in (64, 512):
    q = torch.randn(1000, 1, dk, generator=gen)  # (1000, 1, d_k)
    k = torch.randn(1000, 10, dk, generator=gen)  # (1000, 10, d_k)
    raw = (q @ k.transpose(-2, -1)).squeeze(1)  # (1000, 10) scores
    size = {}
    for name, s in [("raw q·k", raw), ("q·k / sqrt(d_k)", raw / math.sqrt(dk))]:
        p = s.softmax(dim=-1)  # (1000, 10)
        jacobian = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)  # (1000, 10, 10)
        size[name] = jacobian.norm(dim=(-2, -1)).mean().item()
    print(f"d_k = {dk:3}: mean size of the softmax gradient, raw {size['raw q·k']:.3f}, scaled "
          f"{size['q·k / sqrt(d_k)']:.3f}: {size['q·k / sqrt(d_k)'] / size['raw q·k']:.1f}x")

# %% [markdown]
# The scaled scores leave softmax about 2 times more gradient to learn from at d_k = 64, and
# about 6 times more at 512: the larger d_k, the more the scaling matters.
#
# ## 5. The article's worked example, step by step
#
# The article takes one query q1 and two keys k1, k2 and finds the scores 3/2 and 1/8. Its
# vectors are in pictures the text does not carry, so we choose vectors (d_k = 4) that give
# exactly its scores:

# %%
q1 = torch.tensor([1.0, 1.0, 1.0, 0.0])
k1 = torch.tensor([1.0, 1.0, 1.0, 1.0])
k2 = torch.tensor([0.0, 0.0, 0.25, 1.0])
v1 = torch.tensor([1.0, 0.0, 2.0, 0.0])
v2 = torch.tensor([0.0, 3.0, 0.0, 1.0])
s1 = (q1 @ k1).item() / math.sqrt(4)  # 3 / 2
s2 = (q1 @ k2).item() / math.sqrt(4)  # 0.25 / 2
print(f"q1·k1 / sqrt(4) = {q1 @ k1:.0f} / 2 = {s1}   (3/2)")
print(f"q1·k2 / sqrt(4) = {q1 @ k2:.2f} / 2 = {s2}  (1/8)")
assert (s1, s2) == (3 / 2, 1 / 8)

# %% [markdown]
# 3/2 and 1/8 may look close. Softmax exponentiates: the weights are e^(3/2) and e^(1/8),
# divided by their sum. A gap of 1.375 in score becomes a factor e^1.375 ≈ 3.96 in weight:

# %%
a1 = math.exp(s1) / (math.exp(s1) + math.exp(s2))
a2 = math.exp(s2) / (math.exp(s1) + math.exp(s2))
print(f"weights: a1 = e^1.5 / (e^1.5 + e^0.125) = {a1:.4f},  a2 = {a2:.4f}")
print(f"ratio a1 / a2 = e^(1.5 - 0.125) = {a1 / a2:.4f}")
assert math.isclose(a1 + a2, 1.0) and math.isclose(a1 / a2, math.exp(1.375))

# %% [markdown]
# q1 attends about four times more to k1 than to k2. The output for q1 is the mix of the values
# with these weights:

# %%
output = a1 * v1 + a2 * v2
print("output = a1 * v1 + a2 * v2 =", output.round(decimals=4) + 0.0)
out, w = attention(q1.view(1, 4), torch.stack([k1, k2]), torch.stack([v1, v2]))
print("attention() gives           ", out[0].round(decimals=4) + 0.0, "with weights",
      w[0].round(decimals=4) + 0.0)
assert torch.allclose(out[0], output) and torch.allclose(w[0], torch.tensor([a1, a2]))

# %% [markdown]
# ## 6. All queries at once: the `attention` function
#
# Doing this for q1, then q2, and so on, is a loop. Stack the queries as the rows of Q, the keys
# as the rows of K and the values as the rows of V. Then Q Kᵀ holds every score in one matrix
# product, softmax runs along each row, and one more product mixes the values:
#
# $$\text{Attention}(Q, K, V) = \text{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right) V$$
#
# The course's code, used by every later chapter:

# %%
show(attention)

# %% [markdown]
# The shapes in its comments: Tq is the number of queries, Tk the number of keys (both S in
# self-attention, where a sentence attends to itself), d_v the length of a value (here equal to
# d_k); `...` stands for any leading axes, such as B. Two arguments wait for later chapters.
# `mask` hides some keys (padding and the future, chapter 5): `validate_mask` rejects a mask of
# the wrong shape or dtype with a clear message; the article fills hidden scores with -1e9,
# this code with the dtype's own minimum (chapter 5 shows -1e9 overflowing in float16); and a
# query whose keys are all hidden gets weights of zero instead of NaN (also chapter 5).
# `dropout` randomly zeroes some weights during training. The function returns **both** the
# output and the weights, so we can draw them.
#
# Applied to the five learned queries, keys and values of section 3:

# %%
with torch.no_grad():
    out, weights = attention(Q, K, V)  # (B, S, d_k) x3 -> (B, S, d_k), (B, S, S)
print("output (B, S, d_k) =", tuple(out.shape), "| weights (B, S, S) =", tuple(weights.shape))
print("each row of weights sums to", (weights.sum(-1).cpu().round(decimals=4) + 0.0).tolist())
scaled_scores = Q @ K.transpose(-2, -1) / math.sqrt(d_k)  # (B, S, S)
print(f"variance of the projected, scaled scores: {scaled_scores.var().item():.2f} "
      "(section 4's assumption gives 1)")
loop = torch.stack([(Q[0, i] @ K[0].T / math.sqrt(d_k)).softmax(-1) @ V[0] for i in range(5)])
assert torch.allclose(out[0], loop, atol=1e-5)  # the matrix form equals the loop over queries
hide_book = torch.tensor([True, True, True, True, False]).to(device)  # (S,): may attend?
with torch.no_grad():  # the (S,) mask broadcasts to every query row of the (B, S, S) scores
    _, masked = attention(Q, K, V, mask=hide_book)
print("with 'book' masked, weight on it:", (masked[0, :, 4].cpu().round(decimals=4) + 0.0).tolist())
assert torch.allclose(masked.sum(-1), torch.ones(1, 5, device=device))  # rows still sum to 1

# %% [markdown]
# The matrix form gives the same numbers as the loop, with one matrix product instead of a
# Python loop over the queries. With a mask, the hidden key gets weight 0 from every query, and
# the other weights grow so that each row still sums to 1.
#
# ## 7. An attention heatmap of a sentence
#
# The weights of section 6 come from untrained maps W_q, W_k, W_v:

# %%
_ = heatmap(weights[0], tokens, tokens, vmin=0.0, vmax=1.0, title="untrained attention weights",
            xlabel="key (looked at)", ylabel="query (asking)")
print("weights range from", round(weights.min().item(), 2), "to", round(weights.max().item(), 2),
      "(equal weights would be 0.2)")
for i, token in enumerate(tokens):
    j = weights[0, i].argmax().item()
    print(f"{token:>5} looks most at {tokens[j]:>5} ({weights[0, i, j].item():.2f})")

# %% [markdown]
# *The same kind of picture as the hand-made one in section 2, but with random W_q and W_k: the
# weights range from 0.06 to 0.33, all near the uniform 0.2, in no meaningful pattern: "her"
# looks most at "him" (0.30), "book" at itself (0.25). Even the row of "she" peaking at "book"
# (0.33) is chance, far weaker than the 0.54 of the hand-made vectors. Training makes the
# pattern; chapter 8 draws the heatmaps of a trained translator.*
#
# ## 8. Explore: a temperature and a query
#
# A **temperature** T divides every score before the softmax: softmax(q·k / (sqrt(d_k) T)).
# T = 1 is the real attention. A small T sharpens the weights towards the single best key, a large
# T flattens them towards the same weight for every word. Leaving out the division by sqrt(d_k)
# is the same as T = 1 / sqrt(d_k) (1/8 at d_k = 64): the sharp, saturated weights of section 4.
# For "she":

# %%
for temperature in (0.25, 1.0, 4.0):
    _, w = attention(q_hand[:1] / temperature, k_hand, v_hand)  # dividing q divides every score
    print(f"T = {temperature:4}: ", dict(zip(tokens, [round(x, 3) for x in w[0].tolist()],
                                             strict=True)))

# %% [markdown]
# In the widget pick a query word and move the temperature. The top row shows its weights; below
# are the five values and, under the black line, the output: the values mixed with those weights.
# At a low temperature the output becomes the value of one word; at a high one it becomes the
# plain average.

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import attention_explorer  # noqa: E402

attention_explorer(tokens, q_hand, k_hand, v_hand, FEATURES)

# %% [markdown]
# ## Recap
#
# - Attention lets each word gather information from the others: its query is matched against
#   every key, softmax turns the matches into weights that add up to 1, and the output is the
#   weighted sum of the values.
# - Q, K and V come from three learned linear maps of the same vectors (in self-attention).
# - The scores are divided by sqrt(d_k) because the variance of q·k grows like d_k (measured: 1.1
#   to 1028 for d_k = 1 to 1024); unscaled, softmax saturates and its gradient vanishes.
# - The article's example: scores 3/2 and 1/8 become weights 0.80 and 0.20, a factor e^1.375 ≈
#   3.96; the output is 0.80 v1 + 0.20 v2.
# - `attention(query, key, value, mask, dropout)` does all queries in one matrix product and
#   returns (output, weights).
#
# ## Your turn
#
# **Exercise.** Write `my_attention(query, key, value, mask=None)` returning `(output, weights)`:
# scores Q Kᵀ / sqrt(d_k); where `mask` is False (or 0), a very negative score
# (`scores.masked_fill(mask == 0, -1e9)`); softmax over the keys; weights times values.
# Shapes: query (..., Tq, d_k), key (..., Tk, d_k), value (..., Tk, d_v); the mask broadcasts
# to the (..., Tq, Tk) scores, True = may attend. Use `key.transpose(-2, -1)`. The grader tries
# Tq, Tk and d_v all different, with no mask, a padding mask and a pattern of hidden keys.

# %%
from annotated.exercises import check_attention  # noqa: E402


def my_attention(query, key, value, mask=None):
    ...


check_attention(my_attention)

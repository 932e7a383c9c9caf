# %% [markdown]
# # Chapter 3: Attention, one head
#
# Attention is how the words of a sentence look at each other: the heart of the Transformer.
# We follow François Porcher's article "The A-Z of Transformers: Everything You Need to Know",
# called the article below. By the end you will be able to:
#
# - explain queries, keys and values, and where they come from;
# - follow one word's attention through its five steps, and redo the article's worked example;
# - predict, then measure, why the scores are divided by sqrt(d_k);
# - use the course's `attention` and see what training does to its weights.
#
# Shape letters: B batch, S sequence length, D d_model; d_k is the length of one query or key,
# d_v the length of one value.

# %%
import math

import torch
from torch import nn

import annotated
from annotated import Embeddings, PositionalEncoding, attention, pretrained, show
from annotated.examples import FEATURES, SHE, WordVocab, she_gave_him_her_book
from annotated.viz.figures import FIGURES
from annotated.viz.measure import (
    dot_product_stats,
    softmax_gradient_size,
    trained_and_untrained,
)

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()


def rounded(t):
    """4 decimals, moved to the CPU for printing; + 0.0 turns "-0.0" into "0.0"."""
    return t.cpu().round(decimals=4) + 0.0

# %% [markdown]
# ## 1. The intuition: a spotlight
#
# Picture each word shining a spotlight over the sentence, lighting the words that matter for
# it. Each brightness is between 0 and 1, and together they add up to 1. The word's new vector
# mixes what the lit words offer, in proportion to their brightness.
#
# For each word the model computes three vectors:
#
# - a **query** (Q): the question the word asks, such as "who owns something here?";
# - a **key** (K): the label each word offers, against which questions are matched;
# - a **value** (V): the content a word hands over when it is lit.
#
# ## 2. The article's example: "She gave him her book"
#
# Focus on "she". The article argues it should link strongly to "book", since she owns it;
# moderately to "her", the same person; and weakly to "gave" and "him".
#
# A trained model learns its queries and keys; here we write them by hand, with four features,
# so d_k = 4. A key says what a word **is**; a query says what it **looks for**. The values
# are ours too: each equals the word's key, so an output tells which features it gathered.

# %%
tokens, q_hand, k_hand, v_hand = she_gave_him_her_book()
print("sentence:", SHE, "->", tokens)
print("features:", FEATURES)
for name, t in [("keys (what each word is)", k_hand), ("queries (what each looks for)", q_hand)]:
    print(name)
    for token, row in zip(tokens, t, strict=True):
        print(f"  {token:>5}: {row.tolist()}")

# %% [markdown]
# "she" looks for "female" with weight 2 and "possession" with weight 3. Its match with each
# word is the **dot product** of its query with that word's key: multiply the entries pairwise
# and add. For "book": 0·0 + 2·0 + 3·2 + 0·0 = 6. We divide by sqrt(d_k) = 2, so the score is
# 3; section 4 says why. Then **softmax** turns the five scores into weights that are positive
# and add up to 1:
#
# $$\text{softmax}(s)_j = \frac{e^{s_j}}{e^{s_1} + e^{s_2} + \dots + e^{s_5}}$$
#
# `q_hand[0]` is the query of "she", shape (4,). `k_hand.T` holds the five keys as columns,
# shape (4, 5). Their product is the five dot products at once:

# %%
scores = q_hand[0] @ k_hand.T / math.sqrt(4)  # (4,) @ (4, S) -> (S,): "she" against each key
weights = scores.softmax(dim=-1)  # (S,)
output = weights @ v_hand  # (S,) @ (S, d_v) -> (d_v,): the values, mixed
for token, s, w in zip(tokens, scores.tolist(), weights.tolist(), strict=True):
    print(f"she -> {token:>5}: score {s:4.2f}  weight {w:.4f}")
print("output of 'she':", rounded(output))
by_hand = math.exp(3) / sum(math.exp(x) for x in scores.tolist())  # the formula above
print(f"softmax by hand for 'book': e^3 / (sum of the five e^s) = {by_hand:.4f}")
assert math.isclose(by_hand, weights[4].item(), rel_tol=1e-5)

# %% [markdown]
# All the steps, in one picture:

# %%
_ = FIGURES["03_attention_pipeline"].make()

# %% [markdown]
# *Five small steps turn one query into an output; "book" takes 0.54 of the weight, so the
# output is mostly its "possession" feature.*
#
# Every word asks its own question, so every word gets its own row of weights:

# %%
_ = FIGURES["03_attention_she"].make()

# %% [markdown]
# *Each row is one word asking and sums to 1: "him", looking for an action, finds "gave".*
#
# ## 3. Q, K and V come from three learned matrices
#
# In a real model nobody writes the features. Each word's vector x, its embedding plus its
# position from chapters 1 and 2, is multiplied by three learned matrices W_q, W_k and W_v.
# They start random and are trained with the rest of the model. With small sizes, following
# one word, "him", framed in x and in each result:

# %%
_ = FIGURES["03_qkv_projection"].make()

# %% [markdown]
# *One row of x, one word, becomes three different vectors: its query, its key and its value.*
#
# The paper runs h = 8 such attentions, the **heads** of chapter 4, each with d_k = 512 / 8 =
# 64. Here is one at full size. An `nn.Linear(512, 64)` acts on the last axis only; it stores
# W transposed, as (out, in), and adds a learned bias b: it computes x Wᵀ + b.

# %%
vocab = WordVocab()
d_model, d_k = 512, 64
embed = Embeddings(d_model, len(vocab))
nn.init.xavier_uniform_(embed.lut.weight)  # make_model's initialisation (chapter 1)
# Initialise on the CPU, then move: the CPU's random numbers are the same on every machine.
embed = embed.to(device)
position = PositionalEncoding(d_model, dropout=0.0).to(device)
w_q, w_k, w_v = (nn.Linear(d_model, d_k).to(device) for _ in range(3))
print("W_q's weight (out, in) =", tuple(w_q.weight.shape))  # PyTorch stores it as (out, in)

ids = vocab.encode(SHE).to(device)  # (B, S) = (1, 5)
with torch.no_grad():
    x = position(embed(ids))  # (B, S, D)
    Q, K, V = w_q(x), w_k(x), w_v(x)  # each (B, S, d_k): one query, key, value per word
print("ids (B, S) =", tuple(ids.shape), "-> x (B, S, D) =", tuple(x.shape))
print("Q, K, V (B, S, d_k) =", tuple(Q.shape), tuple(K.shape), tuple(V.shape))
assert not torch.allclose(Q, K) and not torch.allclose(K, V)  # same x, three different views

# %% [markdown]
# The same x feeds all three matrices: this is **self**-attention. In chapter 6's decoder, the
# queries come from one sentence and the keys and values from another.
#
# ## 4. Why divide by sqrt(d_k)?
#
# The score q·k is a sum of d_k products. If the entries of q and k have mean 0 and variance 1,
# each product has variance 1 and the sum has variance d_k. So the scores' standard deviation,
# their typical distance from 0, is sqrt(d_k): they spread wider as d_k grows.
#
# **Exercise 1: predict, then run.** Take one random query and 10 random keys with d_k = 512,
# their entries drawn with mean 0 and variance 1, and leave out the division. What is the
# largest of the 10 weights, on average? Equal weights would give 0.1. Set your guess here, run
# this cell, then run the next.
#
# <details><summary>Hint 1: the idea</summary>
#
# Without the division the scores have a standard deviation of sqrt(512). How far apart are
# the best and second-best of 10 such scores?
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Two scores that differ by g get weights in the ratio e^g. How big is e^10?
# </details>

# %%
from annotated.exercises import check_unscaled_peak  # noqa: E402

my_prediction = ...  # a number between 0 and 1

check_unscaled_peak(my_prediction)

# %% [markdown]
# Now break attention on purpose: multiplying every query by sqrt(d_k) cancels the division
# inside the real `attention`. We take 1000 random queries, each against its own 10 keys.

# %%
q, k = torch.randn(1000, 1, 512), torch.randn(1000, 10, 512)  # mean 0, variance 1
v = torch.randn(1000, 10, 512)
_, w_unscaled = attention(q * math.sqrt(512), k, v)  # the division, cancelled
_, w_scaled = attention(q, k, v)
unscaled, scaled = w_unscaled.amax(-1).mean().item(), w_scaled.amax(-1).mean().item()
print(f"d_k = 512, mean largest of 10 weights: scaled {scaled:.2f}, unscaled {unscaled:.2f}")
assert unscaled > 0.9 > 0.5 > scaled

# %% [markdown]
# The same, for several d_k:

# %%
d_ks = [1, 4, 16, 64, 256, 1024]
stats = dot_product_stats(d_ks)
print(" d_k | var(q·k) | var(q·k / sqrt(d_k)) | largest weight of 10: raw  scaled")
for i, d in enumerate(d_ks):
    print(f"{d:4} | {stats['var(q·k)'][i]:8.1f} | {stats['var(q·k / sqrt(d_k))'][i]:20.2f} |"
          f"                    {stats['max weight, q·k'][i]:.2f}   "
          f"{stats['max weight, q·k / sqrt(d_k)'][i]:.2f}")

# %%
_ = FIGURES["03_softmax_saturation"].make()

# %% [markdown]
# *Unscaled, the largest weight climbs towards 1 as d_k grows; scaled, it stays near 0.3.*
#
# Why is that bad? When one weight is 1 and the rest 0, nudging a score barely moves any
# weight, and training learns by such nudges. How much the weights move is a gradient size,
# explained in the collapsed cell below. At d_k = 64 and 512:

# %%
for dk in (64, 512):
    size = softmax_gradient_size(dk)
    print(f"d_k = {dk:3}: how much the weights move, raw {size['raw']:.3f}, scaled "
          f"{size['scaled']:.3f}: {size['scaled'] / size['raw']:.1f}x")

# %% [markdown]
# Scaled scores leave softmax about 2 times more room to learn at d_k = 64, and 6 times more
# at 512.
#
# <details><summary>Under the hood: what "how much the weights move" is</summary>
#
# Softmax's derivative is the n × n Jacobian diag(p) - p pᵀ: entry (i, j) says how much weight
# i moves when score j is nudged. When one p is 1, every entry is 0. The printed size is its
# Frobenius norm, the root of its summed squared entries, averaged over 1000 queries.
# </details>
#
# ## 5. The article's worked example, step by step
#
# The article takes a query q1 and keys k1, k2 with scores 3/2 and 1/8, without printing the
# vectors. We choose vectors with d_k = 4 that give those scores, and values v1, v2 of our own:

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
# 3/2 and 1/8 may look close. But softmax exponentiates: the weights are e^(3/2) and e^(1/8),
# divided by their sum. A gap of 1.375 in score becomes a factor e^1.375 ≈ 3.96 in weight:

# %%
a1 = math.exp(s1) / (math.exp(s1) + math.exp(s2))
a2 = math.exp(s2) / (math.exp(s1) + math.exp(s2))
print(f"weights: a1 = e^1.5 / (e^1.5 + e^0.125) = {a1:.4f},  a2 = {a2:.4f}")
print(f"ratio a1 / a2 = e^(1.5 - 0.125) = {a1 / a2:.4f}")
assert math.isclose(a1 + a2, 1.0) and math.isclose(a1 / a2, math.exp(1.375))

# %% [markdown]
# q1 attends about four times more to k1 than to k2. Its output mixes the values with these
# weights:

# %%
output = a1 * v1 + a2 * v2
print("output = a1 * v1 + a2 * v2 =", rounded(output))

# %% [markdown]
# ## 6. All queries at once: the `attention` function
#
# Doing this for q1, then q2, and so on, is a loop. Stack the queries as the rows of Q, and the
# keys and values likewise in K and V. Q Kᵀ holds every score, softmax runs along each row,
# and one more product mixes the values:
#
# $$\text{Attention}(Q, K, V) = \text{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right) V$$
#
# At the article's size, that is three lines. Tq is the number of queries and Tk the number
# of keys. `...` stands for any leading axes, such as B.

# %%
def attention_sketch(Q, K, V):
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.size(-1))  # (..., Tq, Tk)
    weights = scores.softmax(dim=-1)  # each row sums to 1
    return weights @ V, weights  # (..., Tq, d_v), (..., Tq, Tk)


out, w = attention_sketch(q1.view(1, 4), torch.stack([k1, k2]), torch.stack([v1, v2]))
print("the sketch on section 5's example:", rounded(out[0]), "weights", rounded(w[0]))
assert torch.allclose(out[0], output)

# %% [markdown]
# The course's `attention`, used by every later chapter, is the same thing hardened:

# %%
show(attention)

# %% [markdown]
# `mask` hides some keys, such as padding or the future. A hidden key gets the lowest score its
# dtype, the tensor's number format, can hold, so softmax gives it weight 0. The article uses
# -1e9, which chapter 5 shows overflowing in float16. The other mask lines, `validate_mask`,
# `masked_fill_value`, a query that may see nothing and PyTorch's fused kernel, are taught in
# chapter 5. `dropout` zeroes some weights during training and scales up the rest, so then
# rows need not sum to 1. On section 3's Q, K, V:

# %%
with torch.no_grad():
    out, weights = attention(Q, K, V)  # (B, S, d_k) x3 -> (B, S, d_k), (B, S, S)
print("output (B, S, d_k) =", tuple(out.shape), "| weights (B, S, S) =", tuple(weights.shape))
loop = torch.stack([(Q[0, i] @ K[0].T / math.sqrt(d_k)).softmax(-1) @ V[0] for i in range(5)])
assert torch.allclose(out[0], loop, atol=1e-5)  # the matrix form equals the loop over queries
hide_book = torch.tensor([True, True, True, True, False]).to(device)  # (S,): may attend?
with torch.no_grad():  # the (S,) mask broadcasts to every query row of the (B, S, S) scores
    _, masked = attention(Q, K, V, mask=hide_book)
print("with 'book' masked, weight on it:", rounded(masked[0, :, 4]).tolist())
print("rows still sum to", rounded(masked.sum(-1)).tolist())
print("'she' before:", rounded(weights[0, 0]))
print("'she' after: ", rounded(masked[0, 0]))

# %% [markdown]
# The matrix form equals the loop. A masked key gets weight 0 from every query; the other
# weights grow, as the row of "she" shows, so each row still sums to 1.
#
# ## 7. What training does
#
# Section 3's matrices are random. To see learned ones, we use the course's trained number
# translator, which writes a German number in English. In its **cross-attention**, each English
# word asks a query and the German words answer with keys and values. It has 2 layers of 4
# heads; we read the last layer, beside an untrained copy.

# %%
text = "dreihundertvierundfünfzig"  # 354
maps = trained_and_untrained(pretrained.load("numbers"), [text])[text]
print("German words (keys):  ", maps["trained"].source)
print("English words (queries):", maps["trained"].written)
print("cross-attention weights (layers, heads, T, S) =", tuple(maps["trained"].cross.shape))
for name, m in maps.items():
    w = m.cross[-1]  # last layer, (H, T, S): one weight matrix per head
    print(f"{name:>9}: mean largest weight per query {w.amax(-1).mean().item():.2f}")
head = maps["trained"].cross[-1, 3]  # (T, S), one head of the last layer
for word, row in zip(maps["trained"].written, head, strict=True):
    print(f"  trained head 3: {word:>7} looks most at {maps['trained'].source[row.argmax()]}")

# %% [markdown]
# Untrained, each query spreads its weight: the largest is 0.42 on average. Trained, each picks
# one key. Heads count from 0: head 3 is the fourth. In it, "fifty" looks at
# "fünfzig" and "four" at "vier", although German says "vier und fünfzig". Nobody told the
# model this alignment. The same head, before and after training:

# %%
from annotated.viz.draw import trained_beside_untrained  # noqa: E402

_ = trained_beside_untrained(maps, head=3)

# %% [markdown]
# *Untrained, every English word spreads its weight thinly. Trained, the number words "three",
# "hundred", "fifty" and "four" look at their German counterparts; filler tokens, "and", "-"
# and "</s>", park on some other word.*
#
# To switch models and heads yourself:

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import training_switch  # noqa: E402

training_switch(maps, head=3)

# %% [markdown]
# ## 8. Explore: a temperature and a query
#
# A **temperature** T divides every score before the softmax: `softmax(q·k / (sqrt(d_k) T))`.
# T = 1 is the real attention. A small T sharpens the weights towards the best key; a large T
# flattens them. Leaving out sqrt(d_k) is T = 1 / sqrt(d_k), section 4's saturation. For "she":

# %%
for temperature in (0.25, 1.0, 4.0):
    _, w = attention(q_hand[:1] / temperature, k_hand, v_hand)  # dividing q divides every score
    print(f"T = {temperature:4}: ", dict(zip(tokens, [round(x, 3) for x in w[0].tolist()],
                                             strict=True)))

# %% [markdown]
# Pick a query word and move the temperature: its weights on top, the values and, under the
# black line, the output.

# %% tags=["nbval-ignore-output"]
from annotated.viz.widgets import attention_explorer  # noqa: E402

attention_explorer(tokens, q_hand, k_hand, v_hand, FEATURES)

# %% [markdown]
# *The colder the temperature, the more one key takes all the weight.*

# %% [markdown]
# ## Recap
#
# - Each word's query is matched against every key; softmax turns the matches into weights
#   that add up to 1; the output is the weighted sum of the values.
# - Q, K and V come from three learned matrices applied to the same vectors x.
# - The variance of q·k grows like d_k. Unscaled, softmax saturates and the gradient shrinks,
#   about 2 times at d_k = 64 and 6 times at 512; dividing by sqrt(d_k) prevents it.
# - `attention` does all queries in one matrix product. Training turns spread-out weights into
#   sharp alignments.
#
# ## Your turn
#
# **Exercise 2: design a query.** In the hand-made sentence, "her" puts only 0.41 of its
# weight on "she", printed below. Write a new query for "her", one number per feature, that
# puts at least 0.9 on "she". The keys are printed in section 2.
#
# <details><summary>Hint 1: the idea</summary>
#
# Which features does "she" have, and which other keys share them? A negative query entry
# lowers the score of every key with that feature.
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Once "she" scores highest, look at section 8: a longer query works like a lower temperature.
# </details>

# %%
from annotated.exercises import check_query_design  # noqa: E402

_, w_her = attention(q_hand[3:4], k_hand, v_hand)  # the hand-made query of "her"
print("her's weights now:", dict(zip(tokens, [round(x, 2) for x in w_her[0].tolist()], strict=True)))

my_query = ...  # four numbers: [person, female, possession, action]

check_query_design(my_query)

# %% [markdown]
# **Exercise 3: attention with a temperature.** Section 8 divided the query from outside.
# Build the temperature in: write `my_attention(query, key, value, mask=None, temperature=1.0)`
# returning `(output, weights)`. True in the mask means "may attend".
#
# First predict, in a comment: if a mask hides "book", where does "she" look most, and with
# about how much weight at T = 1 and T = 0.5? Once you pass, the grader prints the answer.
#
# <details><summary>Hint 1: the idea</summary>
#
# Scores, scaling, the temperature, hiding, softmax, mixing. A hidden key needs the lowest
# score there is.
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Section 6's sketch does all but the temperature and the mask. `Tensor.masked_fill` hides
# keys; `torch.finfo(dtype).min` is the lowest score. The softmax runs over the last axis.
# </details>

# %%
from annotated.exercises import check_attention  # noqa: E402


def my_attention(query, key, value, mask=None, temperature=1.0):
    # my prediction, "book" hidden: "she" looks most at ..., with ... at T = 1, ... at T = 0.5
    ...


check_attention(my_attention)

# %% [markdown]
# After trying, see `annotated.exercises.solutions.solution("check_query_design")` and the
# others.
#
# ## Further reading
#
# - François Porcher's article "The A-Z of Transformers: Everything You Need to Know", and its
#   [code](https://github.com/FrancoisPorcher/awesome-ai-tutorials).
# - Vaswani et al., [Attention Is All You Need](https://arxiv.org/abs/1706.03762): section
#   3.2.1 and its footnote 4 give the formula and the variance argument.
# - Harvard NLP, [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/):
#   the same function beside the paper's text.
# - J. Alammar, [The Illustrated Transformer](https://jalammar.github.io/illustrated-transformer/).
# - Where attention came from: Bahdanau et al., [attention for
#   translation](https://arxiv.org/abs/1409.0473), and Luong et al., [dot-product
#   scores](https://arxiv.org/abs/1508.04025).
# - What it grew into: [FlashAttention](https://arxiv.org/abs/2205.14135) computes the same
#   softmax without storing the weights. In [ViT-22B](https://arxiv.org/abs/2302.05442), scores
#   grew so large that the weights became nearly one-hot; normalising queries and keys fixed it.

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 7: Training
#
# Chapter 6 ended with a model that writes nonsense with confidence. This chapter teaches it.
# We train a small Transformer on the copy task until it gets every held-out sequence right,
# in about a minute or less on a CPU (the training cell prints its own time). By the end of
# this chapter you will be able to:
#
# - turn pairs of sentences into a `Batch`: padded ids, the source and target masks, and the
#   decoder's input and output shifted by one (teacher forcing);
# - explain label smoothing, and see why it stops the model from being over-confident;
# - say what dropout does, and why `model.train()` and `model.eval()` matter;
# - write the paper's warm-up learning-rate schedule, and say why Adam needs it;
# - train with a loss curve that draws itself as training goes, and decode greedily.
#
# The article stops just before training (it points to its GitHub repository for
# experiments). We follow the training section of Harvard's Annotated Transformer, which the
# article builds on, and the paper's section 5.
#
# Letters used for shapes: B batch, S source length, T target length, D = d_model, H heads,
# V vocabulary, N layers (the paper's letter, as in `make_model(N=2)`), and L the length of
# an output that greedy decoding writes.

# %%
import math
import random

import torch

import annotated
from annotated import (
    count_parameters,
    make_model,
    make_std_mask,
    padding_mask,
    record_attention,
    show,
)
from annotated.data import Batch, Vocab, bucket_batches, make_batch, pad_sequences
from annotated.decoding import greedy_decode
from annotated.losses import LOG_TINY, LabelSmoothing
from annotated.registry import get_task, make_data
from annotated.training import (
    TrainConfig,
    exact_match_of,
    loss_sum,
    make_optimizer,
    rate,
    train,
    train_step,
)
from annotated.viz.draw import (
    SCHEDULES,
    draw_attention,
    draw_schedule,
    label_smoothing_figure,
    schedule_figure,
)
from annotated.viz.measure import schedule_curves, smoothing_penalty
from annotated.viz.primitives import grid, heatmap
from annotated.viz.widgets import LiveHistory, schedule_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## From sentence pairs to a batch
#
# A translation example is a pair: a source sentence and its target. Two German-English
# pairs of different lengths, and a vocabulary for each side, built from the data. Every
# vocabulary starts with the same four special tokens: `<pad>` (id 0), `<s>` (start),
# `</s>` (end) and `<unk>` (a word it has never seen).

# %%
pairs = [("die katze trinkt milch".split(), "the cat drinks milk".split()),
         ("ich schlafe".split(), "I sleep".split())]
src_vocab = Vocab.build(src for src, _ in pairs)
tgt_vocab = Vocab.build(tgt for _, tgt in pairs)
print("source vocabulary:", src_vocab.itos)
print("target vocabulary:", tgt_vocab.itos)
print("'the cat drinks milk' ->", tgt_vocab.encode(pairs[0][1], bos=True, eos=True))

# %% [markdown]
# `make_batch` encodes each side, wraps every target in `<s> ... </s>`, pads to the longest
# sentence (chapter 5) and hands the ids to `Batch`, which builds the masks:

# %%
show(make_batch)
show(Batch)

# %%
batch = make_batch(pairs, src_vocab, tgt_vocab)
B, S = batch.src.shape
T = batch.tgt.shape[1]
print("src     ", tuple(batch.src.shape), "(B, S)")
print("src_mask", tuple(batch.src_mask.shape), "(B, 1, S): one row, shared by every query")
print("tgt     ", tuple(batch.tgt.shape), "(B, T): the decoder's input")
print("tgt_y   ", tuple(batch.tgt_y.shape), "(B, T): what it must predict")
print("tgt_mask", tuple(batch.tgt_mask.shape), "(B, T, T): one row per query")
print(batch.src)
print(batch.tgt)

# %% [markdown]
# ### The masks, with their tokens
#
# Each kind of attention uses one of the two masks (dark 1 = may attend, light 0 = hidden).
# Here they are for the short pair, "ich schlafe" -> "I sleep", padded to the long one's
# lengths:

# %%
i = 1  # the short pair
src_tokens = [src_vocab.itos[t] for t in batch.src[i].tolist()]
tgt_tokens = [tgt_vocab.itos[t] for t in batch.tgt[i].tolist()]
panels = [
    (batch.src_mask[i].expand(S, S), src_tokens, src_tokens,
     "encoder self-attention:\nsrc_mask (1, S) for S queries"),
    (batch.tgt_mask[i], tgt_tokens, tgt_tokens, "decoder self-attention:\ntgt_mask (T, T)"),
    (batch.src_mask[i].expand(T, S), tgt_tokens, src_tokens,
     "cross-attention:\nsrc_mask (1, S) for T queries"),
]
fig, axes = grid(3, cols=3, size=3.7)
for ax, (mask, rows, cols, title) in zip(axes, panels, strict=True):
    heatmap(mask.int(), rows, cols, ax=ax, cmap="Blues", vmin=-0.5, vmax=1.5, fmt=".0f",
            cbar=False, title=title, xlabel="key", ylabel="query")

# %% [markdown]
# *Left: in the encoder every query may look at "ich" and "schlafe", never at the two pads.
# Middle: in the decoder, query t sees keys 0..t (the causal mask) and never the pad; the
# last row, the padded query, sees nothing at all. Right: cross-attention uses the source
# mask, so each target position looks at the real source words only. Its last row, the
# padded query, still shows 1s: the source mask is one row for all queries and cannot hide
# a query. That is harmless: what the padded position predicts is a pad, which the loss
# does not count, and no other position reads it (the middle panel's last column is all 0).
# The same holds for the encoder's two padded query rows (left): every mask hides pad keys,
# so nothing ever reads what those positions compute. The code below checks the target side.*
#
# The source mask is a single row (B, 1, S), broadcast over the queries: it only hides pad
# *keys*. The target mask must be a full (B, T, T) anyway, because the causal part differs
# from row to row, so our `Batch` also hides the rows of padded *queries*. The Annotated
# Transformer's `make_std_mask` (chapter 5) lets them attend; nothing ever reads their
# output, so the result is the same, but their attention pictures are cleaner this way:

# %%
pad_row = batch.tgt_mask[i, -1]  # the query at the padded target position
print("our Batch, padded query row:       ", pad_row.int().tolist())
print("make_std_mask, padded query row:   ", make_std_mask(batch.tgt, 0)[i, -1].int().tolist())
assert not pad_row.any() and torch.equal(batch.tgt_mask[i, :-1], make_std_mask(batch.tgt, 0)[i, :-1])
# The padded query (last position of the short pair) is harmless in cross-attention too:
assert batch.tgt_y[i, -1] == tgt_vocab.pad  # its prediction is a pad: the loss skips it
assert not batch.tgt_mask[i, :, -1].any()  # no decoder query reads it as a key

# %% [markdown]
# ### Batching by length
#
# Every pad is wasted work: the model computes on it and then throws the result away. Two
# sentences of 3 and 40 words in one batch make the short one over 90% padding. So `train`
# does not batch sentences at random: its `bucket_batches` groups sentences of similar
# length, as the paper does (section 5.1: "Sentence pairs were batched together by
# approximate sequence length"). On 3,200 made-up sentences of 3 to 40 words:

# %%
rng = random.Random(0)
lengths = [rng.randint(3, 40) for _ in range(3200)]


def padding_share(batches: list[list[int]]) -> float:
    """The share of a batch's (B, longest) slots that are padding."""
    slots = sum(len(b) * max(lengths[k] for k in b) for b in batches)
    return 1 - sum(lengths) / slots


# pool=1 sorts only within each batch, which is the same as no bucketing at all.
print(f"random batches of 32:    {padding_share(bucket_batches(lengths, 32, pool=1)):.1%} "
      "padding")
print(f"bucket_batches, 32 each: {padding_share(bucket_batches(lengths, 32)):.1%} padding")

# %% [markdown]
# ## Teacher forcing
#
# The target `<s> the cat drinks milk </s>` is cut twice: `tgt` drops the last token and is
# what the decoder *reads*, `tgt_y` drops the first and is what it must *write*. At each
# position, the decoder reads the true words so far and predicts the next one:

# %%
for i in range(B):
    print(f"pair {i}:  {'position':>8}  {'reads (tgt)':>12}  {'predicts (tgt_y)':>16}")
    for t in range(T):
        read = tgt_vocab.itos[batch.tgt[i, t]]
        want = tgt_vocab.itos[batch.tgt_y[i, t]]
        note = "   (a pad: not counted)" if want == "<pad>" else ""
        print(f"         {t:>8}  {read:>12}  {want:>16}{note}")
print("target tokens the loss counts (ntokens):", batch.ntokens)
assert batch.ntokens == 5 + 3  # 'the cat drinks milk </s>' and 'I sleep </s>'

# %% [markdown]
# Pair 1 "reads" `</s>` at position 3 only because it is padded: `tgt` is the padded target
# minus its last column, and for the short pair that column is a pad, so its `</s>` stays
# in. What it must predict there is `<pad>`, which the loss does not count: that position
# teaches nothing. An unpadded target never shows `</s>` to the decoder.

# %% [markdown]
# This is **teacher forcing**: during training the decoder always reads the *right* previous
# words, never its own guesses. So all T predictions are independent of each other's
# mistakes, and they are made in **one** forward pass: the causal mask already stops
# position t from seeing the word it must predict. That is the parallelism the article
# praises in its conclusion: a recurrent network must run T steps one after the other, a
# Transformer trains on all T positions at once.
#
# One pass of an untrained model, with every shape:

# %%
V = len(tgt_vocab)
model = make_model(len(src_vocab), V, N=2, d_model=32, d_ff=64, h=4, dropout=0.0).to(device)
batch = batch.to(device)
out = model(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)  # (B, T, D)
logp = model.generator(out)  # (B, T, V)
print(f"B={B}, S={S}, T={T}, D={out.shape[-1]}, V={V}")
print("decoder output  ", tuple(out.shape), "(B, T, D)")
print("log-probabilities", tuple(logp.shape), "(B, T, V): a next-word guess at every position")
print("flattened for the loss:", tuple(logp.reshape(-1, V).shape), "(B*T, V) against",
      tuple(batch.tgt_y.reshape(-1).shape), "(B*T,)")

# Changing the word the decoder reads at position 3 changes no prediction before it.
tgt2 = batch.tgt.clone()
tgt2[0, 3] = tgt_vocab.stoi["I"]  # 'drinks' -> 'I'
out2 = model(batch.src, tgt2, batch.src_mask, batch.tgt_mask)  # (B, T, D)
same = torch.isclose(out, out2, atol=1e-5).all(dim=-1)[0]  # (T,) for pair 0
print("positions whose output did not change:", same.int().tolist())
assert same[:3].all() and not same[3:].any()

# %% [markdown]
# Positions 0 to 2 are untouched, positions 3 and 4 changed: each prediction depends only on
# the words up to its own position, so one pass over the true target trains all of them
# honestly.
#
# The loss of a batch is the package's `loss_sum`: one forward pass, the generator's scores
# (`logits`, before the softmax), and the criterion (below) on the flattened (B*T, V) scores:
# `from_logits` takes the generator's log-softmax, then the loss. Training divides it by
# `ntokens`, so the loss is per real target token, whatever the padding. Untrained, it is
# worse than a blind guess: random weights make confident guesses (chapter 6), and
# confidently wrong costs more than unsure.

# %%
show(loss_sum)
criterion = LabelSmoothing(V, padding_idx=tgt_vocab.pad, smoothing=0.0)
fp32 = annotated.precision_for(device, "fp32")  # no mixed precision for this one pass
loss = loss_sum(model, batch, criterion, fp32) / batch.ntokens
print(f"untrained loss per token: {loss.item():.4f}   a blind guess, log V = {math.log(V):.4f}")

# %% [markdown]
# ## Label smoothing
#
# With a one-hot target ("the right word has probability 1, every other word 0"), the loss
# only reaches its minimum when the model is *certain*. The paper (section 5.4) smooths the
# target instead: the right word gets 1 - epsilon, with epsilon = 0.1, and the other words
# share epsilon. "This hurts perplexity, as the model learns to be more unsure, but improves
# accuracy and BLEU score." The loss is the KL divergence between that smoothed target q and
# the model's distribution p: sum of q (log q - log p).
#
# KL divergence and cross-entropy differ by a constant: KL(q || p) = CE(q, p) - H(q), where
# CE(q, p) = -sum q log p and H(q) = -sum q log q is the entropy of the target, which the
# model cannot change. So both give the same gradients and the same best p, but not the same
# numbers: the KL is 0 when p = q, the cross-entropy is then H(q). Keep this in mind when we
# compare a training loss (KL) with a validation loss (cross-entropy) below.
#
# Our `LabelSmoothing` spreads epsilon over the V - 2 words that are neither the right one
# nor `<pad>`, and a position whose target is `<pad>` gets an all-zero row (it teaches
# nothing):

# %%
show(LabelSmoothing)

# %% [markdown]
# The target distribution for "the cat drinks milk" and one padded position, in a 5-word
# vocabulary:

# %%
words = ["<pad>", "the", "cat", "drinks", "milk"]
crit = LabelSmoothing(len(words), padding_idx=0, smoothing=0.1)
uniform = torch.full((5, 5), 1 / 5).log()  # (N, V) any log-probabilities will do
crit(uniform, torch.tensor([1, 2, 3, 4, 0]))
print(crit.true_dist)
print("row sums:", crit.true_dist.sum(dim=-1))
assert torch.allclose(crit.true_dist[:4].sum(-1), torch.ones(4))
assert crit.true_dist[4].sum() == 0 and crit.true_dist[:, 0].sum() == 0

# KL(q || p) = CE(q, p) - H(q), checked on these 5 positions with the uniform p:
q = crit.true_dist  # (N, V)
kl = crit(uniform, torch.tensor([1, 2, 3, 4, 0]))
ce = -(q * uniform).sum()
entropy = -torch.xlogy(q, q).sum()
print(f"KL {kl.item():.4f} = CE {ce.item():.4f} - H(q) {entropy.item():.4f}")
assert torch.isclose(kl, ce - entropy)

# %%
_ = label_smoothing_figure()

# %% [markdown]
# *Left: the same target distribution as above, 0.9 on the right word and 0.1 / 3 = 0.033 on
# each other word, with the `<pad>` column and the padded row all 0. Right: the loss of one
# position as the model moves probability p onto the right word, the rest 1 - p spread
# evenly over the other non-pad words. With epsilon = 0 it falls
# all the way to p = 1: the model is always pushed to be more certain. With epsilon > 0 it
# is smallest at p = 1 - epsilon (the dots) and climbs steeply beyond: over-confidence now
# costs.*
#
# The minimum, measured on a fine grid of p:

# %%
p_grid = [k / 1000 for k in range(20, 1000)]
for eps in (0.0, 0.1, 0.3):
    losses = smoothing_penalty(p_grid, eps)
    best = p_grid[min(range(len(losses)), key=losses.__getitem__)]
    print(f"epsilon = {eps}: loss is smallest at p = {best:.3f}")
    assert abs(best - (1 - eps)) < 0.002 or (eps == 0 and best == p_grid[-1])

# %% [markdown]
# One more property matters in practice. Log-probabilities can be exactly -inf: not from
# our generator, which uses `log_softmax` in float32, but if they are computed as
# `softmax(...).log()`, where a tiny probability rounds to 0 (much sooner in float16).
# `torch.nn.KLDivLoss`, which the Annotated Transformer uses, then returns NaN (0 times
# -inf in the columns where the target is 0), and one NaN loss turns every weight into NaN
# at the next step. Ours clamps log-probabilities at LOG_TINY, the log of float32's smallest
# normal number (about -87.3), and counts 0 * log 0 as 0: a large loss, but a finite one.
# The price: below LOG_TINY the clamp passes no gradient, so a word pushed that far down
# gets no push back up from its own entry (the gradient printed below is 0 in those
# columns). What the clamp buys is that the loss, its gradient and the weights stay numbers.

# %%
never = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]]).log()  # all on 'cat'; the right word is 'the'
never.requires_grad_()
ours = crit(never, torch.tensor([1]))  # (this call also sets crit.true_dist for 'the')
theirs = torch.nn.KLDivLoss(reduction="sum")(never, crit.true_dist)
print("KLDivLoss:     ", theirs.item())
print(f"LabelSmoothing: {ours.item():.1f}   (LOG_TINY = {LOG_TINY:.1f})")
ours.backward()
print("its gradient on the log-probabilities:", never.grad)
assert not torch.isfinite(theirs) and torch.isfinite(ours)
assert never.grad[0, 2] == -crit.true_dist[0, 2] and (never.grad[0, [0, 1, 3, 4]] == 0).all()

# %% [markdown]
# ## Adam and the warm-up schedule
#
# The paper trains with Adam (beta1 = 0.9, beta2 = 0.98, eps = 1e-9) and a learning rate
# that changes at every step:
#
# lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)
#
# For the first `warmup` steps the second term is the smaller one: the rate grows linearly.
# After that the first one takes over: the rate decays like 1 / sqrt(step). Both terms are
# equal at step = warmup, the peak. The paper uses warmup = 4000 and factor 1.

# %%
show(rate)

# %% [markdown]
# PyTorch's `LambdaLR` scheduler sets the learning rate to (the optimizer's base rate) x
# lambda(s), where s counts the scheduler's steps so far, starting at 0. `make_optimizer`
# gives Adam a base rate of 1.0, so the rate is simply lambda(s), and lambda(s) =
# rate(s + 1): the paper counts steps from 1, and rate(0) would divide by zero. The
# training step calls `scheduler.step()` after each optimizer step, so optimizer step 1
# uses rate(1), step 2 uses rate(2), and so on.

# %%
show(make_optimizer)
tiny = torch.nn.Linear(2, 2)  # any parameters will do: we only read the rate
opt, sched = make_optimizer(tiny, model_size=64, factor=0.3, warmup=100)
for step in (1, 2, 3):
    used = sched.get_last_lr()[0]  # the rate the next optimizer step uses
    print(f"optimizer step {step}: lr {used:.7f} = rate({step}) {rate(step, 64, 0.3, 100):.7f}")
    assert used == rate(step, 64, 0.3, 100)
    opt.step()  # (no gradients: nothing moves)
    sched.step()

# %%
for d_model, warmup, factor in SCHEDULES:
    curve = schedule_curves([(d_model, warmup, factor)])
    lrs = next(iter(curve.values()))  # lr at steps 1..20000
    peak_step = lrs.index(max(lrs)) + 1
    print(f"d_model={d_model:>4}, warmup={warmup:>4}: peak lr {max(lrs):.6f} at step "
          f"{peak_step:>4}, then {lrs[-1]:.6f} at step 20000")
    assert peak_step == warmup and max(lrs) == rate(warmup, d_model, factor, warmup)

# %%
_ = schedule_figure()

# %% [markdown]
# *The rate climbs in a straight line for `warmup` steps, peaks, then decays like
# 1/sqrt(step). Doubling the warm-up (orange) peaks twice as late and sqrt(2) times lower,
# then follows the same curve as the blue one. Halving d_model (green) multiplies the whole
# curve by sqrt(2): smaller models take bigger steps.*
#
# ### Why warm up?
#
# Adam divides each gradient by a running estimate of its own size. At the very first step
# that estimate comes from a single gradient, so every weight moves by the full learning
# rate, whatever its gradient was:

# %%
w = torch.nn.Parameter(torch.zeros(5))
adam = torch.optim.Adam([w], lr=0.01, betas=(0.9, 0.98), eps=1e-9)
w.grad = torch.tensor([0.0001, 0.01, 1.0, 100.0, -3.0])  # gradients 10^6 apart in size
adam.step()
print("first Adam step moves each weight by:", w.detach())
assert torch.allclose(w.detach().abs(), torch.full((5,), 0.01))

# %% [markdown]
# A gradient of 0.0001 and one of 100 give the same step, 0.01: at the start Adam takes
# full-size steps in directions learned from one noisy batch. Its estimates only become
# averages after tens of steps (beta2 = 0.98 averages over about 1 / (1 - 0.98) = 50). The
# paper's post-norm model adds a second reason: its gradients start very uneven. Chapter 6
# measured a fresh 24-layer post-norm decoder whose bottom layer got a gradient about 1,600
# times smaller than its top layer (its figure `06_grad_norms`); our models are pre-norm,
# where the largest and smallest layer gradients stayed within a factor of 4. A small rate
# while the estimates settle, then the peak, then a slow decay: that is the warm-up.
#
# ### One training step
#
# The package's `train_step` also serves GPUs, mixed precision, several processes and
# gradient accumulation, so it has more lines than the idea needs. With one batch per step
# in float32, which is this chapter's case on a CPU, it does exactly this:
#
# ```python
# loss = loss_sum(model, batch, criterion, precision) / batch.ntokens  # per real token
# loss.backward()                                     # gradients of every weight
# torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
# optimizer.step()                                    # Adam moves the weights
# optimizer.zero_grad()                               # forget this step's gradients
# scheduler.step()                                    # set the next step's learning rate
# ```
#
# Read the real code below with that in mind; you can skip these parts for now:
# - `scaler` (a `GradScaler`): `scaler.scale`, `scaler.unscale_`, `scaler.step` and
#   `scaler.update` only do something for float16 on a GPU, where small gradients would
#   round to 0 without scaling. In float32 they are plain `backward()` and `optimizer.step()`.
# - `sync` / `model.no_sync()`: only for training in several processes (DDP).
# - the loop over `batches`: several batches add up their gradients before one optimizer
#   step, as if they were one big batch (gradient accumulation). Here the list has one.
# - `precision.autocast()` inside `loss_sum`: mixed precision on GPUs; in float32 it does
#   nothing.
#
# Gradient clipping: if the gradient of all the weights together is longer than 1.0 (its
# norm, the square root of the sum of every squared entry), it is scaled down to length 1.0,
# keeping its direction. That does not cap the step itself: Adam divides by its running
# estimate of each gradient's size, so the step mostly does not depend on how long the
# gradient was. What clipping does change: an unusually large gradient enters Adam's
# running averages at length 1.0 at most, so one bad batch cannot swamp them. The paper does
# not mention clipping; we keep it as a cheap guard.

# %%
show(train_step)

# %% [markdown]
# ### Widget: the schedule explorer
#
# The copy task below trains for only 400 steps, with d_model 64, warmup 100 and factor
# 0.3. At the scale of the paper's runs its warm-up would be a thin spike at the left edge,
# so here is its schedule over just its 400 steps:

# %%
_ = draw_schedule(64, 100, 0.3, steps=400)
copy_peak, paper_peak = rate(100, 64, 0.3, 100), rate(4000, 512, 1.0, 4000)
print(f"copy run: peak {copy_peak:.5f} at step 100, {rate(400, 64, 0.3, 100):.6f} at step 400")
print(f"paper: peak {paper_peak:.6f} at step 4000; the copy run's peak is "
      f"{copy_peak / paper_peak:.1f} times higher")

# %% [markdown]
# *Blue: the copy run's rate climbs for 100 steps to 0.00375 (the dotted line), then falls to
# half of that by step 400. Dashed grey: the paper's base schedule over the same 400 steps,
# still near the start of its 4,000-step warm-up; even its peak (0.000699, at step 4000)
# is 5.4 times lower than the copy run's. A small model can take much larger steps.*
#
# Now move d_model, warm-up, factor and the number of steps shown; the blue curve is yours,
# the dashed grey one the paper's base model (512, 4000, 1). The title gives the peak. (The
# sliders need a running notebook: a saved copy, on GitHub say, shows only the widget's
# name.)

# %% tags=["nbval-ignore-output"]
schedule_explorer()

# %% [markdown]
# ## The copy task
#
# The Annotated Transformer's first experiment: the source is a random sequence of 10
# symbols from 1 to 10, and the target is the same sequence. Easy for a human, but the model
# starts knowing nothing: it must learn to look, at each output position, at the matching
# source position. The data is generated from a seed, and no test sequence is ever trained
# on.

# %%
data = make_data("copy", seed=0)
print("train / valid / test:", len(data.train), len(data.valid), len(data.test))
print("vocabulary:", data.src_vocab.itos)
print("an example:", " ".join(data.train[0].src), "->", " ".join(data.train[0].tgt))
train_set = {e.src for e in data.train}
seen = sum(e.src in train_set for e in data.valid + data.test)
print("valid and test sequences that are also in the training set:", seen)
assert seen == 0

# %% [markdown]
# A small model: 2 layers of each kind, d_model 64, 4 heads. The schedule peaks at step 100
# at 0.3 * 64^-0.5 * 100^-0.5 = 0.00375, and we train for 400 steps of 64 sequences: 25,600
# sequences, fewer than the 30,000 of the training set, so the model never sees the same
# sequence twice. Every 25 steps `train` measures the validation loss and the validation
# exact match (the share of 200 sequences decoded exactly right) and calls our callback,
# which redraws the curves. All sequences have 10 symbols, so batching by length changes
# nothing here.
#
# ### Dropout, and `model.train()` / `model.eval()`
#
# The paper also uses dropout (section 5.4, "residual dropout", P_drop = 0.1): during
# training, each entry of each sub-layer's output is set to 0 with probability 0.1 before it
# is added to the residual stream (the `self.dropout(...)` in `SublayerConnection`, chapter
# 6), and so is each entry of the sum of the embeddings and positional encodings. The
# survivors are scaled by 1 / (1 - 0.1), so the average stays the same. Our layers, like the
# Annotated Transformer's, also apply it to the attention weights and inside the
# feed-forward block; `make_model(dropout=...)` sets them all. A model that can never count
# on any single unit is held back from memorising its training sentences.
#
# Dropout only acts in training mode. `model.train()` switches it on, `model.eval()` off;
# forget `eval()` before testing and the predictions change at random from run to run.
# `train` calls
# `model.train()` before its loop, `eval()` for each validation, and returns the model in
# eval mode. The same layer in both modes:

# %%
drop = torch.nn.Dropout(p=0.5)  # 0.5 to make it visible; the paper uses 0.1
x = torch.ones(8)
drop.train()
print("train mode:", drop(x))  # each entry zeroed with probability 0.5, the rest doubled
drop.eval()
print("eval mode: ", drop(x))  # unchanged
assert torch.equal(drop(x), x)
print("the numbers task's default model:", get_task("numbers").recipe.model)

# %% [markdown]
# For the copy task we set dropout to 0. Dropout fights memorising the training data, and
# here there is nothing to memorise: 400 steps of 64 draw 25,600 sequences from 30,000 that
# are all different, and none of the held-out ones among them (checked above). The numbers
# task's default, above, keeps the paper's 0.1.
#
# On a CPU we use one thread: for a model this small, splitting each small matrix product
# between threads costs more than it saves, and on our shared 2-core machine one thread was
# the faster choice.

# %%
copy_model = {"N": 2, "d_model": 64, "d_ff": 128, "h": 4, "dropout": 0.0}
config = TrainConfig(steps=400, batch_size=64, warmup=100, factor=0.3, smoothing=0.1,
                     valid_every=25, valid_decode=200)
print(config)
if device.type == "cpu":
    torch.set_num_threads(1)

# %% [markdown]
# In a running notebook a progress bar counts the 400 steps and the curves redraw every 25
# steps. (A saved copy, on GitHub say, shows the bar stuck at 0/400: it is a widget and needs
# a running kernel. The curves and the printed lines below it are the run's final state.)

# %% tags=["nbval-ignore-output"]
live = LiveHistory()  # redraws the loss curves below at each validation
result = train(data, config, model_config=copy_model, callback=live)
history = result.history
print(f"trained {history.step[-1]} steps in {history.seconds:.0f} s on {device}")
print(f"training loss (KL) at the last step: {history.loss[-1]:.4f}; validation "
      f"cross-entropy: {history.valid_loss[-1]:.3f}")
print("validation exact match every 25 steps:")
print(" ".join(f"{s}:{e:.2f}" for s, e in zip(history.valid_step, history.valid_exact,
                                                strict=True)))

# %% [markdown]
# *Left, log scale: the training loss (every step) and the validation loss (every 25 steps)
# both fall by more than an order of magnitude; then the validation loss levels off near 0.1
# while the training loss keeps falling, to about 0.001. That gap is not overfitting: the two
# are different quantities. The training loss is the KL divergence to the smoothed target,
# which is 0 once the model answers exactly 0.9 / 0.1; the validation loss is the plain
# cross-entropy of the right symbol, -log p, which for a model that answers 0.9 is -log 0.9
# = 0.105 (see below). Right: validation exact match stays at 0 while the model only knows
# which symbols exist, then jumps once it has learned where to look. In the run stored with
# this notebook (the line printed above) it was still 0 at step 75, 0.34 at step 100 and
# 0.93 at step 125.*

# %%
model = result.model
print("parameters:", count_parameters(model))
print("optimizer steps:", history.step[-1])
print("the returned model is in eval mode (dropout off):", not model.training)
assert not model.training
assert history.loss[-1] < history.loss[0] / 100
assert history.valid_exact[0] == 0 and history.valid_exact[-1] > 0.99
test_exact = exact_match_of(model, data.test, data.src_vocab, data.tgt_vocab, result.max_len)
print(f"test exact match: {round(test_exact * len(data.test))}/{len(data.test)}")
assert test_exact == 1.0

# %% [markdown]
# Every one of the 1,000 held-out sequences is copied exactly.
#
# Label smoothing left its mark. The model was asked for 0.9 on the right symbol, and that
# is what it learned: the mean probability it gives the right symbol on the test set is
# close to 1 - epsilon, and a model that answers 0.9 has a cross-entropy of -log(0.9) =
# 0.105, whatever its accuracy. That is the "hurts perplexity" of the paper, while the
# accuracy is perfect.

# %%
test_batch = make_batch([(e.src, e.tgt) for e in data.test], data.src_vocab,
                        data.tgt_vocab).to(device)
with torch.no_grad():
    logp = model.generator(model(test_batch.src, test_batch.tgt, test_batch.src_mask,
                                 test_batch.tgt_mask))  # (B, T, V)
p_right = logp.exp().gather(-1, test_batch.tgt_y.unsqueeze(-1))  # (B, T, 1)
print(f"mean probability of the right symbol: {p_right.mean().item():.3f}")
print(f"-log(0.9) = {-math.log(0.9):.3f}; last validation cross-entropy within 0.01 of it:",
      abs(history.valid_loss[-1] + math.log(0.9)) < 0.01)
assert abs(p_right.mean().item() - 0.9) < 0.02

# %% [markdown]
# ## Greedy decoding
#
# At test time there is no target to read: the model reads its own output. Greedy decoding
# is the loop of chapter 6: encode the source once, start with `<s>`, and append the most
# likely next symbol until `</s>` or `max_len`. The package's `greedy_decode` has the
# Annotated Transformer's signature, works on a whole batch, and stops once every row has
# written `</s>` (its key/value cache, which makes each step cheaper, is chapter 8's
# subject).

# %%
show(greedy_decode)

# %%
vocab = data.src_vocab
examples = data.test[:4]
src = pad_sequences([vocab.encode(e.src) for e in examples], vocab.pad).to(device)  # (B, S)
src_mask = padding_mask(src, vocab.pad)  # (B, 1, S)
ys = greedy_decode(model, src, src_mask, max_len=result.max_len, start_symbol=vocab.bos,
                   end_symbol=vocab.eos)  # (B, L)
print("src", tuple(src.shape), "(B, S) -> output", tuple(ys.shape),
      "(B, L): <s>, 10 symbols, </s>")
for e, row in zip(examples, ys.tolist(), strict=True):
    written = vocab.decode(row)
    print(f"{' '.join(e.src):<22} -> {' '.join(written)}")
    assert tuple(written) == e.tgt
assert (ys[:, 0] == vocab.bos).all() and (ys[:, -1] == vocab.eos).all()

# %% [markdown]
# Training took one decoder pass per batch for all 11 target positions; decoding takes one
# pass per output symbol, one after the other. That asymmetry is why teacher forcing makes
# Transformers fast to train, and why chapter 8 caches work between decoding steps.
#
# ### What the model learned to look at
#
# How does it copy? Run one test pair through the trained model with the attention weights
# kept, and look at the cross-attention of its last layer (the second of N = 2): each target
# position (row) and how much it looks at each source symbol (column).

# %%
src, tgt = test_batch.src[:1], test_batch.tgt[:1]  # one test pair: (1, S) and (1, T)
src_words = [vocab.itos[t] for t in src[0].tolist()]
tgt_words = [vocab.itos[t] for t in tgt[0].tolist()]
maps = record_attention(model, src, tgt, src_words, tgt_words, test_batch.src_mask[:1])
cross = maps.cross  # (N, H, T, S)
print("cross-attention weights:", tuple(cross.shape), "(N, H, T, S)")
N, H, T, S = cross.shape
diagonal = torch.arange(T).clamp(max=S - 1)  # (T,): target position t <-> source position t
follows = (cross[-1].argmax(dim=-1) == diagonal).float().mean(dim=-1)  # (H,)
print("a head of the last layer looks at the matching source position for "
      "at least 90% of the target positions:", bool(follows.max() >= 0.9))
assert follows.max() >= 0.9

# %%
_ = draw_attention(maps, "cross", layer=-1)

# %% [markdown]
# *One panel per head of the last decoder layer; the colour is the attention weight, 0 to 1.
# Rows: what the decoder reads at each target position (`<s>` and the symbols written so
# far); columns: the source symbols. The bright diagonal says that the position that reads `<s>` looks at the
# first source symbol, the next one at the second, and so on: to write symbol t, the model
# looks up source position t. Nobody told it to; it learned the alignment from examples.*
#
# ## Recap
#
# - `make_batch` pads and encodes pairs; `Batch` cuts the target into `tgt` (read) and
#   `tgt_y` (predicted), and builds `src_mask` (B, 1, S) and `tgt_mask` (B, T, T), which
#   hides the future, the pad keys and the padded query rows.
# - Teacher forcing: the decoder reads the true previous words, so one pass trains all T
#   positions; the causal mask keeps each prediction honest.
# - Label smoothing (epsilon = 0.1): the target is 0.9 on the right word and 0.1 spread over
#   the others; the loss is smallest at p = 1 - epsilon. Our trained model gives the right
#   symbol about 0.9 on average. KL(q || p) = CE(q, p) - H(q): same gradients, different
#   numbers. The loss stays finite even for a probability of exactly 0.
# - Adam (0.9, 0.98, 1e-9) takes full-size first steps, so the learning rate warms up:
#   factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), peaking at step = warmup.
# - Batches group sentences of similar length; dropout (0.1 in the paper) acts only after
#   `model.train()`, and `model.eval()` turns it off for testing.
# - The copy task: 400 steps, 1000/1000 held-out sequences copied exactly; greedy decoding
#   writes one symbol per decoder pass; the cross-attention learned the diagonal.
#
# ## Your turn
#
# **1.** Write the paper's learning-rate schedule `rate(step, model_size, factor, warmup)`,
# returning a float. Try it from the formula in words, without scrolling up to the code.

# %%
from annotated.exercises import (  # noqa: E402
    check_factor_for_peak,
    check_rate,
    check_smoothed_targets,
)


def my_rate(step, model_size, factor, warmup):
    ...


check_rate(my_rate)

# %% [markdown]
# **2.** How did we choose the copy task's factor? Write `factor_for_peak(peak_lr,
# model_size, warmup)`: the factor that makes the schedule of a model of width `model_size`
# peak at exactly `peak_lr`, with this `warmup`. (For the copy task: 0.00375 with d_model 64
# and warmup 100 gives 0.3.)

# %%
def my_factor_for_peak(peak_lr, model_size, warmup):
    ...


check_factor_for_peak(my_factor_for_peak)

# %% [markdown]
# **3.** Write `smoothed_targets(target, size, padding_idx, smoothing)`: given target ids of
# shape (N,), return the (N, V) distribution that `LabelSmoothing` compares the model with.

# %%
def my_smoothed_targets(target, size, padding_idx, smoothing):
    ...


check_smoothed_targets(my_smoothed_targets)

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
# in well under a minute on a laptop CPU. By the end of this chapter you will be able to:
#
# - turn pairs of sentences into a `Batch`: padded ids, the source and target masks, and the
#   decoder's input and output shifted by one (teacher forcing);
# - explain label smoothing, and see why it stops the model from being over-confident;
# - write the paper's warm-up learning-rate schedule, and say why Adam needs it;
# - train with a loss curve that draws itself as training goes, and decode greedily.
#
# The article stops just before training (it points to its GitHub repository for
# experiments). We follow the training section of Harvard's Annotated Transformer, which the
# article builds on, and the paper's section 5.
#
# Letters used for shapes: B batch, S source length, T target length, D = d_model,
# V vocabulary.

# %%
import math

import torch

import annotated
from annotated import (
    count_parameters,
    keep_attention,
    make_model,
    make_std_mask,
    padding_mask,
    show,
)
from annotated.data import Batch, Vocab, make_batch, pad_sequences
from annotated.decoding import greedy_decode
from annotated.figures import (
    SCHEDULES,
    label_smoothing_figure,
    schedule_curves,
    schedule_figure,
    smoothing_penalty,
)
from annotated.plots import grid, heatmap
from annotated.tasks import make_data
from annotated.training import (
    LabelSmoothing,
    TrainConfig,
    exact_match_of,
    loss_sum,
    make_optimizer,
    rate,
    train,
    train_step,
)
from annotated.widgets import LiveHistory, collect_attention, draw_heads, schedule_explorer

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
# mask, so each target position looks at the real source words only.*
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
# The loss of a batch is the package's `loss_sum`: one forward pass, the generator, and the
# criterion (below) on the flattened (B*T, V) log-probabilities. Training divides it by
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

# %%
_ = label_smoothing_figure()

# %% [markdown]
# *Left: the same target distribution as above, 0.9 on the right word and 0.1 / 3 = 0.033 on
# each other word, with the `<pad>` column and the padded row all 0. Right: the loss of one
# position as the model moves probability p onto the right word. With epsilon = 0 it falls
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
# One more property matters in practice. A model can give a word probability exactly 0
# (log-probability -inf, for example after an underflow in float16).
# `torch.nn.KLDivLoss`, which the Annotated Transformer uses, then returns NaN (0 times
# -inf in the columns where the target is 0), and one NaN loss turns every weight into NaN
# at the next step. Ours clamps log-probabilities at the log of float32's smallest normal
# number, and counts 0 * log 0 as 0: a large loss, but a finite one.

# %%
never = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]]).log()  # all on 'cat'; the right word is 'the'
ours = crit(never, torch.tensor([1]))  # (this call also sets crit.true_dist for 'the')
theirs = torch.nn.KLDivLoss(reduction="sum")(never, crit.true_dist)
print("KLDivLoss:     ", theirs.item())
print(f"LabelSmoothing: {ours.item():.1f}")
assert not torch.isfinite(theirs) and torch.isfinite(ours)

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
show(make_optimizer)

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
# averages after tens of steps (beta2 = 0.98 averages over about 1 / (1 - 0.98) = 50), and
# a fresh post-norm model has very uneven gradients too (chapter 6). A small rate while the
# estimates settle, then the peak, then a slow decay: that is the warm-up.
#
# One training step puts it all together: the summed loss divided by the tokens, the
# backward pass, gradient clipping (no step longer than a fixed norm), the optimizer step,
# and the scheduler step that sets the next rate. (`scaler` handles float16 on GPUs, and a
# list of several batches accumulates gradients as if they were one big batch.)

# %%
show(train_step)

# %% [markdown]
# ### Widget: the schedule explorer
#
# Move d_model, warm-up and factor; the blue curve is yours, the dashed grey one the paper's
# base model (512, 4000, 1). The title gives the peak. Try the copy task's settings below:
# d_model 64, warmup 100, factor 0.3.

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
# which redraws the curves.
#
# On a CPU we use one thread: this model is so small that a second thread mostly waits for
# the first. On our shared 2-core machine, busy with other jobs, this run once took 126 s
# with 2 threads and 16 s with 1.

# %%
copy_model = {"N": 2, "d_model": 64, "d_ff": 128, "h": 4, "dropout": 0.0}
config = TrainConfig(steps=400, batch_size=64, warmup=100, factor=0.3, smoothing=0.1,
                     valid_every=25, valid_decode=200)
print(config)
if device.type == "cpu":
    torch.set_num_threads(1)

# %% tags=["nbval-ignore-output"]
live = LiveHistory()  # redraws the loss curves below at each validation
result = train(data, config, model_config=copy_model, callback=live)
print(f"trained {result.history.step[-1]} steps in {result.history.seconds:.0f} s on {device}")

# %% [markdown]
# *Left, log scale: the training loss (label-smoothed KL divergence, every step) and the
# validation loss (plain cross-entropy, every 25 steps) both fall by more than an order of
# magnitude; then the validation loss levels off near 0.1 while the training loss keeps
# falling (label smoothing's doing: see below). Right: validation exact match stays at 0
# while the model only knows which symbols exist, then jumps to nearly 1 within a few dozen
# steps, somewhere between steps 100 and 150, once it has learned where to look.*

# %%
model, history = result.model, result.history
print("parameters:", count_parameters(model))
print("optimizer steps:", history.step[-1])
assert history.loss[-1] < history.loss[0] / 100
test_exact = exact_match_of(model, data.test, data.src_vocab, data.tgt_vocab, result.max_len)
print(f"test exact match: {round(test_exact * len(data.test))}/{len(data.test)}")
assert test_exact == 1.0

# %% [markdown]
# Every one of the 1,000 held-out sequences is copied exactly.
#
# Label smoothing left its mark. The model was asked for 0.9 on the right symbol, and that
# is what it learned: the mean probability it gives the right symbol on the test set is
# 1 - epsilon, and the validation cross-entropy cannot fall below -log(0.9) = 0.105 for a
# model that answers 0.9. That is the "hurts perplexity" of the paper, while the accuracy is
# perfect.

# %%
test_batch = make_batch([(e.src, e.tgt) for e in data.test], data.src_vocab,
                        data.tgt_vocab).to(device)
with torch.no_grad():
    logp = model.generator(model(test_batch.src, test_batch.tgt, test_batch.src_mask,
                                 test_batch.tgt_mask))  # (B, T, V)
p_right = logp.exp().gather(-1, test_batch.tgt_y.unsqueeze(-1))  # (B, T, 1)
print(f"mean probability of the right symbol: {p_right.mean().item():.1f}")
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
# kept, and look at the cross-attention of its last layer: each target position (row) and
# how much it looks at each source symbol (column).

# %%
keep_attention(model)
one = test_batch.src[:1], test_batch.tgt[:1], test_batch.src_mask[:1], test_batch.tgt_mask[:1]
with torch.no_grad():
    model(*one)
cross = collect_attention(model, "cross")  # (L, H, T, S)
keep_attention(model, False)
print("cross-attention weights:", tuple(cross.shape), "(L, H, T, S)")
src_words = [vocab.itos[t] for t in one[0][0].tolist()]
tgt_words = [vocab.itos[t] for t in one[1][0].tolist()]
L, H, T, S = cross.shape
diagonal = torch.arange(T).clamp(max=S - 1)  # (T,): target position t <-> source position t
follows = (cross[-1].argmax(dim=-1) == diagonal).float().mean(dim=-1)  # (H,)
print("a head of the last layer looks at the matching source position for "
      "at least 90% of the target positions:", bool(follows.max() >= 0.9))
assert follows.max() >= 0.9

# %%
_ = draw_heads(cross, src_words, layer=L - 1, query_tokens=tgt_words)

# %% [markdown]
# *Rows: the target position (reading `<s>` and the symbols written so far); columns: the
# source symbols. The bright diagonal says that the position that reads `<s>` looks at the
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
#   symbol 0.9 on average. The loss stays finite even for a probability of exactly 0.
# - Adam (0.9, 0.98, 1e-9) takes full-size first steps, so the learning rate warms up:
#   factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), peaking at step = warmup.
# - The copy task: 400 steps, 1000/1000 held-out sequences copied exactly; greedy decoding
#   writes one symbol per decoder pass; the cross-attention learned the diagonal.
#
# ## Your turn
#
# **1.** Write the paper's learning-rate schedule `rate(step, model_size, factor, warmup)`,
# returning a float.

# %%
from annotated.exercises import check_rate, check_smoothed_targets  # noqa: E402


def my_rate(step, model_size, factor, warmup):
    ...


check_rate(my_rate)

# %% [markdown]
# **2.** Write `smoothed_targets(target, size, padding_idx, smoothing)`: given target ids of
# shape (N,), return the (N, V) distribution that `LabelSmoothing` compares the model with.

# %%
def my_smoothed_targets(target, size, padding_idx, smoothing):
    ...


check_smoothed_targets(my_smoothed_targets)

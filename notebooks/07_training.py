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
# We train a small Transformer on the copy task until it copies every held-out sequence
# right. By the end of this chapter you will be able to:
#
# - turn sentence pairs into a batch, and explain teacher forcing: why one pass trains every
#   position;
# - say what label smoothing does to the target, and how the course's version differs from
#   the paper's source;
# - write the paper's warm-up learning-rate schedule, and say why Adam needs it;
# - write a training step in six lines, then read the package's hardened one;
# - train, watch the loss curves, decode greedily, and break training on purpose.
#
# The article stops just before training. We follow Harvard's Annotated Transformer, which
# the article builds on, and section 5 of the paper.
#
# Letters used for shapes: B batch, S source length, T target length, D = d_model, H heads,
# V vocabulary, N layers.

# %%
import copy
import math

import torch

import annotated
from annotated import count_parameters, make_model, padding_mask, record_attention, show
from annotated.data import Vocab, make_batch, pad_sequences
from annotated.decoding import greedy_decode
from annotated.losses import LabelSmoothing
from annotated.registry import make_data
from annotated.training import (
    TrainConfig,
    exact_match_of,
    loss_sum,
    make_optimizer,
    rate,
    train,
    train_step,
)
from annotated.viz.draw import draw_attention, draw_schedule
from annotated.viz.figures import FIGURES
from annotated.viz.measure import break_it_run, smoothing_penalty
from annotated.viz.widgets import LiveHistory, schedule_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## From sentence pairs to a batch
#
# A training example is a pair: a source sentence and its target. Each side gets a
# vocabulary built from the data. Every vocabulary starts with the same four special tokens:
# `<pad>` (id 0), `<s>` (start), `</s>` (end) and `<unk>`, a word it has never seen.

# %%
pairs = [("die katze trinkt milch".split(), "the cat drinks milk".split()),
         ("ich schlafe".split(), "I sleep".split())]
src_vocab = Vocab.build(src for src, _ in pairs)
tgt_vocab = Vocab.build(tgt for _, tgt in pairs)
print("target vocabulary:", tgt_vocab.itos)
print("'the cat drinks milk' ->", tgt_vocab.encode(pairs[0][1], bos=True, eos=True))

# %% [markdown]
# `make_batch` encodes both sides, wraps each target in `<s> ... </s>`, pads to the longest
# sentence and hands the ids to `Batch`, which builds chapter 5's masks.

# %%
show(make_batch)
batch = make_batch(pairs, src_vocab, tgt_vocab)
B, S = batch.src.shape
T = batch.tgt.shape[1]
print("src     ", tuple(batch.src.shape), "(B, S)")
print("src_mask", tuple(batch.src_mask.shape), "(B, 1, S)")
print("tgt     ", tuple(batch.tgt.shape), "(B, T): what the decoder reads")
print("tgt_y   ", tuple(batch.tgt_y.shape), "(B, T): what it must predict")
print("tgt_mask", tuple(batch.tgt_mask.shape), "(B, T, T)")

# %% [markdown]
# ## Teacher forcing
#
# The target `<s> the cat drinks milk </s>` is cut twice. `tgt` drops the last token: it is
# what the decoder reads. `tgt_y` drops the first: it is what the decoder must write. So at
# every position the decoder reads the true words so far and predicts the next one.

# %%
for t in range(T):
    print(f"position {t}: reads {tgt_vocab.itos[batch.tgt[0, t]]:>6}   "
          f"predicts {tgt_vocab.itos[batch.tgt_y[0, t]]}")
print("target tokens the loss counts (ntokens):", batch.ntokens)
assert batch.ntokens == 5 + 3  # 'the cat drinks milk </s>' and 'I sleep </s>'; pads skipped

# %%
_ = FIGURES["07_teacher_forcing"].make()

# %% [markdown]
# *Training reads the true target and trains all positions in one pass; decoding has no
# target, so it runs once per word and reads its own guesses.*
#
# This is **teacher forcing**: in training the decoder always reads the right previous
# words, never its own guesses. A recurrent network must still run T steps one after the
# other. A Transformer computes all T predictions in one forward pass, and the causal mask
# keeps each one honest. Let us check that with an untrained model: change the word read at
# position 3, and only positions 3 and later may change.

# %%
V = len(tgt_vocab)
model = make_model(len(src_vocab), V, N=2, d_model=32, d_ff=64, h=4, dropout=0.0).to(device)
batch = batch.to(device)
out = model(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)  # (B, T, D)
logp = model.generator(out)  # (B, T, V)
print("decoder output   ", tuple(out.shape), "(B, T, D)")
print("log-probabilities", tuple(logp.shape), "(B, T, V): a next-word guess at every position")

tgt2 = batch.tgt.clone()
tgt2[0, 3] = tgt_vocab.stoi["I"]  # 'drinks' -> 'I'
out2 = model(batch.src, tgt2, batch.src_mask, batch.tgt_mask)  # (B, T, D)
same = torch.isclose(out, out2, atol=1e-5).all(dim=-1)[0]  # (T,) for pair 0
print("positions whose output did not change:", same.int().tolist())
assert same[:3].all() and not same[3:].any()

# %% [markdown]
# The loss of a batch is the package's `loss_sum`: one forward pass, the generator's scores,
# then the loss on the flattened (B*T, V) scores. Training divides it by `ntokens`, so the
# loss is per real target token, whatever the padding.

# %%
show(loss_sum)
criterion = LabelSmoothing(V, padding_idx=tgt_vocab.pad, smoothing=0.0)
fp32 = annotated.precision_for(device, "fp32")  # plain float32 for this one pass
loss = loss_sum(model, batch, criterion, fp32) / batch.ntokens
print(f"untrained loss per token: {loss.item():.4f}   a blind guess, log V = {math.log(V):.4f}")

# %% [markdown]
# Untrained, the model is worse than a blind guess, which gives every word 1/V. Random
# weights make confident guesses, and a confident wrong guess costs more than an unsure one.
#
# ## Label smoothing
#
# With a one-hot target, where the right word has probability 1 and every other word 0, the
# loss is smallest only when the model is certain. The paper (section 5.4) smooths the
# target instead, with epsilon = 0.1: "This hurts perplexity, as the model learns to be more
# unsure, but improves accuracy and BLEU score."
#
# **Perplexity** is exp of the average cross-entropy per word. A model with perplexity 10 is
# as unsure as a fair choice among 10 words; a perfect, certain model has perplexity 1.
#
# The course uses the Annotated Transformer's variant of label smoothing. The right word
# gets 1 - epsilon. The other V - 2 words share epsilon equally: neither the right word nor
# `<pad>` takes part in the share. The `<pad>` column is always 0, and a position whose
# target is `<pad>` gets an all-zero row, so it teaches nothing. The method comes from
# Szegedy et al., 2016, who spread epsilon / K over all K classes, the right one included:
# the right word gets 1 - epsilon + epsilon / K. PyTorch's
# `CrossEntropyLoss(label_smoothing=...)` follows Szegedy. For a large vocabulary the two
# differ very little.
#
# The loss is the KL divergence between the smoothed target q and the model's p. It differs
# from the cross-entropy by the entropy of q, which the model cannot change: the same
# gradients, but a different number. KL is 0 when p = q.

# %%
show(LabelSmoothing)
words = ["<pad>", "the", "cat", "drinks", "milk"]
crit = LabelSmoothing(len(words), padding_idx=0, smoothing=0.1)
uniform = torch.full((5, 5), 1 / 5).log()  # (N, V): any log-probabilities will do
targets = torch.tensor([1, 2, 3, 4, 0])  # 'the cat drinks milk', then a padded position
kl = crit(uniform, targets)
print(crit.true_dist)
assert torch.allclose(crit.true_dist[:4].sum(-1), torch.ones(4))
assert crit.true_dist[4].sum() == 0 and crit.true_dist[:, 0].sum() == 0
q = crit.true_dist  # (N, V)
ce, entropy = -(q * uniform).sum(), -torch.xlogy(q, q).sum()
print(f"KL {kl.item():.4f} = cross-entropy {ce.item():.4f} - entropy of q {entropy.item():.4f}")
assert torch.isclose(kl, ce - entropy)

# %%
_ = FIGURES["07_label_smoothing"].make()

# %% [markdown]
# *With epsilon = 0 the loss keeps falling until the model is certain; with epsilon > 0 it
# is smallest at p = 1 - epsilon, and over-confidence costs.*

# %%
p_grid = [k / 1000 for k in range(20, 1000)]
for eps in (0.0, 0.1, 0.3):
    losses = smoothing_penalty(p_grid, eps)
    best = p_grid[min(range(len(losses)), key=losses.__getitem__)]
    print(f"epsilon = {eps}: loss is smallest at p = {best:.3f}")
    assert abs(best - (1 - eps)) < 0.002 or (eps == 0 and best == p_grid[-1])

# %% [markdown]
# <details><summary>Under the hood: a probability of exactly 0</summary>
#
# A log-probability computed as `softmax(...).log()` can be -inf where a tiny probability
# rounds to 0, much sooner in float16. `torch.nn.KLDivLoss`, which the Annotated Transformer
# uses, then returns NaN, and one NaN loss turns every weight into NaN. `LabelSmoothing`
# clamps log-probabilities at `LOG_TINY`, the log of float32's smallest normal number, about
# -87.3. The loss stays finite; below the clamp that entry passes no gradient. The
# demonstration is in docs/training.md.
# </details>
#
# ## Adam and the warm-up schedule
#
# The paper trains with Adam, betas 0.9 and 0.98, eps 1e-9, and a learning rate that
# changes at every step:
#
# lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)
#
# For the first `warmup` steps the second term is smaller, so the rate grows linearly. After
# that the first term takes over, and the rate decays like 1 / sqrt(step). The peak is at
# step = warmup. The paper uses warmup = 4000 and factor 1.

# %%
show(rate)

# %%
_ = FIGURES["07_schedule"].make()

# %% [markdown]
# *A longer warm-up peaks later and lower; a smaller d_model lifts the whole curve.*
#
# Why warm up? Adam divides each gradient by a running estimate of its size. At the first
# step that estimate comes from one gradient, so every weight moves by the full rate:

# %%
w = torch.nn.Parameter(torch.zeros(5))
adam = torch.optim.Adam([w], lr=0.01, betas=(0.9, 0.98), eps=1e-9)
w.grad = torch.tensor([0.0001, 0.01, 1.0, 100.0, -3.0])  # gradients 10^6 apart in size
adam.step()
print("first Adam step moves each weight by:", w.detach())
assert torch.allclose(w.detach().abs(), torch.full((5,), 0.01))

# %% [markdown]
# A gradient of 0.0001 and one of 100 give the same step. At the start Adam takes full-size
# steps in directions learned from one noisy batch. Its estimates average over about
# 1 / (1 - 0.98) = 50 steps. A small rate while they settle, then the peak, then a slow
# decay: that is the warm-up. Exercise 2 removes it.
#
# <details><summary>Under the hood: the scheduler counts from 0</summary>
#
# PyTorch's `LambdaLR` multiplies the optimizer's base rate by lambda(s), where s counts
# the scheduler's steps from 0. `make_optimizer` sets the base rate to 1.0 and lambda(s) =
# rate(s + 1), because the paper counts steps from 1 and rate(0) would divide by zero. So
# optimizer step 1 uses rate(1). `tests/test_training.py` checks it.
# </details>
#
# The copy task below trains for 400 steps with d_model 64, warm-up 100 and factor 0.3.
# Its whole schedule, beside the paper's:

# %%
_ = draw_schedule(64, 100, 0.3, steps=400)
print(f"copy run: peak {rate(100, 64, 0.3, 100):.5f} at step 100; "
      f"paper: peak {rate(4000, 512, 1.0, 4000):.6f} at step 4000")

# %% [markdown]
# *The copy run's rate peaks at step 100, over five times higher than the paper's: a small
# model can take larger steps.* Move the sliders to see other settings; the dashed grey
# curve is the paper's base model.

# %% tags=["nbval-ignore-output"]
schedule_explorer()

# %% [markdown]
# ## One training step
#
# At the article's size, a training step is six lines:

# %%
def simple_train_step(model, batch, criterion, optimizer, scheduler):
    """One step: the loss per real token, its gradients, one Adam step, the next rate."""
    loss = loss_sum(model, batch, criterion, fp32) / batch.ntokens
    loss.backward()  # the gradient of every weight
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # length at most 1.0
    optimizer.step()  # Adam moves the weights
    optimizer.zero_grad()  # forget this step's gradients
    scheduler.step()  # set the next step's learning rate
    return loss.item()


# %% [markdown]
# **Gradient clipping** scales the gradient of all weights together down to length 1.0 when
# it is longer, so one bad batch cannot swamp Adam's running estimates. The paper does not
# mention it; we keep it as a cheap guard.
#
# The package's `train_step` is the same, hardened. Its extra branches serve what this
# chapter does not need:
#
# - a loop over `batches`: **gradient accumulation**, several batches adding up their
#   gradients before one step, as if they were one big batch;
# - `scaler`: **mixed precision** in float16 on a GPU, where small gradients would round to
#   0 unless scaled. In float32 its calls are plain `backward()` and `step()`;
# - `model.no_sync()`: **DDP**, training in several processes, chapter 9's territory.

# %%
show(train_step)
twins = [copy.deepcopy(model) for _ in range(2)]
optims = [make_optimizer(m, model_size=32, factor=1.0, warmup=10) for m in twins]
simple_train_step(twins[0], batch, criterion, *optims[0])
train_step(twins[1], [batch], criterion, *optims[1], fp32.grad_scaler(), fp32)
same = all(torch.allclose(a, b) for a, b in zip(twins[0].parameters(), twins[1].parameters(),
                                                strict=True))
print("six-line step and train_step give the same weights:", same)
assert same

# %% [markdown]
# ## The copy task
#
# The Annotated Transformer's first experiment: the source is a random sequence of 10
# symbols from 1 to 10, and the target is the same sequence. The model starts knowing
# nothing: it must learn to look, at each output position, at the matching source position.
# No test sequence is ever trained on.

# %%
data = make_data("copy", seed=0)
print("train / valid / test:", len(data.train), len(data.valid), len(data.test))
print("an example:", " ".join(data.train[0].src), "->", " ".join(data.train[0].tgt))
train_set = {e.src for e in data.train}
seen = sum(e.src in train_set for e in data.valid + data.test)
print("valid and test sequences also in the training set:", seen)
assert seen == 0

# %% [markdown]
# The paper also uses **dropout** with P_drop = 0.1: in training, each entry of each
# sublayer's output is set to 0 with that probability, and the survivors are scaled up to
# keep the average. A model that cannot count on any single unit memorises less. Dropout
# acts only after `model.train()`; `model.eval()` turns it off for testing. `train` switches
# between the two and returns the model in eval mode.
#
# For the copy task we set dropout to 0: 400 steps of 64 draw 25,600 sequences out of
# 30,000 distinct ones, so there is nothing to memorise. The model has 2 layers of each
# kind, d_model 64 and 4 heads. Every 25 steps `train` measures the validation loss and the
# validation exact match, the share of 200 sequences decoded exactly right, and redraws
# the curves.

# %%
copy_model = {"N": 2, "d_model": 64, "d_ff": 128, "h": 4, "dropout": 0.0}
config = TrainConfig(steps=400, batch_size=64, warmup=100, factor=0.3, smoothing=0.1,
                     valid_every=25, valid_decode=200)
print(config)
if device.type == "cpu":
    torch.set_num_threads(1)  # tiny matrices: see "Under the hood" below

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
# *Left, log scale: both losses fall by more than ten times, then the validation loss levels
# off near 0.1 while the training loss keeps falling. Right: exact match stays at 0 while the
# model only knows which symbols exist, then jumps once it has learned where to look.*
#
# The gap between the two losses is not overfitting. The training loss is the KL to the
# smoothed target, 0 once the model answers exactly 0.9. The validation loss is the plain
# cross-entropy, which for an answer of 0.9 is -log 0.9 = 0.105.
#
# <details><summary>Under the hood: one thread</summary>
#
# On a CPU the chapter runs torch on one thread. For a model this small, splitting each
# small matrix product between threads costs more than it saves. docs/training.md gives the
# measured times and the command.
# </details>

# %%
model = result.model
print("parameters:", count_parameters(model))
print("the returned model is in eval mode (dropout off):", not model.training)
assert not model.training
assert history.loss[-1] < history.loss[0] / 100
assert history.valid_exact[0] == 0 and history.valid_exact[-1] > 0.99
test_exact = exact_match_of(model, data.test, data.src_vocab, data.tgt_vocab, result.max_len)
print(f"test exact match: {round(test_exact * len(data.test))}/{len(data.test)}")
assert test_exact == 1.0

# %% [markdown]
# Every one of the 1,000 held-out sequences is copied exactly. And label smoothing left its
# mark, the "hurts perplexity" of the paper: the model gives the right symbol about 0.9, as
# it was asked, so its perplexity stays near 1 / 0.9 = 1.11, not 1.

# %%
test_batch = make_batch([(e.src, e.tgt) for e in data.test], data.src_vocab,
                        data.tgt_vocab).to(device)
with torch.no_grad():
    logp = model.generator(model(test_batch.src, test_batch.tgt, test_batch.src_mask,
                                 test_batch.tgt_mask))  # (B, T, V)
p_right = logp.exp().gather(-1, test_batch.tgt_y.unsqueeze(-1))  # (B, T, 1)
cross_entropy = -p_right.log().mean().item()
print(f"mean probability of the right symbol: {p_right.mean().item():.3f}")
print(f"test perplexity: {math.exp(cross_entropy):.2f}")
assert abs(p_right.mean().item() - 0.9) < 0.02 and 1.05 < math.exp(cross_entropy) < 1.2

# %% [markdown]
# ## Greedy decoding
#
# At test time there is no target to read: the model reads its own output, as in the
# figure's right half. Greedy decoding encodes the source once, starts with `<s>`, and
# appends the most likely next symbol until `</s>` or `max_len`. The package's
# `greedy_decode` works on a whole batch; its key/value cache is chapter 8's subject.

# %%
show(greedy_decode)
vocab = data.src_vocab
examples = data.test[:4]
src = pad_sequences([vocab.encode(e.src) for e in examples], vocab.pad).to(device)  # (B, S)
src_mask = padding_mask(src, vocab.pad)  # (B, 1, S)
ys = greedy_decode(model, src, src_mask, max_len=result.max_len, start_symbol=vocab.bos,
                   end_symbol=vocab.eos)  # (B, L)
print("src", tuple(src.shape), "(B, S) -> output", tuple(ys.shape), "(B, L)")
for e, row in zip(examples, ys.tolist(), strict=True):
    written = vocab.decode(row)
    print(f"{' '.join(e.src):<22} -> {' '.join(written)}")
    assert tuple(written) == e.tgt

# %% [markdown]
# Training took one decoder pass per batch for all 11 target positions; decoding takes one
# pass per output symbol. That asymmetry is why teacher forcing makes Transformers fast to
# train, and why chapter 8 caches work between decoding steps.
#
# ### What the model learned to look at
#
# Run one test pair through the trained model with the attention weights kept, and look at
# the cross-attention of its last layer: each target position is a row, each source symbol
# a column.

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
print("a head of the last layer looks hardest at the matching source position for "
      "at least 90% of the target positions:", bool(follows.max() >= 0.9))
assert follows.max() >= 0.9

# %%
_ = draw_attention(maps, "cross", layer=-1)

# %% [markdown]
# *At least one head of the last layer draws a bright diagonal: to write symbol t, the model
# looks up source position t. Nobody told it to; it learned the alignment from examples.*
#
# ## Recap
#
# - `Batch` cuts the target into `tgt`, read, and `tgt_y`, predicted. Teacher forcing trains
#   all T positions in one pass; the causal mask keeps each prediction honest.
# - Label smoothing, epsilon = 0.1: the right word gets 0.9, the other V - 2 non-pad words
#   share 0.1. The loss is smallest at p = 1 - epsilon, so the trained model stays near 0.9
#   and its perplexity near 1.11.
# - Adam takes full-size first steps, so the rate warms up, peaks at step = warmup, then
#   decays like 1 / sqrt(step).
# - A training step is six lines; `train_step` adds accumulation, mixed precision and DDP.
# - The copy task: 400 steps, 1000/1000 held-out sequences; greedy decoding writes one
#   symbol per pass; a cross-attention head learned the diagonal.
#
# ## Your turn
#
# Both exercises break one part of training and ask you to predict the damage. They train
# a tiny copy model with 5 symbols for 150 steps, a few seconds each, with plain
# cross-entropy: a blind guess scores log 10 = 2.30.
#
# **1. Break it: turn off the causal mask.** The decoder gets a mask that hides only pads, so
# position t may read every word of `tgt`, the future included. Compared with the same run
# with the mask, will the training loss be lower, the same or higher? And the held-out exact
# match of greedy decoding? Predict, run, then explain what the model learned.

# %%
from annotated.exercises import (  # noqa: E402
    check_no_mask_prediction,
    check_no_warmup_prediction,
    check_smoothed_targets,
)

prediction = {"loss": ..., "exact match": ...}  # each "lower", "same" or "higher"
check_no_mask_prediction(prediction)

# %%
show(break_it_run)
runs = {"with the mask": break_it_run(), "no causal mask": break_it_run(causal=False)}
for name, run in runs.items():
    last10 = sum(run["loss"][-10:]) / 10  # one batch is noisy: average the last 10 steps
    print(f"{name:<15} training loss {last10:.2f}, held-out exact match {run['exact']:.2f}")
assert sum(runs["no causal mask"]["loss"][-10:]) < sum(runs["with the mask"]["loss"][-10:])
assert runs["no causal mask"]["exact"] < 0.05 < runs["with the mask"]["exact"]

# %% [markdown]
# **2. Break it: drop the warm-up.** Same model, same factor, but `warmup=1`: the rate starts
# at its peak, 1 / sqrt(64) = 0.125, and decays from there. Against warm-up 50, predict the
# training loss and the exact match.

# %%
prediction = {"loss": ..., "exact match": ...}  # each "lower", "same" or "higher"
check_no_warmup_prediction(prediction)

# %%
runs["no warm-up"] = break_it_run(warmup=1)
for name in ("with the mask", "no warm-up"):
    last10 = sum(runs[name]["loss"][-10:]) / 10
    print(f"{name:<15} training loss {last10:.2f}, held-out exact match "
          f"{runs[name]['exact']:.2f}")
assert sum(runs["no warm-up"]["loss"][-10:]) / 10 > math.log(10) - 0.4
assert runs["no warm-up"]["exact"] < 0.05

# %% [markdown]
# One seed and one tiny model: read it as an example of a known effect, not a law.
# Chapter 6 saw a post-norm model six layers deep stall the same way at half this rate.
#
# **3. Write the smoothed targets.** `smoothed_targets(target, size, padding_idx,
# smoothing)`: given target ids of shape (N,), return the (N, V) distribution that
# `LabelSmoothing` compares the model with, the course's variant described above.

# %%
def my_smoothed_targets(target, size, padding_idx, smoothing):
    ...


check_smoothed_targets(my_smoothed_targets)

# %% [markdown]
# ## Further reading
#
# - Vaswani et al., [Attention Is All You Need](https://arxiv.org/abs/1706.03762), 2017:
#   section 5, training, with the schedule, dropout and label smoothing.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/): the
#   `Batch`, `LabelSmoothing`, copy task and greedy decoding this chapter follows.
# - Szegedy et al., [Rethinking the Inception Architecture](https://arxiv.org/abs/1512.00567),
#   2016, section 7: label smoothing as first proposed.
# - Müller et al., [When Does Label Smoothing Help?](https://arxiv.org/abs/1906.02629), 2019.
# - Kingma and Ba, [Adam](https://arxiv.org/abs/1412.6980), 2015; Liu et al.,
#   [On the Variance of the Adaptive Learning Rate](https://arxiv.org/abs/1908.03265), 2020,
#   on why Adam needs a warm-up.
# - Williams and Zipser, 1989, introduced teacher forcing; Bengio et al.,
#   [Scheduled Sampling](https://arxiv.org/abs/1506.03099), 2015, on the gap it leaves
#   between training and decoding.
# - Srivastava et al., [Dropout](https://jmlr.org/papers/v15/srivastava14a.html), 2014.

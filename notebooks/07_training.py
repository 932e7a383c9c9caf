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
# Chapter 6 ended with a model that writes nonsense with confidence. This chapter trains a
# small Transformer on the copy task until it copies every held-out sequence right. You will
# be able to:
#
# - turn sentence pairs into a batch, and explain why teacher forcing trains every position
#   in one pass;
# - say what the loss measures: cross-entropy, perplexity, label smoothing;
# - read the paper's warm-up schedule and the six lines of a training step;
# - train, watch the loss curves, decode greedily, and predict what breaks when the causal
#   mask or the warm-up goes.
#
# The article stops before training; we follow the Annotated Transformer and the paper,
# section 5.
#
# Letters used for shapes: B batch, S source length, T target length, L decoded length,
# D = d_model, H heads, V vocabulary, N layers.

# %%
import copy
import math

import torch

import annotated
from annotated import (
    count_parameters,
    make_model,
    padding_mask,
    record_attention,
    show,
    subsequent_mask,
)
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
# This is **teacher forcing**: in training the decoder reads the right previous words,
# never its own guesses. A Transformer computes all T predictions in one forward pass, and
# the causal mask keeps each one honest. Check it on an untrained model: change the word
# read at position 3, and only positions 3 and later may change.

# %%
V = len(tgt_vocab)
# dropout=0.0: no random noise in this check (dropout comes with the copy task below)
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
# ## The loss: cross-entropy
#
# At each position the model gives a probability to every word of the vocabulary. The loss
# asks how much it gave the right word. If that probability is p, the position costs
#
# cross-entropy = -log p.
#
# A right and certain model, p = 1, pays 0; as p nears 0 the cost grows without bound. A
# blind guess gives every word 1/V, so it pays -log(1/V) = log V at every position.

# %%
for p in (1.0, 0.5, 1 / V, 0.01):
    print(f"p = {p:.2f}: -log p = {-math.log(p) + 0.0:.4f}")  # + 0.0: no -0.0
print(f"a blind guess over V = {V} words pays log V = {math.log(V):.4f}")

# %% [markdown]
# A batch's loss adds up -log p over its real target positions; divided by `ntokens`, it is
# an average per real token. **Perplexity** is exp of that average: a model with perplexity
# 10 is as unsure as a fair choice among 10 words.
#
# At the article's size the loss of a batch takes four lines:

# %%
def simple_loss(model, batch, pad):
    """Summed cross-entropy of a batch: -log p(right word) at every real target position."""
    out = model(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)  # (B, T, D)
    logp = model.generator(out)  # (B, T, V)
    right = logp.gather(-1, batch.tgt_y.unsqueeze(-1)).squeeze(-1)  # (B, T): log p(right)
    return -right[batch.tgt_y != pad].sum()  # padded positions count nothing


loss = simple_loss(model, batch, tgt_vocab.pad) / batch.ntokens
print(f"untrained loss per token: {loss.item():.4f}   a blind guess, log V = {math.log(V):.4f}")
real = batch.tgt_y != tgt_vocab.pad  # (B, T)
probs = logp.exp()[real]  # (ntokens, V)
print(f"mean largest probability of a position: {probs.max(-1).values.mean().item():.4f}"
      f"   a blind guess: 1/V = {1 / V:.4f}")

# %% [markdown]
# Untrained, the model is worse than a blind guess. Its random weights make confident
# guesses: a position's top word gets about a third, not 1/V. A confident wrong guess leaves
# little for the right word, and -log p punishes that.
#
# The package's `loss_sum` is the sketch, hardened. Its criterion is `LabelSmoothing`, which
# with `smoothing=0.0` is exactly this cross-entropy. Its extras:
#
# - `precision.autocast()`: **mixed precision**, float16 on a GPU; with `fp32` it does
#   nothing;
# - `_unwrap`: reaches the model inside **DDP**, a wrapper that trains on several GPUs;
# - `from_logits`: takes the scores before the softmax, the **logits**, and applies the
#   log-softmax itself; the fast path fuses the two into one pass.

# %%
show(loss_sum)
criterion = LabelSmoothing(V, padding_idx=tgt_vocab.pad, smoothing=0.0)
fp32 = annotated.precision_for(device, "fp32")  # float32 throughout: no mixed precision
hardened = loss_sum(model, batch, criterion, fp32) / batch.ntokens
print(f"loss_sum with smoothing=0.0: {hardened.item():.4f}   the sketch: {loss.item():.4f}")
assert torch.isclose(hardened, loss)

# %% [markdown]
# ## Label smoothing
#
# Cross-entropy is smallest only at p = 1, a certain model. The paper (section 5.4) smooths
# the target instead, with epsilon = 0.1: "This hurts perplexity, as the model learns to be
# more unsure, but improves accuracy and BLEU score." BLEU, a translation score, is
# chapter 8's.
#
# The target becomes a distribution q. In the Annotated Transformer's variant, used here,
# the right word gets 1 - epsilon and the other V - 2 words share epsilon; `<pad>` gets 0,
# and a position whose target is `<pad>` gets an all-zero row. Szegedy et al., 2016, and
# PyTorch's `CrossEntropyLoss(label_smoothing=...)` spread epsilon over every word, the
# right one included.
#
# Three sums over the vocabulary compare q with the model's p:
#
# - cross-entropy, -Σ q log p: for a one-hot q, -log p of the right word;
# - the entropy of q, -Σ q log q: how spread q is, 0 if one-hot;
# - the KL divergence, Σ q (log q - log p) = cross-entropy - entropy: 0 when p = q.
#
# `LabelSmoothing` returns the KL. The model cannot change the entropy of q, so KL and
# cross-entropy have the same gradients; only the number differs.

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
# *Right: the model gives p to the right word and spreads 1 - p evenly over the other three.
# With epsilon = 0 the loss keeps falling until p = 1; with epsilon > 0 it is smallest at
# p = 1 - epsilon, and over-confidence costs.*

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
# Its log is -inf, and `torch.nn.KLDivLoss`, which the Annotated Transformer uses, then
# returns NaN. `LabelSmoothing` clamps log-probabilities at `LOG_TINY` instead; see
# docs/training.md.
# </details>
#
# ## Adam and the warm-up schedule
#
# The paper trains with Adam, betas 0.9 and 0.98, eps 1e-9. For each weight Adam keeps a
# running average of the gradient and of its square, and steps by the rate times the first
# over the square root of the second. The rate changes at every step:
#
# lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)
#
# For the first `warmup` steps the second term is smaller: the rate grows linearly. Then it
# decays like 1 / sqrt(step). The peak, at step = warmup, is factor / sqrt(d_model *
# warmup). The paper uses warmup = 4000 and factor 1.

# %%
show(rate)

# %%
_ = FIGURES["07_schedule"].make()

# %% [markdown]
# *A longer warm-up peaks later and lower; a smaller d_model lifts the whole curve.*
#
# Why warm up? At the first step Adam's averages come from one gradient, so every weight
# moves by the full rate, whatever its gradient:

# %%
w = torch.nn.Parameter(torch.zeros(5))
adam = torch.optim.Adam([w], lr=0.01, betas=(0.9, 0.98), eps=1e-9)
w.grad = torch.tensor([0.0001, 0.01, 1.0, 100.0, -3.0])  # gradients 10^6 apart in size
adam.step()
print("first Adam step moves each weight by:", w.detach())
assert torch.allclose(w.detach().abs(), torch.full((5,), 0.01))
print(f"steps the squared-gradient average spans, 1 / (1 - 0.98): {1 / (1 - 0.98):.0f}")

# %% [markdown]
# A gradient of 0.0001 and one of 100 give the same step. The squared-gradient average
# spans about 50 steps, so early on it rests on a few noisy batches. Liu et al. (2020) argue
# that this is why Adam needs a warm-up: small steps until its averages settle. It is a
# hypothesis; exercise 2 tests it.
#
# The copy task below trains for 400 steps with d_model 64, warm-up 100 and factor 0.3.
# Its whole schedule, beside the start of the paper's:

# %%
_ = draw_schedule(64, 100, 0.3, steps=400)
copy_peak, paper_peak = rate(100, 64, 0.3, 100), rate(4000, 512, 1.0, 4000)
print(f"copy run: peak {copy_peak:.5f} at step 100; paper: peak {paper_peak:.6f} at step 4000")
print(f"ratio {copy_peak / paper_peak:.2f} = warm-up sqrt(4000 / 100) = {math.sqrt(40):.2f}"
      f" x d_model sqrt(512 / 64) = {math.sqrt(8):.2f} x factor 0.3")

# %% [markdown]
# *The copy run peaks at step 100, 5.37 times the paper's peak, which comes at step 4000,
# off this plot: the short warm-up gives 6.32 times, the small d_model 2.83, the factor 0.3
# takes most back.* Move the sliders to try other settings.

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
# it is longer, so one bad batch cannot swamp Adam's averages: a cheap guard the paper does
# not mention.
#
# `make_optimizer` returns the pair (optimizer, scheduler). PyTorch's `LambdaLR` multiplies
# a base rate of 1.0 by `rate(s + 1)`: it counts steps from 0, the paper from 1.

# %%
show(make_optimizer)

# %% [markdown]
# The package's `train_step` is the six lines, hardened: a loop over `batches` adds up the
# gradients of several batches before one step, **gradient accumulation**, as if they were
# one big batch. `scaler` and `no_sync` serve mixed precision and DDP; docs/training.md
# explains both.

# %%
show(train_step)
twins = [copy.deepcopy(model) for _ in range(2)]
optims = [make_optimizer(m, model_size=32, factor=1.0, warmup=10) for m in twins]
# *optims[0] unpacks the pair: the optimizer and the scheduler as the last two arguments
simple_train_step(twins[0], batch, criterion, *optims[0])
# in float32 the scaler is switched off: its calls are plain backward() and step()
train_step(twins[1], [batch], criterion, *optims[1], fp32.grad_scaler(), fp32)
same = all(torch.allclose(a, b) for a, b in zip(twins[0].parameters(), twins[1].parameters(),
                                                strict=True))
print("six-line step and train_step give the same weights:", same)
assert same

# %% [markdown]
# ## The copy task
#
# The Annotated Transformer's first experiment: the source is a random sequence of 10
# symbols from 1 to 10, and the target is the same sequence. The model must learn to look,
# at each output position, at the matching source position.

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
# sublayer's output, and of the embeddings plus positional encodings, is set to 0 with that
# probability, and the rest are scaled up to keep the average. A model that cannot count on
# any single unit memorises less. `model.train()` turns dropout on, `model.eval()` off;
# `train` returns the model in eval mode.
#
# Here dropout is 0: the run draws fewer sequences than the training set holds, so it never
# sees one twice, and the held-out test checks the result. Every 25 steps `train` measures
# the validation loss and exact match, the share of 200 sequences decoded exactly right.

# %%
copy_model = {"N": 2, "d_model": 64, "d_ff": 128, "h": 4, "dropout": 0.0}
config = TrainConfig(steps=400, batch_size=64, warmup=100, factor=0.3, smoothing=0.1,
                     valid_every=25, valid_decode=200)
print(config)
print("sequences drawn:", config.steps * config.batch_size, "of", len(data.train))
print(f"a blind guess among the 10 symbols pays log 10 = {math.log(10):.2f}")
print("target positions per sequence, </s> included:", len(data.valid[0].tgt) + 1)
print(f"at 0.8 per symbol, all 11 are right with probability 0.8^11 = {0.8**11:.2f}")
if device.type == "cpu":
    torch.set_num_threads(1)  # tiny matrices: one thread is faster (docs/training.md)

# %% tags=["nbval-ignore-output"]
live = LiveHistory()  # redraws the loss curves below at each validation
result = train(data, config, model_config=copy_model, callback=live)
history = result.history
print(f"training loss (KL) at the last step: {history.loss[-1]:.4f}")
print("step  validation cross-entropy  exact match")
for s, vl, e in zip(history.valid_step, history.valid_loss, history.valid_exact, strict=True):
    print(f"{s:>4}  {vl:>24.3f}  {e:>11.2f}")

# %% [markdown]
# *Left, log scale: both losses fall by more than ten times. Right: exact match stays at 0
# while the validation cross-entropy is already far below a blind guess: a sequence counts
# only when all of its 11 symbols, `</s>` included, are right.*

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
# Every one of the 1,000 held-out sequences is copied exactly. Label smoothing left its
# mark, the "hurts perplexity" of the paper:

# %%
test_batch = make_batch([(e.src, e.tgt) for e in data.test], data.src_vocab,
                        data.tgt_vocab).to(device)
with torch.no_grad():
    logp = model.generator(model(test_batch.src, test_batch.tgt, test_batch.src_mask,
                                 test_batch.tgt_mask))  # (B, T, V)
p_right = logp.exp().gather(-1, test_batch.tgt_y.unsqueeze(-1))  # (B, T, 1)
cross_entropy = -p_right.log().mean().item()
print(f"mean probability of the right symbol: {p_right.mean().item():.3f}")
print(f"-log 0.9 = {-math.log(0.9):.3f}; 1 / 0.9 = {1 / 0.9:.3f}")
print(f"test perplexity: {math.exp(cross_entropy):.2f}")
assert abs(p_right.mean().item() - 0.9) < 0.02 and 1.05 < math.exp(cross_entropy) < 1.2

# %% [markdown]
# The model gives the right symbol about 0.9, as asked, so its perplexity stays near
# 1 / 0.9 = 1.11, not 1. That is also the gap between the loss curves, not
# overfitting: the training KL is 0 at an answer of 0.9, the validation cross-entropy
# -log 0.9 = 0.105.
#
# ## Greedy decoding
#
# At test time there is no target to read: the model reads its own output, as in the
# figure's right half. Greedy decoding encodes the source once, starts with `<s>`, and
# appends the most likely next symbol, one pass per symbol. At the article's size:

# %%
def simple_greedy(model, src, src_mask, max_len, bos):
    """Decode one source (1, S): the most likely next word, one decoder pass each."""
    memory = model.encode(src, src_mask)  # (1, S, D)
    ys = torch.tensor([[bos]], device=src.device)  # (1, 1): <s>
    for _ in range(max_len - 1):
        causal = subsequent_mask(ys.size(1)).to(src.device)  # (1, L, L)
        out = model.decode(memory, src_mask, ys, causal)  # (1, L, D): the whole prefix again
        next_word = model.generator(out[:, -1]).argmax(dim=-1)  # (1,): the best next word
        ys = torch.cat([ys, next_word.unsqueeze(1)], dim=1)  # (1, L + 1)
    return ys


# %% [markdown]
# The package's `greedy_decode` is the same, hardened. It decodes a batch: `done` marks
# the rows that have written `</s>`; they get `<pad>` from then on, and decoding stops when
# every row is done. `next_log_probs` with its cache `kv` reruns only the newest position
# each pass, chapter 8's subject; the answer is the same.

# %%
show(greedy_decode)
src_vocab, tgt_vocab = data.src_vocab, data.tgt_vocab
examples = data.test[:4]
src = pad_sequences([src_vocab.encode(e.src) for e in examples], src_vocab.pad).to(device)
src_mask = padding_mask(src, src_vocab.pad)  # (B, 1, S)
ys = greedy_decode(model, src, src_mask, max_len=result.max_len, start_symbol=tgt_vocab.bos,
                   end_symbol=tgt_vocab.eos)  # (B, L)
print("src", tuple(src.shape), "(B, S) -> output", tuple(ys.shape), "(B, L)")
for e, row in zip(examples, ys.tolist(), strict=True):
    written = tgt_vocab.decode(row)
    print(f"{' '.join(e.src):<22} -> {' '.join(written)}")
    assert tuple(written) == e.tgt
sketch = simple_greedy(model, src[:1], src_mask[:1], ys.size(1), tgt_vocab.bos)  # (1, L)
print("the sketch writes the same ids:", torch.equal(sketch, ys[:1]))
assert torch.equal(sketch, ys[:1])

# %% [markdown]
# Training took one pass for all 11 target positions; decoding takes one per symbol.
#
# ### What the model learned to look at
#
# `record_attention` runs one pair through the model and keeps every attention weight.
# Below, the last layer's cross-attention: a row per target position, labelled "reads →
# writes", a column per source symbol.

# %%
src, tgt = test_batch.src[:1], test_batch.tgt[:1]  # one test pair: (1, S) and (1, T)
src_words = src_vocab.decode(src[0].tolist())
read = [tgt_vocab.itos[t] for t in tgt[0].tolist()]
written = [tgt_vocab.itos[t] for t in test_batch.tgt_y[0].tolist()]
maps = record_attention(model, src, tgt, src_words, read, test_batch.src_mask[:1],
                        written=written)
cross = maps.cross  # (N, H, T, S)
print("source:", " ".join(src_words))
print("cross-attention weights:", tuple(cross.shape), "(N, H, T, S)")
N, H, T, S = cross.shape
# Row t writes source symbol t; the last row writes </s>, which has no source position.
looks = cross[-1, :, :S].argmax(dim=-1)  # (H, S): where each row looks hardest
share = (looks == torch.arange(S)).float().mean(dim=-1)  # (H,)
for h in range(H):
    print(f"head {h}: looks hardest at the symbol it writes for {share[h]:.0%} of the rows")
assert share.max() >= 0.9

# %%
_ = draw_attention(maps, "cross", layer=-1, arrows=True)

# %% [markdown]
# *Most heads of the last layer draw a bright diagonal: to write the symbol at source
# position t, they look at position t. They learned the alignment from examples.* Where a
# symbol repeats, as 7 7 7 here, weight spreads over its copies: any copy holds the right
# symbol.
#
# ## Recap
#
# - Teacher forcing trains all T positions in one pass; the causal mask keeps each honest.
# - Cross-entropy is -log p of the right word; a blind guess pays log V.
# - Label smoothing makes the loss smallest at p = 1 - epsilon: perplexity stays near 1.11.
# - The rate warms up, peaks at step = warmup, then decays like 1 / sqrt(step).
# - Greedy decoding writes one symbol per pass; a cross-attention head learned the diagonal.
#
# ## Your turn
#
# Both exercises break one part of training and ask you to predict the damage.
# `break_it_run` trains a tiny copy model for 150 steps on sequences of 5 symbols drawn
# from 10, with plain cross-entropy. The baseline keeps the causal mask and a 50-step
# warm-up.

# %%
show(break_it_run)
print(f"a blind guess among the 10 symbols pays log 10 = {math.log(10):.2f}")
print(f"baseline peak rate(50, 64, 1.0, 50) = {rate(50, 64, 1.0, 50):.4f}; "
      f"with warmup=1: {rate(1, 64, 1.0, 1):.4f}")

# %% [markdown]
# **1. Break it: turn off the causal mask.** With `causal=False` the decoder's mask hides
# only pads: position t may read all of `tgt`, the future included. Against the baseline,
# will the training loss be lower, the same or higher? And the held-out exact match?
# Predict; open the hints one at a time if you need them.
#
# <details><summary>Hint 1: the idea</summary>
#
# Which word sits in `tgt` just after position t, and what must position t predict?
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Print `batch.tgt[0]` and `batch.tgt_y[0]` from the teacher-forcing section, one above the
# other. Then ask what greedy decoding has to read at its last position.
# </details>

# %%
from annotated.exercises import check_no_mask_prediction, check_no_warmup_prediction  # noqa: E402

prediction = {"loss": ..., "exact match": ...}  # each "lower", "same" or "higher"
check_no_mask_prediction(prediction)

# %% [markdown]
# **2. Break it: drop the ramp, keep the peak.** `ramp=False` holds the peak rate for the
# 50 warm-up steps, then decays like the baseline: only the first 50 steps differ.
# `warmup=1` would also raise the peak 7 times, printed above: two changes at once. Predict
# the training loss and the exact match.
#
# <details><summary>Hint 1: the idea</summary>
#
# Recall the first Adam step above: how far does each weight move, whatever its gradient?
# What is the rate at step 1 in each run?
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# `rate(1, 64, 1.0, 50)` is the baseline's rate at step 1; compare it with its peak.
# </details>

# %%
prediction = {"loss": ..., "exact match": ...}  # each "lower", "same" or "higher"
check_no_warmup_prediction(prediction)

# %% [markdown]
# Stuck? `annotated.exercises.solutions.solution(name)` gives the answer for either grader.
#
# ### The runs, once you have predicted
#
# The ramp gets two seeds: one run could be luck.

# %%
runs = {"baseline": break_it_run(), "no causal mask": break_it_run(causal=False),
        "no ramp": break_it_run(ramp=False), "baseline, seed 1": break_it_run(seed=1),
        "no ramp, seed 1": break_it_run(ramp=False, seed=1)}
for name, run in runs.items():
    last10 = sum(run["loss"][-10:]) / 10  # one batch is noisy: average the last 10 steps
    print(f"{name:<17} rate at step 1 {run['lr'][0]:.4f}, at step 100 {run['lr'][99]:.4f};"
          f" training loss {last10:.2f}, held-out exact match {run['exact']:.2f}")

# %% [markdown]
# Without the mask, each position reads its answer one step to the right, so the loss
# falls lower. Decoding never shows it the next word: it copies nothing right.
#
# Without the ramp, the loss stays far above the baseline's on both seeds, though the
# schedules agree after step 50. That fits Liu et al.'s
# explanation, full-size steps before Adam's averages settle. But the flat start also moves
# twice as far in those steps, and one tiny model cannot tell the two apart.
#
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
# - Williams and Zipser, [A Learning Algorithm for Continually Running Fully Recurrent Neural
#   Networks](https://doi.org/10.1162/neco.1989.1.2.270), 1989, introduced teacher forcing;
#   Bengio et al., [Scheduled Sampling](https://arxiv.org/abs/1506.03099), 2015, on the gap
#   it leaves between training and decoding.
# - Srivastava et al., [Dropout](https://jmlr.org/papers/v15/srivastava14a.html), 2014.

# %% [markdown]
# # Before you start: a PyTorch primer
#
# The chapters build a Transformer in PyTorch and assume a handful of its tools. This primer
# teaches those tools once, on small examples you can check by hand. By the end you will be
# able to:
#
# - read a tensor's shape and predict the shape of a product, a slice or a sum;
# - reshape a batch into attention heads and back, as chapter 4 does;
# - build a model from `nn.Linear` layers and say what its weights mean;
# - train two parameters by gradient descent, first by hand and then with `torch.optim`;
# - switch a model between training and evaluation, and move it to a GPU.
#
# Shape letters, used in every chapter: B batch, S sequence length, D the length of one
# word's vector, H heads.

# %%
import torch
from torch import nn

import annotated
from annotated import show
from annotated.examples import LINE_START, LINE_X, LINE_Y, line_loss
from annotated.viz.figures import FIGURES
from annotated.viz.draw import draw_rates
from annotated.viz.measure import best_line, descent_path
from annotated.viz.widgets import descent_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## 1. Tensors and shapes
#
# A **tensor** is a grid of numbers with a shape. A Transformer reads a batch of sentences:
# each sentence is a list of words, and each word is a vector of D numbers. Two sentences of
# three words with D = 4 make a tensor of shape `(B, S, D) = (2, 3, 4)`.

# %%
x = torch.arange(24.0).reshape(2, 3, 4)  # (B, S, D)
print(x.shape, x.dtype)
print(x[0])  # the first sentence: (S, D)

# %% [markdown]
# The **dtype** is the kind of number stored: `float32`, a decimal number in 32 bits, the
# default for weights.
#
# The shape is the first thing to check in every line of model code. `(S, D) @ (D, E)` gives
# `(S, E)`, for any output length E: the inner sizes must agree and disappear. With more axes
# in front, `@` works on the last two and keeps the rest; a 2-D matrix is reused for every
# sentence, by broadcasting, which section 3 explains.

# %%
W = torch.ones(4, 5)  # (D, E)
print((x[0] @ W).shape)  # (S, D) @ (D, E) -> (S, E)
print((x @ W).shape)  # (B, S, D) @ (D, E) -> (B, S, E): one product per sentence

# %% [markdown]
# ## 2. Indexing
#
# Square brackets pick parts of a tensor, one position per axis. A colon keeps a whole axis,
# a negative number counts from the end, and `...` stands for "all the axes in between".

# %%
print(x[0, 1])  # sentence 0, word 1: a vector of D numbers
print(x[:, -1].shape)  # the last word of every sentence: (B, D)
print(x[..., 0].shape)  # the first number of every word: (B, S)
print(x[x > 20])  # a True/False tensor as the index keeps the matching entries

# %% [markdown]
# ## 3. Broadcasting
#
# **Broadcasting** is how PyTorch combines tensors of different shapes without copying them.
# Adding a bias of D numbers to every word of every sentence needs no loop:

# %%
bias = torch.tensor([100.0, 200.0, 300.0, 400.0])  # (D,)
print((x + bias).shape)  # (B, S, D) + (D,) -> (B, S, D)
print((x + bias)[1, 2])  # word 2 of sentence 1 got the same bias as every other word

# %% [markdown]
# The rule: write the two shapes one above the other, lined up on the **right**. A shape with
# fewer axes gets sizes of 1 added on its left. At each position the sizes must be equal, or
# one of them must be 1; a 1 is stretched to the other size.

# %%
_ = FIGURES["A1_broadcasting"].make()

# %% [markdown]
# *A `(3, 1)` column plus a `(1, 4)` row gives a `(3, 4)` grid: each size 1 is stretched, and
# the faded copies are never stored.*
#
# The masks of chapter 5 rely on exactly this stretch. When the sizes do not match, PyTorch
# refuses, and the message names the axis. It counts axes from 0, so "dimension 2" is the
# third axis:

# %%
try:
    torch.zeros(2, 3, 4) + torch.zeros(2, 3)  # lined up on the right: 4 against 3
except RuntimeError as e:
    print(e)

# %% [markdown]
# ## 4. view, reshape and transpose
#
# `view` reads the same numbers with a new shape; nothing is copied. `transpose` swaps two
# axes. Together they split each word's vector into H heads, the move at the heart of
# chapter 4: `(B, S, D)` becomes `(B, S, H, D/H)`, then the head axis moves forward.

# %%
B, S, D, H = 2, 3, 4, 2
heads = x.view(B, S, H, D // H).transpose(1, 2)  # (B, H, S, D/H)
print(heads.shape)
print(heads[0, 1])  # head 1 of sentence 0: the last two numbers of each word
print("strides: x", x.stride(), " heads", heads.stride())
print("contiguous: x", x.is_contiguous(), " heads", heads.is_contiguous())

# %% [markdown]
# Neither line moved a number. Memory holds a tensor's numbers in one long row. Its
# **strides** say how far to jump along that row for one step on each axis: for x, 12 to the
# next sentence, 4 to the next word, 1 to the next number. `transpose` only swaps two
# strides: the same numbers, read in another order.
#
# A tensor is **contiguous** when reading it in order walks its memory in order: x is, heads
# is not. `view` only relabels memory, so it needs a contiguous tensor; `.contiguous()`
# copies the numbers into their new reading order.
#
# Attention's output is a fresh, contiguous `(B, H, S, D/H)` tensor, made here with
# `.contiguous()`. Merging the heads moves the head axis behind S again, which breaks the
# reading order, so `view` refuses. Chapter 4 calls `.contiguous()` first; `reshape` does the
# same and copies only when it must:

# %%
per_head = heads.contiguous()  # a fresh copy in reading order, like attention's output
try:
    per_head.transpose(1, 2).view(B, S, D)
except RuntimeError as e:
    print(str(e).split(" (")[0])
merged = per_head.transpose(1, 2).reshape(B, S, D)  # (B, S, D) again
assert torch.equal(merged, x)
assert torch.equal(per_head.transpose(1, 2).contiguous().view(B, S, D), x)
print(merged.shape, "equal to x:", torch.equal(merged, x))

# %% [markdown]
# ## 5. nn.Module and nn.Linear
#
# A model is an `nn.Module`: a class that creates its layers in `__init__` and says how data
# flows through them in `forward`. Calling `model(x)` runs `forward`. The workhorse layer is
# `nn.Linear(in, out)`: a learned matrix and a learned bias that turn vectors of `in` numbers
# into vectors of `out` numbers.

# %%
linear = nn.Linear(4, 3)  # in = 4, out = 3
print(linear.weight.shape, linear.bias.shape)
print(linear(x).shape)  # (B, S, 4) -> (B, S, 3)

# %% [markdown]
# Note the weight's shape: `(out, in)`, not `(in, out)`. Each **row** of the weight makes one
# output number: that row times the input vector, summed, plus that row's bias. One output,
# worked by hand:

# %%
by_hand = (linear.weight[0] * x[0, 0]).sum() + linear.bias[0]  # output 0 of word 0
from_layer = linear(x)[0, 0, 0]
assert torch.allclose(by_hand, from_layer)
print(f"by hand {by_hand.item():.4f}, nn.Linear {from_layer.item():.4f}")

# %% [markdown]
# A small model of two layers with a ReLU between them. The ReLU sets negative numbers to
# zero. Without something like it, two linear layers would collapse into one:
# W2(W1x + b1) + b2 = (W2W1)x + (W2b1 + b2), a single matrix and a single bias.
#
# Every learned tensor is a **parameter**, listed by name:

# %%
class TwoLayers(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int):
        super().__init__()  # lets nn.Module keep track of the layers below
        self.first = nn.Linear(d_in, d_hidden)
        self.second = nn.Linear(d_hidden, d_out)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


model = TwoLayers(4, 8, 2)
for name, p in model.named_parameters():
    print(f"{name:14} {tuple(p.shape)}")
print("parameters:", sum(p.numel() for p in model.parameters()))
print(model(x).shape)  # (B, S, 2)

# %% [markdown]
# 4·8 + 8 + 8·2 + 2 = 58, as printed. Chapter 6 counts the Transformer's parameters the same
# way.
#
# ## 6. Autograd: from a loss to gradients
#
# Training needs to know, for each parameter, which way to nudge it to make the error smaller.
# The error is one number, the **loss**. Its derivative with respect to a parameter is that
# parameter's **gradient**. **Autograd** computes every gradient for us. A tensor created
# with `requires_grad=True` records each operation done with it, and `loss.backward()` walks
# that record backwards, storing each gradient in the tensor's `.grad`.
#
# One parameter first, small enough to check by hand. With loss = (2w - 4)² at w = 3, the
# derivative is 2·(2w - 4)·2 = 8.

# %%
w = torch.tensor(3.0, requires_grad=True)
loss = (2 * w - 4) ** 2
loss.backward()
print("loss", loss.item(), "gradient", w.grad.item())

# %% [markdown]
# ## 7. One optimizer step, by hand and with torch.optim
#
# Now a problem with two parameters: find the line y = w·x + b closest to four points. The
# loss is the mean squared distance between the line and the points.

# %%
xs, ys = torch.tensor(LINE_X), torch.tensor(LINE_Y)
print("x:", xs)
print("y:", ys)
show(line_loss)

# %% [markdown]
# The loss uses broadcasting. `w.unsqueeze(-1)` adds a size-1 axis at the end, so each w
# meets all four points of x, and `.mean(-1)` averages over that last axis, the points. Give
# it several values of w and b and it scores every line at once. Two lines, two losses:

# %%
print(line_loss(torch.tensor([-1.0, 2.0]), torch.tensor([-2.0, 1.0])))  # (2,): one per line

# %% [markdown]
# The start (w, b) = (-1, -2) is far off; the line y = 2x + 1 is close.
#
# A **step of gradient descent** moves each parameter a little against its gradient: the new
# value is the old one minus lr times the gradient. The **learning rate** lr sets the step's
# length. By hand, from the start:

# %%
lr = 0.1
w = torch.tensor(LINE_START[0], requires_grad=True)
b = torch.tensor(LINE_START[1], requires_grad=True)
loss = line_loss(w, b)
loss.backward()
with torch.no_grad():  # the update itself is not part of the model: do not record it
    w -= lr * w.grad
    b -= lr * b.grad
print(f"loss before {loss.item():.4f}, after {line_loss(w, b).item():.4f}")
print(f"w = {w.item():.4f}, b = {b.item():.4f}")

# %% [markdown]
# The loss fell from 67.7 to 2.2 in one step. An **optimizer** does the same update for all
# of a model's parameters. Every PyTorch training loop repeats the same four calls:
# forget the old gradients, compute the loss, backward, step.

# %%
params = torch.tensor(LINE_START, requires_grad=True)  # (2,): w and b together
optimizer = torch.optim.SGD([params], lr=0.1)
for step in range(3):
    optimizer.zero_grad()  # gradients add up otherwise
    loss = line_loss(params[0], params[1])
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.4f}  ->  w = {params[0].item():.4f}, "
          f"b = {params[1].item():.4f}")

# %% [markdown]
# Step 0 lands on the same w and b as the update by hand: `torch.optim.SGD` is that update,
# applied to every parameter it was given.
#
# A real model's step adds two calls. Clipping caps the gradients' total size, so one bad
# batch cannot throw the weights. A **scheduler** sets lr for the next step. The plain
# step, on a new model of section 5's kind:

# %%
def plain_train_step(model, inputs, targets, loss_fn, optimizer, scheduler, clip=1.0):
    loss = loss_fn(model(inputs), targets)  # the loss
    loss.backward()  # the gradients
    nn.utils.clip_grad_norm_(model.parameters(), clip)  # cap their total size
    optimizer.step()  # the update
    optimizer.zero_grad()  # forget the gradients before the next backward
    scheduler.step()  # lr for the next step
    return loss.item()


net = TwoLayers(4, 8, 2)
optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # lr kept as is
targets = torch.ones(B, S, 2)
for step in range(3):
    loss = plain_train_step(net, x, targets, nn.functional.mse_loss, optimizer, scheduler)
    print(f"step {step}: loss {loss:.4f}")

# %% [markdown]
# Here `zero_grad` comes last; above it came first. Either works if it runs once per step,
# between one `backward` and the next.
#
# The course's own step is the same calls, hardened: `loss_sum(...) / ntokens` is the loss,
# `scaler.scale(loss).backward()` is backward, `clip_grad_norm_` clips,
# `scaler.step(optimizer)` is the update, then come `zero_grad` and `scheduler.step()`.

# %%
show(annotated.training.train_step)

# %% [markdown]
# Skip the rest for now. Chapter 7 teaches `Batch`, sentences with their masks, and
# `LabelSmoothing`, its loss, and names the others. `Precision` and the gradient scaler guard
# 16-bit numbers. The loop sums several micro-batches into one step, hence the division by
# `ntokens`, the target words of all of them. `no_sync` serves the multi-GPU wrapper.
#
# Thirty steps with lr = 0.2 trace a path over the loss, drawn as contour lines like a hiking
# map. No line passes through all four points, so even the best keeps a small loss:

# %%
print(f"lowest possible loss: {line_loss(*best_line()).item():.4f}")
_ = FIGURES["A1_descent"].make()

# %% [markdown]
# *The path zig-zags across the narrow valley while it creeps along it: each step goes
# straight downhill, which is mostly across. The loss levels off at the lowest possible,
# 0.0045, the dashed line. Darker shading means higher loss.*
#
# Predict first: at lr = 0.25, will the loss fall faster, or not at all? And at 0.05? Then
# run:

# %%
_ = draw_rates((0.05, 0.25), steps=12)

# %% [markdown]
# *The small rate heads down the steep wall, then creeps along the gentle floor. The larger
# one jumps across the valley, lands higher on the other wall each time, and the loss grows.*
#
# Now move the sliders to try rates between these two.

# %% tags=["nbval-ignore-output"]
descent_explorer()

# %% [markdown]
# ## 8. Training mode and evaluation mode
#
# Some layers behave differently while training. **Dropout** sets a random share of the
# numbers to zero during training, so the model cannot lean on any single one, and scales
# the rest up to keep the average. At evaluation it does nothing. `model.train()` and
# `model.eval()` switch every layer of a model at once.

# %%
dropout = nn.Dropout(p=0.5)
ones = torch.ones(8)
dropout.train()
print("train:", dropout(ones))
dropout.eval()
print("eval: ", dropout(ones))

# %% [markdown]
# The Transformer uses dropout in many places: forget `eval()` and its translations change
# from run to run, usually for the worse. `evaluating` switches a model to evaluation for a
# block, and back afterwards:

# %%
show(annotated.evaluating)

# %% [markdown]
# Pair it with `torch.no_grad()` while evaluating: nothing is recorded for `backward`, which
# saves memory.

# %%
with annotated.evaluating(model), torch.no_grad():
    print("inside, training mode:", model.training)
    print(model(x)[0])  # sentence 0: (S, 2)
print("after, training mode:", model.training)

# %% [markdown]
# ## 9. Devices
#
# A tensor lives on a **device**: the CPU, or a GPU's own memory. Operations need all their
# tensors on the same device. `annotated.default_device()` picks a GPU when there is one and
# the CPU otherwise. `.to(device)` moves a tensor, or every parameter of a model.

# %%
model = model.to(device)
inputs = x.to(device)
print(model(inputs).shape)
print("same device:", next(model.parameters()).device == inputs.device)

# %% [markdown]
# The package's choice, shown in full:

# %%
show(annotated.default_device)

# %% [markdown]
# <details><summary>Under the hood: how default_device chooses</summary>
#
# It prefers CUDA, which is NVIDIA's GPU, then MPS, which is the GPU of Apple's own chips,
# then the CPU. You can ask for one by name, for example `default_device("cpu")`; a name that
# is not available raises a clear error. `torch.cuda.is_available()` tells whether PyTorch
# sees an NVIDIA GPU at all.
# </details>

# %% [markdown]
# ## Recap
#
# - Shapes first: `(S, D) @ (D, E)` gives `(S, E)`; broadcasting lines shapes up on the right
#   and stretches sizes of 1.
# - `view` and `transpose` split vectors into heads; `reshape` merges them back.
# - `nn.Linear(in, out)` stores its weight as `(out, in)`.
# - Training is four calls: `zero_grad`, loss, `backward`, `step`.
# - `eval()` before evaluating, `.to(device)` for speed.
#
# ## Your turn
#
# **Exercise 1: predict, then run.** For each pair of shapes, write the shape of their sum,
# or `None` if PyTorch refuses. Commit to your answers before you run anything.

# %%
from annotated.exercises import check_broadcast  # noqa: E402

# the pairs: (5, 4) with (5,); (6,) with (6, 1); (4, 1, 3) with (2, 3); (3, 1, 5) with (4, 1)
predictions = [..., ..., ..., ...]
check_broadcast(predictions)

# %% [markdown]
# **Exercise 2: discover.** Find the largest learning rate for which the loss after 200
# steps of gradient descent is below the starting loss. Two decimals are enough, and a rate
# up to 10% below the limit counts. Use the sliders or `descent_path(lr, steps)`, which
# returns the path's w, b and loss lists. Then think: why does the narrow valley force a
# small rate, even along its gentle direction?

# %%
from annotated.exercises import check_largest_rate  # noqa: E402

largest_lr = ...
check_largest_rate(largest_lr)

# %% [markdown]
# <details><summary>After you have thought: why the narrow valley forces a small rate</summary>
#
# One lr is shared by both directions. Across the valley the walls are steep, so a long step
# overshoots to a higher point on the other wall, further each time. The steep direction sets
# the limit, and along the gentle floor the same small rate can only creep.
# </details>

# %% [markdown]
# **Exercise 3: nn.Linear by hand.** Write `my_linear(x, weight, bias)` that returns what an
# `nn.Linear` with this weight and bias returns, for x of any number of leading axes. One
# line is enough, and the weight's stored shape is the whole puzzle.

# %%
from annotated.exercises import check_linear  # noqa: E402


def my_linear(x, weight, bias):
    ...


check_linear(my_linear)

# %% [markdown]
# Stuck after trying? After `from annotated.exercises.solutions import solution`, run
# `show(solution("check_linear"))` for a worked answer. `solution("check_broadcast")` and
# `solution("check_largest_rate")` return the other two.
#
# ## Further reading
#
# - [Attention Is All You Need](https://arxiv.org/abs/1706.03762), the paper the course
#   builds: its section 5, Training, runs the same loop with the Adam optimizer.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/): the
#   paper as runnable PyTorch, using every tool of this primer.
# - [PyTorch: Learn the Basics](https://pytorch.org/tutorials/beginner/basics/intro.html) and
#   [Broadcasting semantics](https://pytorch.org/docs/stable/notes/broadcasting.html): the
#   official tour and the exact broadcasting rule.
# - [micrograd](https://github.com/karpathy/micrograd) by Andrej Karpathy: autograd written
#   in about a hundred lines, to see that `backward` holds no magic.
# - [Adam](https://arxiv.org/abs/1412.6980), what plain gradient descent grew into: a step
#   per parameter, scaled by the gradient's recent size. Chapter 7 trains with it.

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 0: Where we are going
#
# This course builds the Transformer of "Attention Is All You Need" (Vaswani et al., 2017)
# from scratch in PyTorch, one idea per chapter, following the examples of François
# Porcher's article "The A-Z of Transformers: Everything You Need to Know". First, let us
# watch a finished one work. By the end of this chapter you will be able to:
#
# - run a small trained Transformer that ships with the course;
# - read a cross-attention heatmap;
# - tell the story from recurrent translation, through Bahdanau's attention, to attention only;
# - name the three parts of the model and the tensor shapes between them.
#
# **Before you start.** If tensors, `shape` and `@` are new to you, read
# [the PyTorch primer](A1_pytorch_primer.ipynb) first.
#
# Shapes use the same letters in every chapter: B batch; S source length; T target length;
# D = d_model, the width of every vector; H heads; V vocabulary size.

# %%
import torch

import annotated
from annotated import count_parameters, pretrained, show
from annotated.metrics import evaluate
from annotated.registry import make_data
from annotated.tasks import number_words
from annotated.viz.draw import DEMO_NUMBER
from annotated.viz.figures import FIGURES
from annotated.viz.measure import (
    forced_attention,
    number_batch,
    strongest_reads,
    untrained_twin,
)
from annotated.viz.widgets import demo_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=3, sci_mode=False)
device = annotated.default_device()  # a GPU when there is one; same answers up to rounding

# %% [markdown]
# ## 1. A demo: a Transformer that reads numbers
#
# The package ships one trained model. It reads a number written in German words
# (`einundzwanzig`) or Japanese (`二十一`) and writes it in English (`twenty-one`). The task
# is small, but it has what makes translation hard: German says "one-and-twenty", so the
# order of the parts changes, and Japanese counts in ten-thousands: 万 means 10,000, so
# 三十五万 is 35 x 10,000 = 350,000. Nobody wrote rules for this. The model learned from
# examples made by the `num2words` library.
#
# A model's **parameters** are the numbers it learned; chapters 1 to 6 explain the rest.

# %%
translator = pretrained.load("numbers", device=device)
config = translator.state["model_config"]
print("parameters:", f"{count_parameters(translator.model):,};",
      f"d_model D = {config['d_model']}, {config['N']} encoder and {config['N']} decoder layers,",
      f"{config['h']} heads")
settings = translator.state["task_settings"]
print("trained on", f"{settings['n_train']:,}", "drawn numbers, each in", settings["langs"])

# %% [markdown]
# A few numbers, checked against `num2words`' English:

# %%
numbers = [21, 97, 2026, 354_782, 999_999]
sources = [number_words(n, lang) for lang in ("de", "ja") for n in numbers]
answers = translator.translate(sources)
for n, src, out in zip(numbers * 2, sources, answers, strict=True):
    mark = "ok" if out == number_words(n, "en") else "WRONG"
    print(f"{src:>62} -> {out}  [{mark}]")
assert answers == [number_words(n, "en") for n in numbers] * 2

# %% [markdown]
# Ten out of ten. Is that luck? The training data comes from a fixed random seed, so we can
# make it again. Each of the 60,000 drawn numbers appears in German and in Japanese; short
# numbers, being few, are drawn more than once. The **test split** shares no number with
# training, so the model never saw these. We translate 400, half German, half Japanese.

# %%
data = make_data("numbers", **settings)  # the same seed and settings as training: same data
seen = {e.tgt for e in data.train}  # the English names the number, in either language
assert len(data.train) == 2 * settings["n_train"]  # German and Japanese for each draw
assert not any(e.tgt in seen for e in data.test)  # no test number was trained on
print(f"{len(data.train):,} training examples of {len(seen):,} different numbers; "
      f"{len(data.test):,} test examples, no number in both")

sample = data.test[:400]
scores = evaluate(translator.model, sample, translator.src_vocab, translator.tgt_vocab,
                  translator.task, max_len=translator.max_len)
for group, score in scores.items():
    print(f"{group:>3}: {score.n} numbers, exact match {score.exact:.1%}")
assert scores["all"].exact >= 0.99

# %% [markdown]
# Almost perfect. A mistake teaches more than a success; here is the one it made:

# %%
wrong = [(e, out) for e, out in zip(
    sample, translator.translate([translator.task.source_text(e.src) for e in sample]),
    strict=True) if out != translator.task.target_text(e.tgt)]
for e, out in wrong:
    print(f"{translator.task.source_text(e.src)} -> {out!r}, "
          f"should be {translator.task.target_text(e.tgt)!r}")
assert len(wrong) == round((1 - scores["all"].exact) * len(sample))
print(f"{10_176:,} in Japanese: {number_words(10_176, 'ja')}; "
      f"{17_176:,} in Japanese: {number_words(17_176, 'ja')}")
assert [out for _, out in wrong] == [number_words(17_176, "en")]

# %% [markdown]
# 一万百七十六 is 一万, 10,000, then 百七十六, 176: 10,176, with no 千, thousands, part. The
# model wrote 17,176, 一万七千百七十六: it filled the empty thousands place with a 7.
#
# Try your own: change `my_number`, anything from 0 to 999,999, and run the cell.

# %%
my_number = 4711
german = number_words(my_number, "de")
japanese = number_words(my_number, "ja")
print(german, "->", translator.translate([german])[0])
print(japanese, "->", translator.translate([japanese])[0])
print("num2words says:", number_words(my_number, "en"))

# %% [markdown]
# ## 2. Where did the model look?
#
# The model reads **tokens**, the pieces the text is cut into: German into meaningful parts,
# `drei|hundert|vier|und|...`, Japanese into characters, English into words, hyphens and
# commas, ending with `</s>`, "done".
#
# While writing each English token, the decoder **attends** to the source: it gives every
# German token a weight, and one English token's weights add up to 1. Read a weight as
# "how much the model looked at this piece while writing this word". This is
# **cross-attention**, from the output to the input; chapter 3 computes it. For 354,782:

# %%
_ = FIGURES["00_cross_attention"].make()

# %% [markdown]
# *Follow the bright cells down the rows: "fifty" reads "fünfzig" and "four" reads "vier", so
# the path crosses where German says the ones before the tens.*
#
# Each row is one English token, the **query** that asks; each column one German token, the
# **key** looked at. The picture averages the model's 4 attention **heads**, chapter 4.
# Nobody taught it which tokens belong together: training found this alignment.
#
# Below are each row's two largest weights. "hundert" appears twice, so each token comes
# with its position, counted from 0: `'hundert'@1` is drei-hundert's.

# %%
att = translator.attention(number_words(DEMO_NUMBER, "de"))
print("source tokens S =", len(att.source), "| written tokens T =", len(att.written),
      "| cross-attention (layers, heads, T, S) =", tuple(att.cross.shape))
weights = att.cross[-1].mean(0)  # the last layer, heads averaged: (T, S)
top = weights.topk(2, dim=-1)  # the two largest weights of each row, and their columns
for english, (w1, w2), (j1, j2) in zip(att.written, top.values.tolist(),
                                       top.indices.tolist(), strict=True):
    first, second = f"'{att.source[j1]}'@{j1}", f"'{att.source[j2]}'@{j2}"
    print(f"{english:>9} looked hardest at {first:14} {w1:.2f}, then {second:14} {w2:.2f}")
reads = strongest_reads(att, layer=-1)  # the package's reader: the top token of each row
digit_words = {0: "drei", 3: "fünfzig", 5: "vier", 8: "sieben", 11: "achtzig", 13: "zwei"}
for i, german in digit_words.items():  # three, fifty, four, seven, eighty, two
    assert reads[i][1] == german, reads[i]

# %% [markdown]
# Every digit word reads its German partner. Why are most weights 0.25, 0.50, 0.75 or 1.00?
# Look at the 4 heads one at a time:

# %%
heads = att.cross[-1]  # (heads, T, S): one map per head, before averaging
sure = heads.max(dim=-1).values > 0.99  # True where a head put almost all on one token
print(f"{int(sure.sum())} of {sure.numel()} head rows put over 0.99 of their weight on one token")

# %% [markdown]
# Most heads choose one token, and the picture averages 4 heads, so weights move in steps of
# a quarter: 0.75 means three of the four heads chose this token.
#
# Some rows spread their weight: "and", the hyphen, the comma, the second "hundred". That one
# gives 0.27 to the *first* `'hundert'@1` and 0.25 to `'zwei'@8`: a near-tie, not an
# alignment.
#
# Now you choose a number and a layer. Try 74, 21 or 100,000: which words cross? Then switch
# `weights` to `untrained`, the same model with random weights. It would write nonsense, so
# we feed it the correct English and watch where it looks: thinly everywhere, as the largest
# weights below show. Training made the alignment. Widgets need a running kernel.

# %%
untrained = forced_attention(untrained_twin(translator), DEMO_NUMBER)
for name, maps in (("trained", att), ("untrained", untrained)):
    print(f"{name:>9}: largest weight in the last layer {maps.cross[-1].mean(0).max():.2f}")

# %% tags=["nbval-ignore-output"]
demo_explorer(translator)

# %% [markdown]
# ## 3. A little history: from one vector to attention
#
# In 2014 neural translation took off with the **encoder-decoder** built from recurrent
# networks, RNNs (Sutskever, Vinyals & Le; Cho et al.). The encoder reads the source one word
# per step and updates one vector, its **state**. The decoder writes from the final state
# alone, and long sentences do not fit in one vector.
#
# Bahdanau, Cho and Bengio, translating English into French, kept *all* the encoder's states
# h_1 ... h_S. Before writing each word, the decoder scores every h_j against its own state
# s with the **additive score** score(s, h_j) = v^T tanh(W s + U h_j), where W, U and v are
# learned. W s + U h_j mixes the two states, tanh squashes the result, and the row vector
# v^T turns it into one number per source word. A softmax turns the scores into weights that
# sum to 1, and the decoder reads the weighted sum of the states. That is attention:

# %%
_ = FIGURES["00_rnn_vs_transformer"].make()

# %% [markdown]
# *The thick line: while writing "économique" the decoder weighs h_3, "Economic", most
# (0.70, a made-up weight).*
#
# This figure goes from English to French, as Bahdanau did; section 2 from German to
# English, the architecture figure below from English to German. What the decoder can look
# at grows from one vector to one per source token:

# %%
for n in (21, 354_782):
    pieces = translator.task.source_tokens(number_words(n, "de"))
    S, D = len(pieces), config["d_model"]
    print(f"{n:>7,}: S = {S:2d} tokens; an RNN's final state is (1, {D}) "
          f"= {D} numbers, attention keeps (1, {S}, {D}) = {S * D:,}")

# %% [markdown]
# An RNN's step j waits for step j - 1, so S words take S steps in a row. In 2017 a team at
# Google asked: what if attention is all we keep? Each Transformer layer looks at all
# positions at once, so the encoder takes one step per layer. The decoder still writes one
# token at a time.
#
# There are prices. Attention alone does not know the word order, so the Transformer adds
# positional encodings, chapter 2. Every token looks at every other, so the work and memory
# of attention grow with S²: chapter 4 measures both as the sequence grows. And chapter 3
# builds a simpler score than the additive one, the scaled dot product.
#
# ## 4. The architecture, and the data flow in shapes
#
# The **encoder** reads the source and gives one vector per source token: the **memory**. The
# **decoder** reads what has been written so far and, through cross-attention, the memory.
# The **generator** turns each decoder vector into a score for every vocabulary word: which
# comes next. Here are the paper's base sizes, in the pre-norm layout this course uses
# (chapter 6 compares it with the paper's post-norm), with the shape on every arrow:

# %%
_ = FIGURES["06_architecture"].make()

# %% [markdown]
# *The boxes' insides are chapters 1 to 6; for now, follow the shapes on the arrows.*
#
# The figure has the paper's sizes; our translator has N = 2, 4 heads and D = 128.
#
# Below, three German numbers go through the trained model. The three lines under `no_grad`
# are the whole model at its simplest: encode, decode, generate. The decoder reads the
# correct English after `<s>`, a start token, and at each position predicts the next word.
# `number_batch` builds the batch; details under the hood.

# %%
model = translator.model.eval()  # eval: we run the model, we do not train it
src, tgt, src_mask, tgt_mask = number_batch(translator, [21, 354_782, 1_000])
with torch.no_grad():
    memory = model.encoder(model.src_embed(src), src_mask)  # read the source
    out = model.decoder(model.tgt_embed(tgt), memory, src_mask, tgt_mask)  # read both
    log_probs = model.generator(out)  # score every vocabulary word
B, S = src.shape
T, D, V = tgt.size(1), config["d_model"], len(translator.tgt_vocab)
print(f"B = {B}, S = {S}, T = {T}, D = {D}, V = {V}")
for name, x in (("source ids", src), ("memory", memory), ("target ids", tgt),
                ("decoder out", out), ("log-probs", log_probs)):
    print(f"{name:>11}: {tuple(x.shape)}")
assert memory.shape == (B, S, D) and log_probs.shape == (B, T, V)
# argmax(-1): the largest along the last axis, V. [:4]: 21 has 4 tokens; the rest is padding.
guess = log_probs[0].argmax(-1)[:4]  # the most likely next token, position by position
print("next-token guesses for 21:", [translator.tgt_vocab.itos[j] for j in guess.tolist()])

# %% [markdown]
# The generator gives a **log-probability**, the logarithm of a probability, for every
# vocabulary word at every position: 0 means certain, very negative means unlikely. The
# largest one is the model's guess for the next token. Fed `<s> twenty - one`, it guesses
# `twenty - one </s>`: every next token right.
#
# <details><summary>Under the hood: how the batch is built</summary>
#
# - **Padding.** A batch is one rectangular tensor, so `pad_sequences` fills shorter rows with
#   the token `<pad>`.
# - **Masks.** `padding_mask`, shape (B, 1, S), is True where a real token is. `make_std_mask`,
#   shape (B, T, T), also hides tokens not written yet. Chapter 5 builds both.
# - **The shifted target.** The decoder reads `<s>` plus the English and learns to predict
#   the English plus `</s>`. Chapter 7 calls this teacher forcing.
# - **Log-probabilities.** The generator ends with a log-softmax, a softmax followed by the
#   logarithm.
#
# `show(number_batch)` prints the code.
# </details>
#
# The package's `EncoderDecoder` holds the same parts, hardened. Its `forward` stops before
# the generator, at the decoder's output (B, T, D); training calls the generator separately,
# chapter 7. Its `cache` branch makes writing one token at a time faster, chapter 8. Every
# chapter shows real code like this, so what you read is what runs:

# %%
show(annotated.EncoderDecoder)

# %% [markdown]
# ## 5. How to use this series
#
# **The chapters.** Each builds one part and ends by using it:
#
# - 1: [Embeddings](01_embeddings.ipynb), words to vectors.
# - 2: [Positional encoding](02_positional_encoding.ipynb), word order as sines and cosines.
# - 3: [Attention](03_attention.ipynb), one head.
# - 4: [Multi-head attention](04_multi_head_attention.ipynb).
# - 5: [Padding and masking](05_masking.ipynb).
# - 6: [The full model](06_full_model.ipynb): encoder, decoder, generator.
# - 7: [Training](07_training.ipynb): label smoothing, the learning-rate schedule.
# - 8: [Translation and looking inside](08_translation.ipynb): this translator, BLEU.
# - 9: [A real corpus](09_real_corpus.ipynb): German to English sentences.
#
# **Where to run it.** In JupyterLab, `make course` in the project folder, or in Colab
# through each chapter's badge. Every chapter runs on a laptop CPU, and uses a GPU when
# there is one; chapter 9's full training is long on a CPU, so it ships the trained model.
# `annotated.describe(annotated.precision_for(device))` names what yours uses.
#
# **Exercises.** Each chapter ends with "Your turn", checked by `annotated.exercises`: it says
# "Correct!" or names the likely mistake, and an empty attempt gets a hint. Stuck for good?
# `annotated.exercises.solutions.solution("check_align")` gives a worked answer.
#
# ## Recap
#
# - A small Transformer translates German and Japanese number words into English: 99.8% of
#   400 unseen test numbers are exactly right.
# - Its cross-attention shows which source token it read for each word; the path crosses
#   where German reorders, "vier und fünfzig" to "fifty-four".
# - Bahdanau's additive attention let an RNN decoder weigh every encoder state. The
#   Transformer keeps only attention, so the encoder reads all positions at once.
# - Shapes: only three things change. Ids become D-wide vectors, the decoder swaps the source
#   length S for the target length T, and the generator swaps D for V.
#
# ## Your turn
#
# **1. Predict, then run.** The number 21 is `einundzwanzig` in German and `二十一` in
# Japanese, "two ten one". The model writes `twenty - one </s>` for both. Before you run
# anything, predict which source token the last layer looks at hardest while it writes
# "twenty", and while it writes "one", in each language.

# %%
from annotated.exercises import check_align, check_data_flow, check_reading  # noqa: E402

prediction = {
    "einundzwanzig": {"twenty": ..., "one": ...},  # pick from "ein", "und", "zwanzig"
    "二十一": {"twenty": ..., "one": ...},  # pick from "二", "十", "一"
}
check_reading(prediction)

# %% [markdown]
# Now run the model and compare, with the package's reader `strongest_reads`:

# %%
for text in ("einundzwanzig", "二十一"):
    for english, token, weight in strongest_reads(translator.attention(text))[::2]:  # rows 0, 2
        print(f"{text}: {english!r} looked hardest at {token!r}, weight {weight:.2f}")

# %% [markdown]
# **2. Write the reader.** Write `align`, the reader behind `strongest_reads`: given
# cross-attention `weights` (T, S) and the S source tokens, say which source token each
# written token looked at hardest. First decide: which axis is "each written token", and
# which do you search along?

# %%
def align(weights, source):
    """weights: (T, S) tensor; source: list of S tokens. Return a list of T tokens."""
    ...  # your code here


check_align(align)

# %% [markdown]
# When it says "Correct!", try it on the first layer of 354,782:
# `align(att.cross[0].mean(0), att.source)`. Does layer 0 align the digit words as cleanly as
# the last layer?
#
# **3. The data flow.** Work out the shape at each stage from the Recap's rule and the
# figure, as a tuple of the size arguments, for example `"src": (B, S)`. `src_vectors` and
# `tgt_vectors` are what the two embeddings give. Then, without running: if V doubled,
# which entries would change? And if S grew from 11 to 50?

# %%
def data_flow(B, S, T, D, V):
    """Return {"src": ..., "src_vectors": ..., "memory": ..., "tgt": ..., "tgt_vectors": ...,
    "decoder_out": ..., "log_probs": ...}, each a tuple of sizes."""
    ...  # your code here


check_data_flow(data_flow)

# %% [markdown]
# ## Further reading
#
# - [Attention Is All You Need](https://arxiv.org/abs/1706.03762), Vaswani et al., 2017.
# - [Neural Machine Translation by Jointly Learning to Align and
#   Translate](https://arxiv.org/abs/1409.0473), Bahdanau, Cho and Bengio, 2014: additive
#   attention and its alignment pictures.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/), Harvard
#   NLP: the paper as runnable code.
# - François Porcher's article "The A-Z of Transformers: Everything You Need to Know", whose
#   examples this course follows, and its
#   [code](https://github.com/FrancoisPorcher/awesome-ai-tutorials).
# - [The Illustrated Transformer](https://jalammar.github.io/illustrated-transformer/), Jay
#   Alammar: the same model, one picture per idea.
# - What it grew into: [BERT](https://arxiv.org/abs/1810.04805) keeps only the encoder, GPT
#   only the decoder ([GPT-2](https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf)),
#   and the [Vision Transformer](https://arxiv.org/abs/2010.11929) reads images as patches.
#
# Next, chapter 1 turns words into vectors.


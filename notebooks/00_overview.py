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
# from scratch in PyTorch, one idea per chapter. First, let us watch a finished one work. By
# the end of this chapter you will be able to:
#
# - run a small trained Transformer that ships with the course;
# - read a cross-attention heatmap: which source word the model looked at while it wrote
#   each output word;
# - tell the story from recurrent translation, through Bahdanau's attention, to keeping
#   attention only;
# - name the three parts of the model and the tensor shape between them.
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
device = annotated.default_device()  # a GPU when there is one; the answers are the same

# %% [markdown]
# ## 1. A demo: a Transformer that reads numbers
#
# The package ships one trained model. It reads a number written in German words
# (`einundzwanzig`) or Japanese (`二十一`) and writes it in English (`twenty-one`). The task
# is small, but it has what makes translation hard: German says "one-and-twenty", so the
# order of the parts changes, and Japanese groups digits by ten thousand. Nobody wrote rules
# for this. The model learned from examples made by the `num2words` library.
#
# A model's **parameters** are the numbers it learned; chapters 1 to 6 explain the other sizes.

# %%
translator = pretrained.load("numbers", device=device)
config = translator.state["model_config"]
print("parameters:", f"{count_parameters(translator.model):,};",
      f"d_model D = {config['d_model']}, {config['N']} encoder and {config['N']} decoder layers,",
      f"{config['h']} heads")
settings = translator.state["task_settings"]
print("trained on", f"{settings['n_train']:,}", "numbers, each in", settings["langs"])

# %% [markdown]
# Here are a few numbers, checked against `num2words`' own English.

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
# make it again. The **test split** shares no number with the training split, so these are
# numbers the model never saw. We translate 400 of them, half German and half Japanese.

# %%
data = make_data("numbers", **settings)  # the same seed and settings as training: same data
seen = {e.src for e in data.train}
assert not any(e.src in seen for e in data.test)  # no test number was trained on
print(f"{len(data.train):,} training examples, {len(data.test):,} test examples, no overlap")

sample = data.test[:400]
scores = evaluate(translator.model, sample, translator.src_vocab, translator.tgt_vocab,
                  translator.task, max_len=translator.max_len)
for group, score in scores.items():
    print(f"{group:>3}: {score.n} numbers, exact match {score.exact:.1%}")
assert scores["all"].exact >= 0.99

# %% [markdown]
# Almost perfect. A mistake teaches more than a success, so here is what it got wrong:

# %%
wrong = [(e, out) for e, out in zip(
    sample, translator.translate([translator.task.source_text(e.src) for e in sample]),
    strict=True) if out != translator.task.target_text(e.tgt)]
for e, out in wrong:
    print(f"{translator.task.source_text(e.src)} -> {out!r}, "
          f"should be {translator.task.target_text(e.tgt)!r}")
assert len(wrong) == round((1 - scores["all"].exact) * len(sample))

# %% [markdown]
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
# The model reads **tokens**, the pieces the text is cut into: German numbers into their
# meaningful parts, `drei|hundert|vier|und|...`, Japanese into single characters, English
# into words, hyphens and commas, ending with the token `</s>`, "done".
#
# While the model writes each English token, its decoder **attends** to the source: it gives
# every German token a weight between 0 and 1, and the weights for one English token add up
# to 1. Read a weight as "how much the model looked at this piece while writing this word".
# This is **cross-attention**: it crosses from the output to the input. Chapter 3 shows how
# the weights are computed. Here they are for 354,782:

# %%
_ = FIGURES["00_cross_attention"].make()

# %% [markdown]
# *Follow the bright cells down the rows: "fifty" reads "fünfzig" and "four" reads "vier", so
# the path crosses where German says the ones before the tens.*
#
# Each row is one English token, each column one German token. In attention's own names the
# **query** asks and the **key** is looked at. The picture averages the model's 4 attention
# **heads**, chapter 4. Nobody told the model which German token belongs to which English
# word: this alignment came out of training.
#
# A picture is also data. Below, the package finds the German token with the largest weight
# in each row; you will write that function yourself at the end.

# %%
att = translator.attention(number_words(DEMO_NUMBER, "de"))
print("source tokens S =", len(att.source), "| written tokens T =", len(att.written),
      "| cross-attention (layers, heads, T, S) =", tuple(att.cross.shape))
reads = strongest_reads(att, layer=-1)
for english, german, weight in reads:
    print(f"{english:>9} looked hardest at {german!r:11} weight {weight:.2f}")
digit_words = {0: "drei", 3: "fünfzig", 5: "vier", 8: "sieben", 11: "achtzig", 13: "zwei"}
for i, german in digit_words.items():  # three, fifty, four, seven, eighty, two
    assert reads[i][1] == german, reads[i]

# %% [markdown]
# Every digit word reads its German partner. "and", the hyphen and the comma have no German
# token of their own, so their weight spreads out.
#
# Now you choose. Type a number, pick the layer; the title says whether the translation is
# right. Try 17, 21 or 100,000: which words cross? Then switch `weights` to `untrained`: the
# same model with random weights, fed the right English. Its attention is spread thinly, as
# the largest weights below show. Training made the alignment.

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
# per step and updates one vector, its **state**. The decoder writes the translation from the
# final state alone, and long sentences do not fit in one vector: quality dropped as
# sentences grew longer.
#
# Bahdanau, Cho and Bengio, translating English into French, kept *all* the encoder's states
# h_1 ... h_S. Before writing each word, the decoder scores every h_j against its own state
# s with the **additive score** score(s, h_j) = v^T tanh(W s + U h_j), where W, U and v are
# learned. A softmax turns the scores into weights that sum to 1, and the decoder reads the
# weighted sum of the states. That is attention:

# %%
_ = FIGURES["00_rnn_vs_transformer"].make()

# %% [markdown]
# *Left, the RNN reads the source one word per step; right, every Transformer layer
# connects all positions at once.*
#
# The weights on the left are made up. Bahdanau's paper drew real ones as a heatmap of English
# against French words, the same kind of picture as section 2's. What the decoder can look at
# grows from one vector to one per source token:

# %%
for n in (21, 354_782):
    pieces = translator.task.source_tokens(number_words(n, "de"))
    S, D = len(pieces), config["d_model"]
    print(f"{n:>7,}: S = {S:2d} tokens; an RNN's final state is (1, {D}) "
          f"= {D} numbers, attention keeps (1, {S}, {D}) = {S * D:,}")

# %% [markdown]
# An RNN's step j cannot start before step j - 1 ends, so S words take S steps in a row. In
# 2017 a team at Google asked: what if attention is all we keep? The Transformer drops the
# recurrence. Each layer looks at all positions at once, so the encoder takes one step per
# layer whatever the length: 2 for our translator, even for a 50-token source. The decoder
# still writes one token at a time.
#
# There are prices. Attention alone does not know the word order, so the Transformer adds
# positional encodings, chapter 2. Every token looks at every other, so the work and memory
# of attention grow with S²: chapter 4 measures both as the sequence grows. And the additive
# score gives way to a scaled dot product, chapter 3.
#
# ## 4. The architecture, and the data flow in shapes
#
# The **encoder** reads the source and gives one vector per source token: the **memory**. The
# **decoder** reads what has been written so far and, through cross-attention, the memory.
# The **generator** turns each decoder vector into a score for every vocabulary word: which
# comes next. Here is the paper's base model, with the shape on every arrow:

# %%
_ = FIGURES["06_architecture"].make()

# %% [markdown]
# *The encoder keeps (B, S, D) all the way up; the decoder's output has the target length T;
# only the generator changes the width, from D to V.*
#
# The figure has the paper's sizes, N = 6 layers, 8 heads, D = 512; our translator is the same
# design with N = 2, 4 heads and D = 128. Chapters 1 to 6 build the boxes.
#
# Below, three German numbers go through the trained model. The three lines under `no_grad`
# are the whole model at the article's size: encode, decode, generate. In training the decoder
# reads the correct English one position behind what it predicts. `number_batch` builds the
# batch; the details are under the hood, after the cell.

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
# - **eval, no_grad.** `model.eval()` turns dropout off; `torch.no_grad()` skips what only
#   training needs.
# - **Log-probabilities.** The generator ends with a log-softmax, a softmax followed by the
#   logarithm.
#
# ```python
# sources = [translator.task.source_tokens(number_words(n, "de")) for n in numbers]
# targets = [split_english(number_words(n, "en")) for n in numbers]
# src = pad_sequences([src_vocab.encode(t) for t in sources], src_vocab.pad)
# tgt = pad_sequences([tgt_vocab.encode(t, bos=True) for t in targets], tgt_vocab.pad)
# return src, tgt, padding_mask(src, src_vocab.pad), make_std_mask(tgt, tgt_vocab.pad)
# ```
#
# That is `number_batch`; `show(number_batch)` prints the real one.
# </details>
#
# The package's `EncoderDecoder` is the same three lines, hardened: its `cache` branch makes
# writing one token at a time faster, chapter 8. Every chapter shows real code like this, so
# what you read is what runs:

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
# - 7: [Training](07_training.ipynb): label smoothing, the learning-rate schedule, the copy task.
# - 8: [Translation and looking inside](08_translation.ipynb): this translator, decoding, BLEU.
# - 9: [A real corpus](09_real_corpus.ipynb): German to English sentences.
#
# **Where to run it.** In JupyterLab, `make course` in the project folder, or in Google
# Colab through the badge at the top of each chapter. Every chapter runs on a laptop CPU in a
# couple of minutes, and uses a GPU when there is one:

# %% tags=["nbval-ignore-output"]
print(annotated.describe(annotated.precision_for(device)))  # differs per machine

# %% [markdown]
# **Widgets.** Boxes, sliders and menus redraw a picture as you move them. They need a
# running kernel: in a static view the widget is missing.
#
# **Exercises.** Each chapter ends with "Your turn": a small function or a prediction, checked
# by `annotated.exercises`. It says "Correct!" or names the likely mistake; an attempt not
# written yet gets a hint, never an error. Stuck for good?
# `annotated.exercises.solutions.solution("check_align")` gives a worked answer.
#
# ## Recap
#
# - A Transformer with 2 + 2 layers translates German and Japanese number words into
#   English: 99.8% of 400 test numbers it never saw come out exactly right.
# - Its cross-attention shows which source token it read for each word it wrote; the path
#   crosses where German reorders, "vier und fünfzig" to "fifty-four".
# - Bahdanau's attention let an RNN decoder weigh every encoder state with the additive score
#   v^T tanh(W s + U h). The Transformer drops the RNN and keeps attention, so the encoder
#   reads all positions at once; writing is still one token at a time.
# - Shapes: ids (B, S) become memory (B, S, D); target ids (B, T) become decoder output
#   (B, T, D), then log-probabilities (B, T, V).
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
# Now run the model and compare, with the same reader as in section 2:

# %%
for text in ("einundzwanzig", "二十一"):
    for english, token, weight in strongest_reads(translator.attention(text))[::2]:  # rows 0, 2
        print(f"{text}: {english!r} looked hardest at {token!r}, weight {weight:.2f}")

# %% [markdown]
# **2. Write the reader.** `weights` is a (T, S) cross-attention matrix: one row per written
# token, one column per source token. Return, for each row, the source token with the
# largest weight: a list of T strings. This is what `strongest_reads` did in section 2.

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
# **3. The data flow.** Try it from memory first: fill in `data_flow` with the shape at each
# stage, as a tuple of the size arguments, for example `"src": (B, S)`. The hint points you
# to the figure.

# %%
def data_flow(B, S, T, D, V):
    """Return {"src": ..., "src_vectors": ..., "memory": ..., "tgt": ..., "tgt_vectors": ...,
    "decoder_out": ..., "log_probs": ...}, each a tuple of sizes."""
    ...  # your code here


check_data_flow(data_flow)

# %% [markdown]
# ## Further reading
#
# - [Attention Is All You Need](https://arxiv.org/abs/1706.03762), Vaswani et al., 2017: the
#   paper this course builds.
# - [Neural Machine Translation by Jointly Learning to Align and
#   Translate](https://arxiv.org/abs/1409.0473), Bahdanau, Cho and Bengio, 2014: additive
#   attention and its alignment pictures.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/), Harvard
#   NLP: the paper as runnable code, line by line; the article "Transformers A-Z", whose
#   examples this course follows, builds on it.
# - [The Illustrated Transformer](https://jalammar.github.io/illustrated-transformer/), Jay
#   Alammar: the same model, one picture per idea.
# - What it grew into: [BERT](https://arxiv.org/abs/1810.04805) keeps only the encoder, GPT
#   only the decoder ([GPT-2](https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf)),
#   and the [Vision Transformer](https://arxiv.org/abs/2010.11929) reads images as patches.
#
# Next, chapter 1 turns words into vectors.


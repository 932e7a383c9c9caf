# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 9: A real corpus
#
# So far the model has translated sentences we generated ourselves. Now it meets real
# language: Multi30k, English descriptions of photos with their German translations
# (Elliott et al., 2016). By the end of this chapter you will be able to:
#
# - say why real text is cut into **subword pieces**, and run byte-pair encoding by hand;
# - measure how much of a batch is padding, and how **bucketing** by length saves most of it;
# - score translations with **BLEU**, the way published results do, and say what it rewards;
# - read the cross-attention of a model trained on Multi30k, and set its score beside
#   published ones.
#
# The course ships the trained model, so everything here runs on a CPU. Letters for
# shapes: B batch, S source length, T target length, D = d_model, H heads, V vocabulary.

# %%
import re
from collections import Counter

import torch

import annotated
from annotated import count_parameters, multi30k, pretrained, show
from annotated.data import bucket_batches, padding_share
from annotated.exercises import (
    check_fewest_pads,
    check_half_bleu,
    check_mosos_explanation,
    check_next_merge,
    check_pool_reason,
)
from annotated.exercises.ch09 import (
    BPE_SHOWN,
    BPE_WORDS,
    MAGAZINE_SENTENCES,
    MAGAZINE_TEST,
    MERGE_CHOICES,
    MOSOS_CHOICES,
    POOL_CHOICES,
    first_halves,
)
from annotated.registry import get_task
from annotated.training import History
from annotated.viz.draw import MULTI30K_SENTENCE, bucketing_figure, multi30k_cross_attention
from annotated.viz.measure import pair_padding
from annotated.viz.primitives import curves
from annotated.viz.widgets import translation_explorer

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
device = annotated.default_device()

# %% [markdown]
# ## The corpus
#
# The course does not copy the corpus; it downloads a pinned version, so everybody gets the
# same files. `multi30k.corpus()` looks in the folder named by the environment variable
# `ANNOTATED_MULTI30K`, then in the cache `~/.cache/annotated/multi30k`, and else downloads
# the six files (`train`, `val`, `test_2016_flickr`, each `.de.gz` and `.en.gz`) from
# [github.com/multi30k/dataset](https://github.com/multi30k/dataset/tree/a3d2e0d/data/task1/raw),
# `data/task1/raw` at commit `a3d2e0d`, checking each file's SHA-256 checksum.
#
# **Offline, the chapter runs on a generated sample of template sentences.** Then the
# output opens with a box of `#` signs, and every corpus number is marked "(generated
# sample, not Multi30k)". For files you downloaded elsewhere, run `import os;
# os.environ["ANNOTATED_MULTI30K"] = "/path/to/folder"`, then rerun from the next cell.

# %% tags=["nbval-ignore-output"]
corpus = multi30k.corpus()
print(corpus.banner())
pairs = {split: multi30k.load_split(split, corpus.folder) for split in multi30k.SPLITS}
for split, p in pairs.items():
    print(f"{split:>5}: {len(p):6,} sentence pairs{corpus.tag}")
for de, en in pairs["train"][:2]:
    print(f"  {de}\n  -> {en}")

# %% [markdown]
# ## Why subwords
#
# Chapters 1 to 8 gave every word its own id. On real text that breaks twice: the
# vocabulary is large, each entry a row of the embedding table and of the generator; and
# test sentences hold words training never saw, which a word-level model can only write
# as `<unk>`. Count both:

# %% tags=["nbval-ignore-output"]
def words(text):
    """Words and punctuation marks: 'Ein Hund.' -> ['Ein', 'Hund', '.']"""
    return re.findall(r"\w+|[^\w\s]", text)


types = {}
for side, lang in ((0, "German"), (1, "English")):
    seen = Counter(w for pair in pairs["train"] for w in words(pair[side]))
    test_words = [w for pair in pairs["test"] for w in words(pair[side])]
    unseen = sum(w not in seen for w in test_words)
    types[lang] = len(seen)
    print(f"{lang:>7}: {len(seen):6,} different words in training; "
          f"{unseen / len(test_words):.1%} of the test words never appear there{corpus.tag}")

# %% [markdown]
# On Multi30k, German has more word types than English: it glues words together
# (*Holzspielhaus*, a wooden playhouse) and inflects adjectives (*weiß, weiße, weißen*).
#
# **Subwords** fix both problems. **Byte-pair encoding**, BPE (Sennrich et al., 2016),
# starts from single characters and keeps merging the most frequent neighbouring pair into a
# new piece, until the vocabulary has the size we ask for. Here it is on six words, each
# counted as often as it occurs. A word starts with `▁`, the mark of a space before it:

# %%
show(multi30k.bpe_merges)
print("words and counts:", BPE_WORDS)
merges, spelled = multi30k.bpe_merges(BPE_WORDS, BPE_SHOWN)
for k, (left, right) in enumerate(merges, 1):
    print(f"merge {k}: {left!r} + {right!r} -> {left + right!r}")
print({w: " ".join(p) for w, p in spelled.items()})

# %% [markdown]
# The ending `sche`, shared by three words, became one piece first; then `▁B` and `▁Bü`
# grew from the front: Büsche is now `▁Bü sche`. Rare words stay in smaller pieces, and
# any word can be spelled from characters.
#
# The paper used one BPE vocabulary **shared** by both languages, which let one matrix
# serve as the encoder's embedding, the decoder's embedding and the generator. We do the
# same with **sentencepiece** (Kudo and Richardson, 2018), a library that learns the
# pieces from raw text. Its settings, and the function that trains it:

# %%
print(multi30k.SENTENCEPIECE_OPTIONS)
show(multi30k.train_subwords)

# %% [markdown]
# `model_type="bpe"` is the merging above; the other type, **unigram**, starts large and
# drops the pieces that help least. Ids 0 to 3 are the special tokens of chapter 5.
#
# The trained subword model is inside the shipped model: its checkpoint carries the
# subword model's bytes, so it translates new text without the corpus. Here it is:

# %%
translator = pretrained.load("multi30k", device=device)
subwords = translator.task.subwords
print(subwords, "| one vocabulary for both sides:", translator.src_vocab == translator.tgt_vocab)
print("pieces:", len(translator.src_vocab))
print("the first ids:", translator.src_vocab.itos[:8])
for text in ("Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
             "Ein kleines Mädchen klettert in ein Holzspielhaus."):
    pieces = subwords.pieces(text)
    assert subwords.text(pieces) == text  # the pieces join back into the very same text
    print(f"{len(pieces):2} pieces: {' '.join(pieces)}")

# %% [markdown]
# Frequent words are single pieces, like `▁junge`; rarer ones are split into frequent parts,
# like `▁Bü sche`. Our model has 8,000 pieces, not the paper's 37,000: Multi30k has 29,000
# training pairs, not 4.5 million, and most pieces of a larger vocabulary would be too rare
# to learn. How long are the sentences now, and is anything in the test set unknown?

# %% tags=["nbval-ignore-output"]
examples = {split: translator.task.examples(p) for split, p in pairs.items()}
src_len = [len(e.src) for e in examples["train"]]  # German pieces per sentence
tgt_len = [len(e.tgt) + 2 for e in examples["train"]]  # English pieces, plus <s> and </s>
n_words = sum(len(words(de)) for de, _ in pairs["train"])
print(f"German: {sum(src_len) / len(src_len):.1f} pieces per sentence, "
      f"{sum(src_len) / n_words:.2f} per word, longest {max(src_len)}{corpus.tag}")
print(f"English: {sum(tgt_len) / len(tgt_len):.1f} positions per sentence with <s> and </s>, "
      f"longest {max(tgt_len)}{corpus.tag}")
vocab = translator.src_vocab
test_ids = [i for e in examples["test"] for i in vocab.encode(e.src + e.tgt)]
unknown = test_ids.count(vocab.unk)
print(f"test pieces that are <unk>: {unknown} of {len(test_ids):,}{corpus.tag}")

# %% [markdown]
# A sentence costs a few more positions than it has words. In exchange nothing in
# this test set is unknown (count above): the test words never seen in training are spelled
# from pieces, and only a letter that training never saw can become `<unk>`.
#
# ## Batches: padding and bucketing
#
# A batch is one (B, S) tensor of source ids and one (B, T) of target ids, so each sentence
# is padded to the longest one in its batch (chapter 5). The model computes on those
# `<pad>` positions too, then throws the result away. `padding_share` measures the waste on
# one side: the share of the padded tensors' positions that are `<pad>`. The English
# lengths above include `<s>` and `</s>`, because the target tensor holds them. `pair_padding`
# counts both tensors together: the share of `<pad>` among all their positions.
#
# Training does not batch sentences at random. Its rule, `bucket_batches`, is:
#
# 1. give each pair a length: its German pieces plus its English pieces;
# 2. shuffle the pairs and cut them into pools of 50 batches;
# 3. sort each pool by length and cut it into batches;
# 4. shuffle the batches.
#
# Every batch then holds pairs of similar length, and the batches still come in a new
# order every **epoch**: one pass of training over all the training pairs.

# %%
show(bucket_batches)

# %% tags=["nbval-ignore-output"]
total = [s + t for s, t in zip(src_len, tgt_len, strict=True)]  # what training sorts by
choices = {
    "random batches": bucket_batches(total, 128, seed=0, pool=1),  # a pool of 1 sorts nothing
    "bucketed, as training does": bucket_batches(total, 128, seed=0),
}
share = {name: pair_padding(src_len, tgt_len, b) for name, b in choices.items()}
for name, batches in choices.items():
    print(f"{name:<27} German {padding_share(src_len, batches):6.1%}   "
          f"English {padding_share(tgt_len, batches):6.1%}   both {share[name]:6.1%}{corpus.tag}")
for name, p in share.items():
    print(f"{name}: {1 / (1 - p):.2f} positions computed per real piece")

# %%
_ = bucketing_figure((src_len, tgt_len, "Multi30k train" if corpus.real else "generated sample"))

# %% [markdown]
# *Random batches pad far more than bucketed ones: a short sentence next to a long one pays
# for the long one.*
#
# Fewer padded positions is less work for the same sentences. With a padding share p, an
# epoch computes 1 / (1 - p) positions per real piece; the last two lines above print it
# for the "both" column.
#
# ## The trained model
#
# The shipped model is the course's default Multi30k run, `python -m annotated train
# multi30k`: d_model 256, 3 encoder and 3 decoder layers, 8 heads, a feed-forward width of
# 512. It trained with label smoothing and the warm-up schedule of chapter 7, on batches of
# 128 bucketed pairs. Its weights are stored in float16, half the bytes of float32. In the
# recipe, `N` is the number of layers on each side, `tie_embeddings` shares the one
# embedding matrix, `factor` scales chapter 7's learning-rate schedule, and `valid_decode`
# is how many validation sentences are translated at each check.

# %%
recipe = get_task("multi30k").recipe
print("model:", recipe.model)
print("training:", recipe.train)
per_epoch = len(pairs["train"]) / recipe.train["batch_size"]
print(f"{len(pairs['train']):,} pairs / {recipe.train['batch_size']} = {per_epoch:.0f} steps "
      f"per epoch{corpus.tag}; {recipe.train['steps']} steps = "
      f"{recipe.train['steps'] / recipe.train['valid_every']:.0f} epochs of Multi30k")
print(f"{count_parameters(translator.model) / 1e6:.1f}M parameters, the shared embedding "
      f"counted once; stored as {next(iter(translator.state['model'].values())).dtype}")
history = History(**translator.state["history"])
print(f"{history.step[-1]:,} steps: validation loss {history.valid_loss[0]:.2f} after the first "
      f"epoch, {history.valid_loss[-1]:.2f} after the last")

# %%
window = min(50, len(history.loss))  # one batch is noisy: show the mean of 50 steps
smooth = torch.tensor(history.loss).unfold(0, window, 1).mean(1)
labels = {"title": "Training the shipped model: loss per target piece", "xlabel": "step",
          "ylabel": "loss"}
ax = curves(history.step[window - 1:],
            {f"training, label-smoothed (mean of {window} steps)": smooth}, **labels)
_ = curves(history.valid_step, {"validation, plain cross-entropy": history.valid_loss}, ax=ax,
           marker="o", **labels)
_ = ax.legend()  # one legend for both calls

# %% [markdown]
# *The loss falls steeply in the first epoch, then slowly.* The two curves measure different
# things, so the gap between them is no sign of overfitting; the box below says why.
#
# <details><summary>Under the hood: two losses, and training your own</summary>
#
# The training loss is the cross-entropy against chapter 7's smoothed target q. Its floor
# is the entropy of q, not 0: predicting q exactly still pays that. (Chapter 7's KL is this
# minus the entropy of q, so its floor is 0.) The validation loss is the plain
# cross-entropy of the right piece. Overfitting shows as a validation loss that rises
# while the training loss still falls.
#
# On a CPU, the shipped model is the route: training it takes hours there. On a GPU it
# takes minutes: set `TRAIN_HERE = True` in the next cell, with the real corpus found; the
# notebook then uses your model from there on. The same run from a terminal is
# `python -m annotated train multi30k --data DIR`, where DIR holds the six files.
# </details>

# %% tags=["nbval-ignore-output"]
TRAIN_HERE = False
if TRAIN_HERE and corpus.real:
    from annotated.training import train

    run = train("multi30k", out="runs/multi30k", folder=corpus.folder)  # the recipe's settings
    translator = pretrained.Translator.from_checkpoint(run.checkpoint, device=device)
elif TRAIN_HERE:
    print("TRAIN_HERE is ignored: training needs the real corpus, and it was not found.")
print("translating with", "your own run" if TRAIN_HERE and corpus.real else "the shipped model")

# %% [markdown]
# ## BLEU
#
# A good translation rarely equals the reference word for word. Chapter 8 introduced **BLEU**
# (Papineni et al., 2002): the precisions p1 to p4 of the output's 1- to 4-word sequences,
# its **n-grams**, each n-gram counted at most as often as the reference has it (clipping).
# Here we use **corpus BLEU**: the counts and lengths are summed over all test sentences
# before dividing, so one short sentence is not judged alone. With c the output's total
# length and r the references', BLEU = BP × (p1·p2·p3·p4)^(1/4) × 100, where the **brevity
# penalty** BP is exp(1 − r/c) when c < r, else 1.
#
# BLEU counts the words of the output text, not pieces, so models with different
# vocabularies can be compared. There are two common versions:
#
# - **sacreBLEU** (Post, 2018): cased, on plain text, with its own fixed tokenizer, so
#   everybody computes the same number;
# - **lower-cased BLEU**: the same tokenizer on lower-cased text, close to what from-scratch
#   Multi30k notebooks report. With the same tokenizer, ignoring case can only add matches,
#   so it is at least as high.
#
# We translate the 1,000 test sentences greedily:

# %% tags=["nbval-ignore-output"]
test_de = [de for de, _ in pairs["test"]]
test_en = [en for _, en in pairs["test"]]
hyps = translator.translate(test_de)
scores = multi30k.bleu_scores(hyps, test_en)
for name, bleu in scores.items():
    print(f"{name:>10}: {bleu.score:5.2f}{corpus.tag}")

# %% [markdown]
# <details><summary>Under the hood: sacreBLEU's signature</summary>
#
# `bleu.signature` records how a score was computed: `tok:13a` is the tokenizer (it splits
# punctuation off words), `case:lc` means lower-cased, `smooth:exp` how a zero n-gram count
# is smoothed. Scores are comparable only when their signatures agree.
# </details>

# %% tags=["nbval-ignore-output"]
print(scores["sacrebleu"].signature)
print(scores["lowercased"].signature)

# %% [markdown]
# ## Translations and their cross-attention
#
# Three test sentences, the reference, and what the model wrote:

# %% tags=["nbval-ignore-output"]
for i in (0, 5, 9):
    print(f"German:    {test_de[i]}\nreference: {test_en[i]}\nmodel:     {hyps[i]}\n")

# %% [markdown]
# On Multi30k: sentence 0 is good, "is looking at" for *anstarrt* (stares), yet BLEU
# counts only the n-grams it shares with the reference. The long sentence 5 goes wrong:
# "bright blue" for *hell gekleideter* (light-coloured), "a cans" for *trägerlosen Kleid*
# (a strapless dress). Sentence 9 ends in "Mosososos" (exercise 4). Each wrong word costs
# only its n-grams, so a fluent but wrong sentence still scores something.

# %% [markdown]
# Which German pieces did the model look at while writing each English piece? Here is the
# last decoder layer's cross-attention, averaged over its 8 heads. Rows are the English
# pieces it wrote, ending with `</s>`; columns are the German pieces.

# %%
maps = translator.attention(MULTI30K_SENTENCE)
print(maps.text, "->", maps.translation)
print("weights (L, H, T, S):", tuple(maps.cross.shape))
print("each row sums to 1:", bool(torch.allclose(maps.cross.sum(-1), torch.ones(1))))
mean = maps.cross[-1].mean(0)  # (T, S): the last layer, mean of the heads
looks_at = {w: maps.source[int(mean[i].argmax())] for i, w in enumerate(maps.written)}
print("most weight:", {w: looks_at[w] for w in ("▁man", "▁chair") if w in looks_at})
_ = multi30k_cross_attention(translator=translator)

# %% [markdown]
# *Many rows have one bright cell on the German piece that means the same: `▁Mann` for
# `▁man`, `▁Stuhl` for `▁chair`.* Nobody taught it these alignments.
#
# Compare single heads with their mean:

# %% tags=["nbval-ignore-output"]
translation_explorer(translator, test_de[:8])

# %% [markdown]
# ## Against published results
#
# A published Multi30k German to English score on the same test set, from a notebook that
# trains a Transformer from scratch with PyTorch and torchtext (PyTorch's text-data
# library), and tokenises with spaCy (a library that splits text into words):
#
# | Source | Model | BLEU setup | Test BLEU |
# |---|---|---|---|
# | [B. Trevett, notebook 6][trevett] | 9.0M parameters, 10 epochs, greedy | lower-cased | 36.52 |
#
# [trevett]: https://github.com/bentrevett/pytorch-seq2seq/blob/7faa64a895fe4b76cb87409d66a0ba349a78298e/6%20-%20Attention%20is%20All%20You%20Need.ipynb
#
# Our model has its layers (d_model 256, 3 + 3) but differs: one shared
# vocabulary and embedding instead of two (hence 6.0M parameters, not 9.0M), sinusoidal
# positions instead of learned ones, and warm-up and label smoothing, which it does not
# use. Our scores, for the real corpus only:

# %% tags=["nbval-ignore-output"]
if corpus.real:
    print(f"this chapter's model, greedy: lower-cased BLEU {scores['lowercased'].score:.2f}, "
          f"sacreBLEU {scores['sacrebleu'].score:.2f}; published: 36.52")
else:
    print("no comparison: the scores above are on the generated sample, not Multi30k")

# %% [markdown]
# On Multi30k our lower-cased score is above 36.52, and lower-casing moves it by less than
# one point. The tokens differ (13a, not spaCy), so read this as "about as good or
# better", not as an exact ranking. Beam search usually adds a little; `python -m annotated
# evaluate --pretrained multi30k --data DIR --beam 5` prints it. We leave out notebooks
# whose test set we could not confirm is the same.
#
# ## Recap
#
# - Real text has many words, and new ones at test time. **Subword pieces**, merged by
#   frequency, spell every sentence, leave almost nothing unknown, and let one embedding
#   matrix serve both languages.
# - Padding is wasted work. **Bucketing** by length cut it to a fraction, measured above.
# - **BLEU** compares n-grams with the reference and penalises short output; say which BLEU
#   you report.
#
# ## Your turn
#
# **1. Predict: the next merge.** The BPE sketch above printed five merges on six words.
# Which pair does merge 6 join? Commit to a letter, then check it with `bpe_merges`.
#
# <details><summary>Hint 1: the idea</summary>
#
# BPE does not look for whole words. It counts every neighbouring pair in the current
# spellings, each as often as its word occurs.
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# The printed spellings after merge 5 are all you need: list their neighbouring pairs and
# add up the counts in `BPE_WORDS`.
# </details>

# %%
for letter, text in MERGE_CHOICES.items():
    print(f"{letter}) {text}")
merge_answer = ...  # one letter
check_next_merge(merge_answer)

# %% [markdown]
# **2. Design: the least padding, and why not.** Write `fewest_pads(lengths, batch_size)`:
# split the sentences into batches of exactly `batch_size` sentences, as lists of indices,
# with the smallest share of padding possible. Then answer the second part: training could
# use your batches, so why does `bucket_batches` use pools and shuffles instead?
#
# <details><summary>Hint 1: the idea</summary>
#
# A batch costs its size times its longest sentence. Which sentences should share a batch
# so that nobody pays for a much longer neighbour?
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# Python's `sorted()` takes `key=`, and sorting `range(len(lengths))` gives indices, not
# lengths. For the second part: think of the order in which the model would see the
# batches, epoch after epoch.
# </details>

# %%
def fewest_pads(lengths, batch_size):
    ...


check_fewest_pads(fewest_pads)

# %%
for letter, text in POOL_CHOICES.items():
    print(f"{letter}) {text}")
pool_answer = ...  # one letter
check_pool_reason(pool_answer)

# %% [markdown]
# **3. Predict: half a translation.** Imagine a model that writes exactly the first half of
# each reference, word for word, and stops. What corpus BLEU does it get, from 0 to 100?
# Commit to a number, then run the cell after the grader. It rounds each half up, so its
# outputs are a little more than half as long.
#
# <details><summary>Hint 1: the idea</summary>
#
# Of the n-grams the output writes, how many are in the reference? And what does BLEU do
# to short output?
# </details>
#
# <details><summary>Hint 2: the tool</summary>
#
# The formula in the BLEU section: what are p1 to p4, and what is r/c, for the whole test
# set?
# </details>

# %%
half_bleu = ...
check_half_bleu(half_bleu)

# %% tags=["nbval-ignore-output"]
halves = first_halves(test_en)  # BLEU's own tokens, the first half of each, rounded up
half = multi30k.bleu_scores(halves, test_en)["sacrebleu"]
print(f"{test_en[0]}\n-> {halves[0]}")
print(f"BLEU {half.score:.1f}: precisions {[round(p) for p in half.precisions]}, "
      f"brevity penalty {half.bp:.3f}{corpus.tag}")

# %% [markdown]
# **4. Interpret: Mosososos.** Test sentence 9 ended in "Mosososos" for *Magazine*. The cell
# prints the German pieces, what the model writes for the short sentences, and where each
# piece it wrote looked most. Which explanation does the evidence support?

# %% tags=["nbval-ignore-output"]
maps9 = translator.attention(MAGAZINE_TEST)  # Multi30k's test sentence 9, offline too
print("German pieces:", " ".join(maps9.source))
print(dict(zip(MAGAZINE_SENTENCES, translator.translate(list(MAGAZINE_SENTENCES)), strict=True)))
mean9 = maps9.cross[-1].mean(0)
print("wrote -> looked at:", [(w, maps9.source[int(mean9[i].argmax())])
                              for i, w in enumerate(maps9.written)][-7:])
for letter, text in MOSOS_CHOICES.items():
    print(f"{letter}) {text}")

# %%
mosos_answer = ...  # one letter
check_mosos_explanation(mosos_answer)

# %% [markdown]
# ## Further reading
#
# - Elliott et al., [Multi30K: Multilingual English-German Image
#   Descriptions](https://aclanthology.org/W16-3210/), 2016: the corpus, and its
#   [repository](https://github.com/multi30k/dataset).
# - Sennrich et al., [Neural Machine Translation of Rare Words with Subword
#   Units](https://arxiv.org/abs/1508.07909), 2016: BPE for translation.
# - Kudo and Richardson, [SentencePiece](https://arxiv.org/abs/1808.06226), 2018; Kudo,
#   [Subword Regularization](https://arxiv.org/abs/1804.10959), 2018: the unigram model, and
#   sampling different cuts of the same word during training. GPT-2 (Radford et al., 2019)
#   later ran BPE on bytes instead of characters, so no text is ever unknown.
# - Papineni et al., [BLEU](https://aclanthology.org/P02-1040/), 2002; Post, [A Call for
#   Clarity in Reporting BLEU Scores](https://arxiv.org/abs/1804.08771), 2018. Scores that
#   grew out of it: chrF (Popović, 2015) counts character n-grams; COMET (Rei et al., 2020)
#   is itself a trained model that judges translations.
# - Vaswani et al., [Attention Is All You Need](https://arxiv.org/abs/1706.03762), 2017:
#   sections 3.4 and 5 for the shared vocabulary and the batches.
# - [The Annotated Transformer](https://nlp.seas.harvard.edu/annotated-transformer/), whose
#   real-world example is this corpus, and Jay Alammar's [The Illustrated
#   Transformer](https://jalammar.github.io/illustrated-transformer/).

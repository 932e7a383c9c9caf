"""The figure registry: each key figure of the course by name, with its caption.

`python -m annotated figures` (or `make figures`) saves them to figures/, which the README
shows; chapters show them with `FIGURES[name].make()`, their caption beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import draw


@dataclass(frozen=True)
class Entry:
    """A registered figure: how to draw it, and what to see in it."""

    make: Callable[[], Figure]
    caption: str


FIGURES: dict[str, Entry] = {}


def figure(name: str, make: Callable[[], Figure], caption: str) -> None:
    """Register the drawing `make` (no arguments) under `name`, the PNG's file name."""
    if name in FIGURES:
        raise ValueError(f"figure {name!r} is registered twice")
    FIGURES[name] = Entry(make, caption)


def save_all(out: Path | str = "figures", names: list[str] | None = None) -> list[Path]:
    """Draw the named figures (default: all) and save them as PNGs in `out`."""
    unknown = set(names or []) - FIGURES.keys()
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {sorted(FIGURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or sorted(FIGURES):
        fig = FIGURES[name].make()
        path = out / f"{name}.png"
        # No software or date metadata: the same figure gives the same bytes on every run.
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    return paths


figure("A1_broadcasting", draw.broadcasting_figure,
       "Adding a (3, 1) column to a (1, 4) row: PyTorch compares the shapes from the right and "
       "stretches every size-1 axis to match, so both act as (3, 4) grids (the faded cells are "
       "copies that are never stored) and the sum has shape (3, 4).")
figure("A1_descent", draw.descent_figure,
       "Gradient descent on a two-parameter problem (fit y = w x + b to four points) with "
       "learning rate 0.2. Each step goes straight downhill, across the narrow valley more "
       "than along it, so the path zig-zags towards the lowest loss (the star). The lowest "
       "possible loss is 0.0045 (the dashed line), since no line passes through all four "
       "points; darker shading means higher loss.")
figure("00_cross_attention", draw.demo_attention,
       "Cross-attention of the shipped number translator while it writes 354,782 from the "
       "German 'dreihundertvierundfünfzigtausendsiebenhundertzweiundachtzig' (last layer, "
       "heads averaged). Each English digit word (three, fifty, four, seven, eighty, two) "
       "looks hardest at its German morpheme, even where the order flips: 'fifty' reads "
       "'fünfzig' and 'four' reads 'vier', although German says 'vier und fünfzig'. Words "
       "without a German partner ('and', '-', ',') spread their weight. Nobody told the "
       "model this alignment; it learned it from 60,000 drawn numbers, each written in "
       "German and in Japanese.")
figure("00_rnn_vs_transformer", draw.rnn_vs_transformer,
       "Left: an RNN encoder reads 'the European Economic Area' one word per step; the "
       "decoder scores every encoder state h_j against its own state s with Bahdanau's "
       "additive score v^T tanh(W s + U h_j), and a softmax turns the scores into weights "
       "(illustrative values). Right: each Transformer layer connects every position to "
       "every other at once, so reading the source takes N steps, not S.")
figure("01_embedding_scale", draw.embedding_scale,
       "Typical size (RMS) of one entry of the vectors added at the model's input, for a "
       "vocabulary of 1000 words. Only Tensor2Tensor's N(0, 1/D) start times sqrt(d_model) "
       "(green) keeps one size, beside the positional encoding, at every d_model; make_model's "
       "Xavier start (orange) depends on V and grows with d_model; unscaled, the small start "
       "sinks, and a N(0, 1) start times sqrt(d_model) towers over it.")
figure("01_trained_embeddings", draw.trained_embeddings,
       "The shipped number translator's English word vectors on their two main directions "
       "(PCA). Before training the words are scattered at random; after training the tens "
       "form one tight cluster, and the units and the teens two neighbouring ones; 'ten' "
       "does not join the teens.")
figure("02_pe_heatmap", draw.pe_heatmap,
       "The sinusoidal positional encoding for 100 positions and d_model = 128. Each row is "
       "one position's vector. Left columns change quickly with the position (high "
       "frequency); towards the right they change so slowly that they look constant: the sin"
       " columns stay near 0 (white) and the cos columns near 1 (red), hence the stripes. The "
       "curved edge between busy and still columns moves right as the position grows.")
figure("02_pe_similarity", draw.pe_similarity,
       "Left: dot products PE(p)·PE(q) for d_model = 512; each diagonal band has one colour,"
       " so the similarity depends only on the distance |p - q|. Right: PE(p)·PE(p + Δ) "
       "against the offset Δ; the curve is mirror-symmetric, so the dot product says how far "
       "apart two positions are, never which one comes first.")
figure("02_pe_rotation", draw.pe_rotation,
       "One sin/cos pair of the positional encoding (dimensions 48 and 49) for positions 0 to"
       " 11: every position sits on the unit circle, and each step turns it by the same "
       "angle. The crosses, M_2 applied to PE(0)..PE(9), land exactly on the dots two "
       "positions further on: a shift by k positions is one rotation, whatever p is.")
figure("03_attention_she", draw.attention_she,
       "Attention weights for \"She gave him her book\" with hand-made queries and keys (what "
       "a trained model could learn). Row = the word asking, column = the word looked at; "
       "each row sums to 1. \"she\" puts most weight on \"book\" (0.54) and \"her\" (0.33).")
figure("03_softmax_saturation", draw.softmax_saturation,
       "Left: for random q, k with unit-variance entries, var(q·k) grows like d_k; divided "
       "by sqrt(d_k) it stays at 1. Right: the mean largest softmax weight over 10 keys. "
       "Unscaled, softmax saturates towards 1 (one key takes everything, gradients vanish); "
       "scaled, it stays near 0.3 for every d_k.")
figure("03_qkv_projection", draw.qkv_projection,
       "Each word's vector x is multiplied by three different learned matrices: the same "
       "row of x becomes a query, a key and a value, three different vectors.")
figure("03_attention_pipeline", draw.attention_pipeline,
       "Attention for one word is five small steps: dot products, a division, a softmax, "
       "a weighting of the values and a sum; \"book\" ends up with over half the weight.")
figure("04_heads_split_concat", draw.heads_split_concat,
       "Multi-head attention as stacked matrices: one projection gives every word D numbers, "
       "read as H slices of d_k (one colour per head); the slices become H separate (S, d_k) "
       "matrices that attend on their own; the results are laid side by side again, and only "
       "W_o mixes the heads' numbers.")
figure("04_attention_cost", draw.attention_cost_figure,
       "Self-attention's weights grow with S squared, the feed-forward block's hidden layer "
       "with S: each doubling of S multiplies attention's memory by 4 and the feed-forward "
       "block's by 2; in time attention's curve bends up as the S² term takes over.")
figure("05_masked_softmax", draw.masked_softmax_figure,
       "Softmax over the same scores, without and with the mask. Without it, the real words "
       "give a share of their weight to <pad>; with the pad scores set to the dtype's "
       "minimum, the pad columns get exactly 0 and every row still sums to 1.")
figure("05_where_masks_go", draw.where_masks_go_figure,
       "Where each mask enters: the source mask goes to both attentions that read the source "
       "(the encoder's self-attention and the decoder's cross-attention); only the decoder's "
       "own self-attention gets the causal mask, joined with the target's padding.")
figure("05_masks", draw.masks_figure,
       "The three masks as images (blue 1 = may attend, white 0 = hidden). The source mask "
       "hides the pad columns for every query; the causal mask hides everything right of the"
       " diagonal (word i sees words 0..i); the decoder's mask is both at once.")
figure("06_architecture", draw.architecture_figure,
       "The encoder-decoder Transformer with the tensor shape on each arrow (B batch, S "
       "source length, T target length, D = d_model, V vocabulary), as the course builds it "
       "by default (pre-norm: LayerNorm before each sublayer, one more on top of each "
       "stack). The encoder keeps the width D all the way up; the decoder's cross-attention "
       "takes its queries from the target side and its keys and values from the encoder's "
       "memory. The blue paths are the residual connections: each sublayer's input is added "
       "to its output at the +.")
figure("06_grad_norms", draw.grad_norms_figure,
       "Gradient norm of each layer of a fresh 24-layer model (log scale). With post-norm "
       "(the paper) the decoder's gradient shrinks layer by layer towards the input, more "
       "than a thousandfold; with pre-norm (the article's code) all decoder layers stay "
       "within a factor of about 2. The encoder, fed through every decoder layer's cross-"
       "attention, varies by less than 4x with both.")
figure("06_layers_residual", draw.layers_residual_figure,
       "An encoder layer and a decoder layer as the course builds them (pre-norm). Each "
       "sublayer's input also takes the blue path around it and is added back at the +: "
       "the sublayer only computes a correction, and the stream keeps the width D.")
figure("06_pre_post_norm", draw.pre_post_norm_figure,
       "The same sublayer connection in two orders. Pre-norm normalises only what enters "
       "the sublayer, so the residual path is a plain sum; post-norm puts a LayerNorm on "
       "the residual path itself, after every sum.")
figure("07_label_smoothing", draw.label_smoothing_figure,
       "Left: the targets LabelSmoothing builds for \"the cat drinks milk\" plus one padded "
       "position, with epsilon = 0.1 and a 5-token vocabulary: 0.9 on the right word, 0.1 / "
       "3 on each other word, 0 in the <pad> column and on the padded row. Right: without "
       "smoothing the loss falls all the way to p = 1; with epsilon it is smallest at p = 1 - "
       "epsilon (dots): over-confidence costs.")
figure("07_schedule", draw.schedule_figure,
       "The paper's learning rate, factor x d_model^-0.5 x min(step^-0.5, step x "
       "warmup^-1.5): it rises linearly for `warmup` steps, peaks there, then decays like "
       "1/sqrt(step). A longer warm-up peaks later and lower; a smaller d_model scales the "
       "whole curve up (256 gives sqrt(2) = 1.41 times the rate of 512).")
figure("07_teacher_forcing", draw.teacher_forcing_figure,
       "Left, training: the decoder reads the true target shifted right by one (<s> the cat "
       "drinks milk) and predicts every next word in one pass; the causal mask stops position "
       "t from seeing the word it must write. Right, decoding: there is no target to read, so "
       "the model writes one word per pass and reads its own guesses.")
figure("08_cross_attention", draw.numbers_cross_attention,
       "Cross-attention of the shipped numbers model (layer 1, head 3) while it translates "
       "345,678 from German (left) and Japanese (right). Each row is the decoder position "
       "that has read the word on the left of the arrow and writes the word on its right; "
       "each column a source token. German says the units before the tens (fünf-und-"
       "vierzig), so the bright path jumps ahead to 'vierzig' to write 'forty' and back to "
       "'fünf' for 'five'. Japanese groups by 10,000: 三十四万 is 34 x 10,000, so 'hundred' is "
       "written while looking at 十 (三十万 = 300 thousand).")
figure("08_kv_cache", draw.kv_cache_figure,
       "Greedy decoding of 九百一 with the key/value cache, one row per step. Each step "
       "computes the key and value of one new word (orange) and reads all earlier ones from "
       "the cache (grey); the source's keys and values for cross-attention are computed at "
       "step 1 and reused to the end.")
figure("08_beam_tree", draw.beam_tree_figure,
       "The package's beam search (K = 4) on 九百一: every candidate it kept, finished or "
       "dropped, with the total log-probability of its words. At step 5 the ending after "
       "'nine hundred and one' (-1.38) goes to the finished list while 'thousand' (-1.05) "
       "stays in the beam; the long answer ends at -2.11, so the short one wins. An ending "
       "outside a step's K best is dropped, however good its score (step 7). <unk> and <s> "
       "are words of the vocabulary too: when little is likely, they get ranked.")
figure("08_attention_grid", draw.attention_grid,
       "Every head of the shipped number translator on 三十四万五千六百七十八, for the three "
       "kinds of attention and both layers. Layer 0 of the encoder spreads its weight; in "
       "layer 1 and in cross-attention most heads put nearly all of it on one token.")
figure("09_bucketing", draw.bucketing_figure,
       "Share of padding in each batch of 128 sentence pairs (German and English tensors "
       "together), batches sorted from least to most padded. Random batches spend more than "
       "half of their tensors on <pad>; batches bucketed by the pair's total length, as "
       "training makes them, about a fifth (Multi30k's training split where it is found).")
figure("09_cross_attention", draw.multi30k_cross_attention,
       "Cross-attention of the shipped Multi30k model (last layer, mean of its 8 heads): each "
       "English piece it writes looks mostly at the German piece that means the same, "
       "an alignment nobody taught it.")
figure("10_norms", draw.norms_figure,
       "One vector of 8 numbers whose mean is far from 0, and what a fresh LayerNorm and a "
       "fresh RMSNorm make of it. LayerNorm subtracts the mean, then scales: the bars now "
       "straddle 0 and their pattern changed. RMSNorm only divides by the root mean square: "
       "every bar keeps its sign and its share, the vector keeps its direction.")
figure("10_swiglu", draw.swiglu_figure,
       "Left: the 2017 feed-forward block. Middle: SwiGLU, where SiLU(W_1 x) is the gate "
       "and W_3 x the value it multiplies entry by entry (⊙); three matrices instead of two, "
       "so the hidden "
       "width shrinks to about 2/3 of d_ff and both blocks have the same number of "
       "parameters. Right: SiLU and GELU are smooth versions of ReLU that let a little "
       "negative signal through.")
figure("10_rope", draw.rope_figure,
       "RoPE on one pair of a query's dimensions (pair 8 of d_k = 64). Left: position m turns "
       "the pair by m times the pair's angle; the dots are positions 0 to 63 on the circle. "
       "Right: the pair's score with the same key at position 0 is a cosine of the distance, "
       "and each pair has its own wavelength.")
figure("10_rope_relative", draw.rope_relative_figure,
       "A fixed query and key, with the key at position n and the query m - n positions "
       "later. With the sinusoidal table added to the input (left) the score depends on "
       "where the pair sits; with RoPE (right) the three curves lie on top of each other: "
       "the score depends only on m - n.")
figure("10_gqa", draw.gqa_figure,
       "Multi-head attention gives every query head its own key and value head; grouped-query "
       "attention lets a group of query heads share one; multi-query attention keeps a "
       "single one. The decoding cache stores only the key/value heads, so it shrinks by "
       "the group size (counted, as in the chapter's code, for one layer, d_k = 64 and 4-byte "
       "float32 numbers).")
figure("10_decoder_only", draw.decoder_only_figure,
       "Left: the 2017 encoder-decoder reads the source with its own stack and hands the "
       "memory to the decoder's cross-attention. Middle: a decoder-only model reads source "
       "and target as one sequence, joined by the start symbol <s>, through one causal "
       "stack. Right: the mask over that sequence; every row predicts the next token, and "
       "only the red rows, those that write the target, count in the loss.")

"""Interactive figures for the notebooks: core ipywidgets around a plain drawing function.

Each chapter's widget is a `draw_*` function (arguments in, Figure out: tested without a
browser) wrapped by `interactive_figure`, which adds the sliders and dropdowns.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

STYLE = {"description_width": "initial"}


def interactive_figure(draw: Callable[..., Figure], **controls) -> widgets.interactive:
    """An `ipywidgets.interactive` that redraws `draw(**values)` when a control moves.

    `.result` holds the last Figure, so tests can set `w.children[i].value` and inspect it.
    """

    def update(**values) -> Figure:
        plt.close("all")  # one live figure: an update never piles up old ones
        with one_thread():
            fig = draw(**values)
        if _in_ipython():
            # Shown here rather than by the inline backend, whose bbox_inches="tight" lays
            # out every label a second time (40% of an update, measured with
            # benchmarks/widgets.py); widget figures have fixed margins, nothing to crop.
            from IPython.display import Image, display

            display(Image(figure_png(fig)))
            plt.close(fig)  # so the backend does not show it a second time
        return fig

    for control in controls.values():
        if isinstance(control, widgets.Widget) and hasattr(control, "style"):
            control.style = STYLE
    return widgets.interactive(update, **controls)


# --- Chapter 1 ---

def draw_embedding(table, words, word: str, k: int = 5) -> Figure:
    """One word's vector as a strip, and its `k` nearest neighbours by cosine similarity."""
    from .embeddings import nearest_neighbours
    from .plots import heatmap

    if word not in words:
        raise ValueError(f"{word!r} is not in the vocabulary; pick one of {list(words)}")
    index = list(words).index(word)
    ids, sims = nearest_neighbours(table, index, k)
    # Fixed margins, not a layout engine: seaborn draws the figure once per heatmap, and
    # constrained layout would be solved at each of those draws (twice the update time).
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.0, 4.5), height_ratios=[1, 3],
                                      gridspec_kw=dict(left=0.12, right=0.98, top=0.93,
                                                       bottom=0.08, hspace=0.45))
    vmax = table[index].abs().max().item()  # symmetric colour range: white is 0
    heatmap(table[index:index + 1], [word], ax=top, cmap="RdBu_r", vmin=-vmax, vmax=vmax,
            annot=False,
            ticks=False, title=f"the vector of {word!r} ({table.size(1)} numbers)",
            xlabel="dimension")
    heatmap(sims.unsqueeze(1), [words[i] for i in ids], ["cosine similarity"], ax=bottom,
            vmin=-1.0, vmax=1.0, cmap="RdBu_r", fmt=".3f", cbar=False,
            title=f"nearest neighbours of {word!r}", ylabel="word")
    bottom.tick_params(axis="x", labelrotation=0)
    return fig


def embedding_explorer(table, words, k: int = 5) -> widgets.interactive:
    """Pick a word; see its vector and nearest neighbours in `table` (V, D)."""
    from functools import partial

    return interactive_figure(
        partial(draw_embedding, table.detach().float().cpu(), list(words), k=k),
        word=widgets.Dropdown(options=list(words)[1:], value=list(words)[1], description="word"),
    )


# --- Chapter 2 ---

def draw_positional(position: int, dims: tuple[int, int], max_len: int = 100,
                    d_model: int = 512, curves_shown: int = 4) -> Figure:
    """Curves of a few dimensions of PE over positions, and the heatmap of the chosen dimensions."""
    from .plots import curves, heatmap
    from .positional import sinusoidal_table

    lo, hi = dims
    if not 0 <= lo < hi <= d_model or not 0 <= position < max_len:
        raise ValueError(f"need 0 <= position < {max_len} and 0 <= lo < hi <= {d_model}, "
                         f"got position={position}, dims={dims}")
    pe = sinusoidal_table(max_len, d_model)  # (L, D)
    step = max(curves_shown - 1, 1)
    shown = sorted({lo + (hi - 1 - lo) * i // step for i in range(curves_shown)})  # spread out
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8),  # fixed margins: see above
                                      gridspec_kw=dict(left=0.07, right=0.98, top=0.9,
                                                       bottom=0.13, wspace=0.2))
    curves(range(max_len), {f"dim {d}": pe[:, d] for d in shown}, ax=left,
           title=f"PE[p, i] at p = {position}: "
                 + ", ".join(f"{pe[position, d].item():+.2f}" for d in shown),
           xlabel="position p", ylabel="value")
    left.axvline(position, color="black", linestyle="--", linewidth=1)
    left.set_ylim(-1.1, 1.6)
    left.legend(fontsize="small", ncols=len(shown), loc="upper center")  # above the curves
    heatmap(pe[:, lo:hi], ax=right, cmap="RdBu_r", vmin=-1.0, vmax=1.0, annot=False, cbar=False,
            ticks=False, title=f"dimensions {lo} to {hi - 1} (red +1, blue -1)",
            xlabel="dimension i",
            ylabel="position p")
    right.axhline(position + 0.5, color="black", linewidth=1.5)
    right.set_yticks(range(0, max_len, 10), range(0, max_len, 10))
    xt = range(0, hi - lo, max((hi - lo) // 8, 1))
    right.set_xticks([x + 0.5 for x in xt], [str(lo + x) for x in xt])
    return fig


def positional_explorer(max_len: int = 100, d_model: int = 512) -> widgets.interactive:
    """Sliders for the position and the dimension range; the curves and heatmap follow."""
    from functools import partial

    return interactive_figure(
        partial(draw_positional, max_len=max_len, d_model=d_model),
        position=widgets.IntSlider(value=10, min=0, max=max_len - 1, description="position"),
        dims=widgets.IntRangeSlider(value=(0, 128), min=0, max=d_model, step=2,
                                    description="dimensions"),
    )


# --- Chapter 3 ---

def draw_attention_query(tokens, query, key, value, word: str, temperature: float = 1.0,
                         features=None) -> Figure:
    """One query's attention weights at a temperature, and its output next to the values."""
    import torch

    from .attention import attention
    from .plots import heatmap

    if word not in tokens:
        raise ValueError(f"{word!r} is not in the sentence; pick one of {list(tokens)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    i = list(tokens).index(word)
    # Dividing the query by T divides every score by T: softmax(q·k / (sqrt(d_k) T)).
    out, weights = attention(query[i:i + 1] / temperature, key, value)  # (1, d_v), (1, S)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 5.0), height_ratios=[1, 3],
                                      gridspec_kw=dict(left=0.22, right=0.98, top=0.93,
                                                       bottom=0.1, hspace=0.75))  # see above
    heatmap(weights, [word], list(tokens), ax=top, vmin=0.0, vmax=1.0, fmt=".2f", cbar=False,
            title=f"weights of {word!r} at temperature {temperature:.2f}", xlabel="key")
    rows = [f"v({t})" for t in tokens] + [f"output of {word!r}"]
    heatmap(torch.cat([value, out]), rows, features, ax=bottom, cmap="Blues", fmt=".2f", cbar=False,
            title="values, and their mix weighted as above", xlabel="value dimension")
    bottom.axhline(len(tokens), color="black", linewidth=2)
    for ax in (top, bottom):
        ax.tick_params(axis="x", labelrotation=0)
    return fig


def attention_explorer(tokens, query, key, value, features=None) -> widgets.interactive:
    """Pick a query word and a temperature; the weights and the output follow."""
    from functools import partial

    return interactive_figure(
        partial(draw_attention_query, list(tokens), query.detach().cpu(), key.detach().cpu(),
                value.detach().cpu(), features=features),
        word=widgets.Dropdown(options=list(tokens), value=tokens[0], description="query"),
        temperature=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                           description="temperature"),
    )


# --- Chapter 4 ---
def draw_heads(weights, tokens, head: int = -1, layer: int = 0,
               query_tokens=None, numbers: bool = False) -> Figure:
    """Attention weights of one head, or of every head (`head=-1`) side by side.

    `weights` is (H, Tq, Tk) for one layer or (L, H, Tq, Tk) for a stack; `tokens` label the
    keys and `query_tokens` the queries (default: the same tokens, as in self-attention).
    `numbers` writes the weights in the cells of the all-heads grid (slower to draw).
    """
    from .plots import grid, heatmap, label_inches

    w = weights.detach() if hasattr(weights, "detach") else weights
    if w.dim() == 3:
        w = w.unsqueeze(0)
    if w.dim() != 4:
        raise ValueError(f"weights must be (H, Tq, Tk) or (L, H, Tq, Tk), got shape "
                         f"{tuple(w.shape)}; pick one batch element first, e.g. attn[0]")
    L, H = w.shape[0], w.shape[1]
    if not 0 <= layer < L:
        raise ValueError(f"layer {layer} out of range: there are {L} layer(s), 0 to {L - 1}")
    if not -1 <= head < H:
        raise ValueError(f"head {head} out of range: use 0 to {H - 1}, or -1 for all heads")
    rows = tokens if query_tokens is None else query_tokens
    where = f"layer {layer}, " if L > 1 else ""
    if head >= 0:
        cells = w.shape[-2] * w.shape[-1]
        ax = heatmap(w[layer, head], rows, tokens, vmin=0.0, vmax=1.0, xlabel="key",
                     ylabel="query", title=f"{where}head {head}", figsize=(4.5, 3.8),
                     annot=cells <= 50)  # numbers while few: each one slows the redraw
        return ax.figure
    cols = 4
    size = 2.6
    fig, axes = grid(H, cols=cols, size=size, layout=None)
    # Fixed margins sized to the longest labels: a layout engine would double the redraw time.
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=min(0.3, (0.25 + label_inches(rows)) / width),
                        bottom=min(0.3, (0.3 + label_inches(tokens, 0.75)) / height),
                        right=0.99, top=1 - 0.35 / height, wspace=0.15, hspace=0.3)
    for i, ax in enumerate(axes):
        # Labels on the outer panels only: the same words on every panel slow each redraw,
        # and ticks never made cost nothing (removing them afterwards still costs).
        heatmap(w[layer, i], rows if i % cols == 0 else None,
                tokens if i + cols >= H else None, ax=ax, vmin=0.0, vmax=1.0, cbar=False,
                annot=numbers, title=f"{where}head {i}", ticks=False)
    return fig


def head_picker(H: int) -> widgets.Dropdown:
    """A dropdown of 'all heads' (value -1) and each of the H heads."""
    options = [("all heads", -1)] + [(f"head {i}", i) for i in range(H)]
    return widgets.Dropdown(options=options, value=-1, description="head")


def head_explorer(weights, tokens, query_tokens=None) -> widgets.interactive:
    """A head picker (and a layer slider for (L, H, Tq, Tk) weights) around `draw_heads`."""
    controls = {"head": head_picker(weights.shape[-3])}
    if weights.dim() == 4 and weights.shape[0] > 1:
        controls["layer"] = widgets.IntSlider(value=0, min=0, max=weights.shape[0] - 1,
                                              description="layer")

    def draw(head: int, layer: int = 0) -> Figure:
        return draw_heads(weights, tokens, head=head, layer=layer, query_tokens=query_tokens)

    return interactive_figure(draw, **controls)


# --- Chapter 5 ---
MASK_SENTENCES = (["the", "cat", "drinks", "milk", "every", "morning"],
                  ["I", "sleep", "late", "on", "long", "Sundays"])
PAD = "<pad>"


def pad_tokens(sentences, extra: int = 0, pad: str = PAD) -> list[list[str]]:
    """Pad token lists to the longest one plus `extra` pads, so they stack into one batch."""
    S = max(len(s) for s in sentences) + extra
    return [list(s) + [pad] * (S - len(s)) for s in sentences]


def draw_masking(len_a: int = 4, len_b: int = 2, extra: int = 0, causal: bool = False,
                 seed: int = 0) -> Figure:
    """Two sentences padded into one batch: the padding mask, sentence 2's mask, its weights."""
    import torch

    from .attention import attention
    from .masks import subsequent_mask
    from .plots import heatmap

    for name, n in (("len_a", len_a), ("len_b", len_b)):
        if not 1 <= n <= len(MASK_SENTENCES[0]):
            raise ValueError(f"{name} must be 1 to {len(MASK_SENTENCES[0])} words, got {n}")
    if extra < 0:
        raise ValueError(f"extra padding must be 0 or more, got {extra}")
    batch = pad_tokens([MASK_SENTENCES[0][:len_a], MASK_SENTENCES[1][:len_b]], extra)
    real = torch.tensor([[t != PAD for t in s] for s in batch])  # (B, S): the padding mask
    S = real.shape[1]
    mask = real[1].expand(S, S)  # sentence 2: every query row hides the same pad keys
    if causal:
        mask = mask & subsequent_mask(S)[0]
    g = torch.Generator().manual_seed(seed)
    # Stand-in queries and keys, (S, 8) each. Each word keeps its vectors whatever the
    # padding: they are drawn for the longest sentence first, the pads' after them.
    words = torch.randn(2, len(MASK_SENTENCES[1]), 8, generator=g)[:, :len_b]
    pads = torch.randn(2, S - len_b, 8, generator=g)
    q, k = torch.cat([words, pads], dim=1)
    _, weights = attention(q, k, k, mask=mask)  # (S, S)

    # Fixed margins, not constrained layout: the layout pass was a third of each redraw.
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8),
                             gridspec_kw={"width_ratios": [1.1, 1, 1]})
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.2, top=0.9, wspace=0.35)
    heatmap(real.int(), ["sentence 1", "sentence 2"], [str(i) for i in range(S)], ax=axes[0],
            cmap="Blues", vmin=-0.5, vmax=1.5, annot=False, cbar=False, xlabel="position",
            title="padding mask (B, S)")
    for r, sentence in enumerate(batch):  # the words in their cells: pads stand out
        for c, word in enumerate(sentence):
            axes[0].text(c + 0.5, r + 0.5, word, ha="center", va="center", fontsize=8,
                         color="tab:red" if word == PAD else "white")
    what = "padding & causal" if causal else "padding"
    heatmap(mask.int(), batch[1], batch[1], ax=axes[1], cmap="Blues", vmin=-0.5, vmax=1.5,
            annot=S <= 5, fmt=".0f", cbar=False, xlabel="key", ylabel="query",
            title=f"sentence 2: {what} mask")
    heatmap(weights, batch[1], batch[1], ax=axes[2], vmin=0.0, vmax=1.0, xlabel="key",
            annot=S <= 5, title="masked attention weights")
    return fig


def masking_explorer() -> widgets.interactive:
    """Sliders for two sentence lengths and extra padding, a causal switch, around draw_masking."""
    n = len(MASK_SENTENCES[0])
    return interactive_figure(
        draw_masking,
        len_a=widgets.IntSlider(value=4, min=1, max=n, description="sentence 1 length"),
        len_b=widgets.IntSlider(value=2, min=1, max=n, description="sentence 2 length"),
        extra=widgets.IntSlider(value=0, min=0, max=3, description="extra padding"),
        causal=widgets.Checkbox(value=False, description="causal (target) mask"),
    )


# --- Chapter 6 ---
from .model import ATTENTION_PARTS, collect_attention  # noqa: E402  (re-exported for chapter 6)


def model_attention_explorer(model, src_tokens, tgt_tokens) -> widgets.interactive:
    """Pick the kind of attention, the layer and the head of a model that has been run."""
    weights = {part: collect_attention(model, part) for part in ATTENTION_PARTS}
    L, H = weights["encoder"].shape[:2]
    tokens = {"encoder": (src_tokens, src_tokens), "decoder": (tgt_tokens, tgt_tokens),
              "cross": (src_tokens, tgt_tokens)}  # (keys, queries)

    def draw(part: str, layer: int, head: int) -> Figure:
        keys, queries = tokens[part]
        return draw_heads(weights[part], keys, head=head, layer=layer, query_tokens=queries)

    return interactive_figure(
        draw,
        part=widgets.Dropdown(options=[(v, k) for k, v in ATTENTION_PARTS.items()],
                              value="encoder", description="attention"),
        layer=widgets.IntSlider(value=0, min=0, max=L - 1, description="layer"),
        head=head_picker(H),
    )


# --- Chapter 0 ---
def draw_demo(translator, number: int, layer: int = -1) -> Figure:
    """Translate `number` from German with a Translator and draw its cross-attention."""
    from .figures import cross_attention_figure
    from .tasks import MAX_NUMBER, number_words

    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"pick a whole number from 0 to {MAX_NUMBER:,}, got {number:,}")
    att = translator.attention(number_words(number, "de"))
    english = translator.task.target_text(att.written[:-1])  # drop the end token
    verdict = "correct" if english == number_words(number, "en") else "WRONG"
    # Wrapped: the English of a six-digit number is wider than the figure.
    title = textwrap.fill(f"{number:,} -> '{english}' ({verdict})", 64)
    return cross_attention_figure(att, layer, title=title)


def demo_explorer(translator) -> widgets.interactive:
    """Type a number: see the German morphemes, the model's English and where it looked."""
    from .tasks import MAX_NUMBER

    L = len(translator.model.decoder.layers)
    return interactive_figure(
        lambda number, layer: draw_demo(translator, number, layer),
        number=widgets.BoundedIntText(value=2026, min=0, max=MAX_NUMBER, description="number"),
        layer=widgets.Dropdown(options=[(str(i + 1), i) for i in range(L)], value=L - 1,
                               description="layer"),
    )


# --- Chapter 7 ---
PAPER_SCHEDULE = (512, 4000, 1.0)  # the paper's base model: d_model, warmup, factor


def schedule_steps(steps: int, marks: list[int] | tuple[int, ...] = (),
                   points: int = 1000) -> list[int]:
    """About `points` optimizer steps spread over 1..steps, plus the `marks` (the peaks).

    A curve through these looks the same as one through every step, and draws fast.
    """
    grid = {round(1 + i * (steps - 1) / (points - 1)) for i in range(points)}
    return sorted(grid | {m for m in marks if 1 <= m <= steps})


def draw_schedule(d_model: int = 512, warmup: int = 4000, factor: float = 1.0,
                  steps: int = 20_000) -> Figure:
    """The warm-up learning-rate curve for these settings, next to the paper's base model's."""
    from .figures import schedule_curves
    from .plots import curves
    from .training import rate

    if d_model <= 0 or warmup <= 0 or factor <= 0 or steps <= 1:
        raise ValueError(f"d_model, warmup and factor must be positive and steps above 1, "
                         f"got {d_model}, {warmup}, {factor}, {steps}")
    chosen = (d_model, warmup, factor)
    # The paper's curve first, as a grey reference; the chosen one drawn over it.
    settings = [chosen] if chosen == PAPER_SCHEDULE else [PAPER_SCHEDULE, chosen]
    x = schedule_steps(steps, [w for _, w, _ in settings])
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    fig.subplots_adjust(left=0.11, right=0.97, top=0.9, bottom=0.14)  # fixed: fast redraws
    peak = (f"peak {rate(warmup, d_model, factor, warmup):.2e} at step {warmup}"
            if warmup <= steps else f"still warming up: the peak comes at step {warmup}")
    curves(x, schedule_curves(settings, at=x), ax=ax, xlabel="optimizer step",
           ylabel="learning rate", title=peak)
    *reference, line = ax.get_lines()
    line.set(color="tab:blue", linewidth=2)
    for ref in reference:
        ref.set(color="0.6", linestyle="--", label=f"paper base: {ref.get_label()}")
    if reference:
        ax.legend(fontsize="small")
    ax.axvline(min(warmup, steps), color="tab:blue", linestyle=":", linewidth=1)
    ax.set_xlim(0, steps)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    return fig


SCHEDULE_STEPS = [400, 2_000, 20_000, 100_000]  # the copy run, ..., the paper's 100k steps


def schedule_explorer(steps: int = 20_000) -> widgets.interactive:
    """Sliders for d_model, warm-up, factor and the steps shown; the learning-rate curve follows."""
    if steps not in SCHEDULE_STEPS:
        raise ValueError(f"steps must be one of {SCHEDULE_STEPS}, got {steps}")
    return interactive_figure(
        draw_schedule,
        d_model=widgets.SelectionSlider(options=[64, 128, 256, 512, 1024, 2048], value=512,
                                        description="d_model"),
        warmup=widgets.IntSlider(value=4000, min=100, max=16_000, step=100,
                                 description="warmup"),
        factor=widgets.FloatSlider(value=1.0, min=0.1, max=3.0, step=0.1, description="factor"),
        steps=widgets.SelectionSlider(options=SCHEDULE_STEPS, value=steps,
                                      description="steps shown"),
    )


def draw_history(history) -> Figure:
    """Training loss per step and validation loss (left), validation exact match (right)."""
    from .plots import curves

    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.6),
                                      gridspec_kw={"width_ratios": [1.6, 1]})
    fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.15, wspace=0.22)
    curves(history.step, {"training (label-smoothed)": history.loss}, ax=left, logy=True,
           xlabel="optimizer step", ylabel="loss per target token (log scale)")
    left.plot(history.valid_step, history.valid_loss, "o-", label="validation (cross-entropy)")
    left.legend(fontsize="small")
    curves(history.valid_step, {"exact match": history.valid_exact}, ax=right, marker="o",
           xlabel="optimizer step", ylabel="share of sequences exactly right")
    right.set_ylim(-0.03, 1.03)
    right.set_xlim(left.get_xlim())
    if history.valid_step:
        right.set_title(f"validation exact match: {history.valid_exact[-1]:.3f}")
        left.set_title(f"step {history.step[-1]}: training loss {history.loss[-1]:.3f}")
    return fig


class LiveHistory:
    """A `train(..., callback=)` that redraws the loss curves in place at each validation.

    In a notebook the figure appears once and is replaced as training goes; elsewhere each
    call prints the figure's text form. `figure` keeps the last drawing, `updates` counts them.
    """

    def __init__(self):
        self.handle = None
        self.figure: Figure | None = None
        self.updates = 0

    def __call__(self, history) -> None:
        from IPython.display import display

        fig = draw_history(history)
        if self.handle is None:
            self.handle = display(fig, display_id=True)  # None outside IPython
        else:
            self.handle.update(fig)
        plt.close(fig)  # shown already: the inline backend must not show it again
        self.figure = fig
        self.updates += 1


def draw_cross_attention(weights, src_tokens, tgt_tokens) -> Figure:
    """Every head's cross-attention in the LAST decoder layer, with axis names and a colour bar.

    `weights` is (N, H, T, S) from `collect_attention(model, "cross")` for one sentence.
    """
    N = weights.shape[0]  # decoder layers
    fig = draw_heads(weights[-1], src_tokens, query_tokens=tgt_tokens)  # (H, T, S): one layer
    fig.set_layout_engine("constrained")  # room for the axis names and colour bar added below
    axes = fig.axes
    for ax in axes:
        ax.set_xlabel("source (key)")
    axes[0].set_ylabel("decoder reads (query)")
    fig.suptitle(f"cross-attention of the last decoder layer (layer {N} of {N}), every head")
    fig.colorbar(axes[0].collections[0], ax=axes, shrink=0.9, label="attention weight")
    return fig


# --- Chapter 8 ---
from dataclasses import dataclass  # noqa: E402

NUMBER_EXAMPLES = (
    "einundzwanzig", "二十一",
    "dreihundertfünfundvierzigtausendsechshundertachtundsiebzig", "三十四万五千六百七十八",
    "einundzwanzigtausend", "二万千", "neunhunderteins", "九百一", "999999",
)
DIGIT_LANGUAGES = {"de": "German", "ja": "Japanese"}


def read_number(text: str, digits: str = "de") -> tuple[str, int, str]:
    """What a learner typed -> (number words as num2words writes them, number, 'de' or 'ja').

    Digits ('21', '345,678') become number words in the language `digits`; German or
    Japanese number words are checked to be exactly what num2words writes.
    """
    import re

    from .tasks import MAX_NUMBER, number_words, parse_number_words

    plain = re.sub(r"[\s,_.']", "", text)  # 345,678 or 345 678 or 345_678
    if re.fullmatch(r"[0-9]+", plain):
        if digits not in DIGIT_LANGUAGES:
            raise ValueError(f"digits can be read as {' or '.join(DIGIT_LANGUAGES)}, "
                             f"got {digits!r}")
        n = int(plain)
        if n > MAX_NUMBER:
            raise ValueError(f"{n:,} is too large: the model knows the numbers 0 to "
                             f"{MAX_NUMBER:,}")
        return number_words(n, digits), n, digits
    n, lang = parse_number_words(text)
    return number_words(n, lang), n, lang


@dataclass(frozen=True)
class NumberAttention:
    """One greedy translation by a numbers model and every attention weight behind it.

    `weights[part]` is (L, H, Tq, Tk) for part in ATTENTION_PARTS. Decoder queries are
    labelled 'read → written': the position that holds `read` writes the next word.
    """

    source: str
    number: int
    translation: str
    reference: str
    src_tokens: list[str]
    tgt_tokens: list[str]  # the decoder's input: <s> and the words written
    query_labels: list[str]  # "<s> → three", "three → hundred", ..., "eight → </s>"
    weights: dict

    @property
    def correct(self) -> bool:
        return self.translation == self.reference

    def tokens(self, part: str) -> tuple[list[str], list[str]]:
        """(key labels, query labels) of one kind of attention."""
        if part == "encoder":
            return self.src_tokens, self.src_tokens
        keys = self.src_tokens if part == "cross" else self.tgt_tokens
        return keys, self.query_labels


def number_attention(translator, text: str, digits: str = "de") -> NumberAttention:
    """Translate `text` greedily, then run the model on its own output keeping the weights.

    With the target fed whole (teacher forcing), each position's attention is the one it
    had while decoding: the causal mask hides the same future words.
    """
    from .data import BOS
    from .tasks import number_words

    source, n, _ = read_number(text, digits)
    att = translator.attention(source)  # every weight, with the model's own output fed in
    out = att.written[:-1]  # without the end token
    read = [BOS, *out]
    weights = {"encoder": att.encoder, "decoder": att.decoder, "cross": att.cross}
    return NumberAttention(source, n, translator.task.target_text(out), number_words(n, "en"),
                           att.source, read,
                           [f"{r} → {w}" for r, w in zip(read, att.written, strict=True)],
                           weights)


def draw_number_attention(view: NumberAttention, part: str = "cross", layer: int = 0,
                          head: int = 0) -> Figure:
    """One kind of attention of one translation, one head or all (`head=-1`) side by side.

    Rows are the queries' tokens, columns the keys'.
    """
    from .plots import heatmap

    if part not in ATTENTION_PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {', '.join(ATTENTION_PARTS)}")
    w = view.weights[part]  # (L, H, Tq, Tk)
    L, H = w.shape[:2]
    if not 0 <= layer < L or not -1 <= head < H:
        raise ValueError(f"need 0 <= layer < {L} and 0 <= head < {H} (or head = -1 for all "
                         f"heads), got layer={layer}, head={head}")
    keys, queries = view.tokens(part)
    heads = range(H) if head < 0 else [head]
    one = head >= 0
    # Fixed margins, not constrained layout: its layout pass was half of each update.
    fig, axes = plt.subplots(1, len(heads), squeeze=False,
                             figsize=(7.0, 6.0) if one else (3.2 * H, 6.0),
                             gridspec_kw=dict(left=0.24 if one else 0.13, right=0.98,
                                              bottom=0.15 if one else 0.19, top=0.84,
                                              wspace=0.06))
    for i, (ax, h) in enumerate(zip(axes[0], heads, strict=True)):
        # Token labels on the first panel only: the others share its rows and columns, and
        # every tick label costs redraw time (all heads took 180 ms of CPU with them, 110
        # without).
        rows, cols = (None, None) if i else (queries, keys)
        heatmap(w[layer, h], rows, cols, ax=ax, vmin=0.0, vmax=1.0, cbar=one,
                annot=one and w.shape[-2] * w.shape[-1] <= 50,  # numbers while few
                ticks=False, title=f"layer {layer}, head {h}",
                xlabel="key" if i == 0 else "same keys", ylabel="" if i else "query")
        if all(len(k) == 1 for k in keys):  # kanji keys: one character each, upright
            ax.tick_params(axis="x", labelrotation=0)
        elif not one:  # a narrow panel: words upright would overlap
            ax.tick_params(axis="x", labelrotation=90)
    lines = [ATTENTION_PARTS[part], f"{view.source} ({view.number:,})",
             f"→ {view.translation}  {'✓' if view.correct else '✗'}"]
    if not view.correct:
        lines.append(f"right: {view.reference}")
    fig.suptitle("\n".join(lines), fontsize="small")
    return fig


def number_attention_explorer(translator, examples=NUMBER_EXAMPLES) -> widgets.interactive:
    """Choose an example or type a number; pick the attention, layer and head; see the heatmap.

    Each number is run through the model once (then kept): moving the layer or head only
    redraws. A number the model cannot read prints what is wrong instead of a picture.
    """
    import functools

    from .tasks import number_words

    L, H = len(translator.model.encoder.layers), translator.model.encoder.layers[0].self_attn.h
    run = functools.lru_cache(maxsize=64)(functools.partial(number_attention, translator))

    def draw(number: str, digits: str, part: str, layer: int, head: int) -> Figure | None:
        try:
            _, n, _ = read_number(number, digits)
        except ValueError as e:
            print(e)
            return None
        # The toggle picks the language the model reads, for digits and words alike.
        return draw_number_attention(run(number_words(n, digits)), part, layer, head)

    language = widgets.ToggleButtons(options=[(v, k) for k, v in DIGIT_LANGUAGES.items()],
                                     value="de", description="read in")
    number = widgets.Combobox(value=examples[0], options=list(examples),
                              placeholder="type a number: digits or words",
                              description="number", ensure_option=False)

    def follow_words(change) -> None:
        """Typed (or picked) words set the toggle to their own language."""
        try:
            _, _, lang = read_number(change["new"], language.value)
        except ValueError:
            return
        language.value = lang

    number.observe(follow_words, names="value")
    w = interactive_figure(
        draw,
        number=number,
        digits=language,
        part=widgets.Dropdown(options=[(v, k) for k, v in ATTENTION_PARTS.items()],
                              value="cross", description="attention",
                              layout=widgets.Layout(width="30em")),  # the names are long
        # Buttons, not a slider: the numbers model has only 2 layers.
        layer=widgets.ToggleButtons(options=list(range(L)), value=0, description="layer"),
        head=head_picker(H),
    )
    return w


# --- Widget speed (issue 7: measured in the browser test) ---
def figure_png(fig: Figure) -> bytes:
    """`fig` as PNG bytes, as drawn (no tight cropping), compressed lightly for speed."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets needs IPython
        return False
    return get_ipython() is not None


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread: widgets compute on tiny tensors.

    On a machine whose cores are busy with other work, a second OpenMP thread makes small
    models wait for a core: chapter 0's translation took 2.2 s with 2 threads and 20 ms with
    1 on the loaded 2-core development machine (benchmarks/widgets.py).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- Chapter 9 ---

def translation_attention(translator, text: str):
    """Translate `text` greedily; return its pieces, the output pieces and the cross-attention.

    Returns (source pieces, output pieces with a final '</s>', weights (L, H, T, S)): row t
    of a layer's (T, S) map is the decoder query that wrote output piece t.
    """
    att = translator.attention(text)  # the same rerun as chapters 0 and 8
    return att.source, att.written, att.cross


def draw_translation(pieces, out_pieces, weights, layer: int = -1, head: int = -1,
                     text: str = "") -> Figure:
    """Cross-attention of one translation: output pieces (rows) against source pieces (columns).

    `weights` is (L, H, T, S); `head=-1` averages the heads, `layer=-1` takes the last layer.
    """
    from .plots import heatmap

    L, H = weights.shape[:2]
    if not -1 <= layer < L or not -1 <= head < H:
        raise ValueError(f"layer must be -1..{L - 1} and head -1..{H - 1}, "
                         f"got layer={layer}, head={head}")
    w = weights[layer]  # (H, T, S)
    w = w.mean(0) if head == -1 else w[head]  # (T, S)
    T, S = w.shape
    fig, ax = plt.subplots(figsize=(1.6 + 0.42 * S, 1.3 + 0.3 * T))
    fig.subplots_adjust(left=1.1 / (1.6 + 0.42 * S), right=0.98, bottom=0.9 / (1.3 + 0.3 * T),
                        top=1 - 0.45 / (1.3 + 0.3 * T))  # fixed margins: fast redraws
    which = f"layer {layer if layer >= 0 else L - 1}, " + (
        "mean of the heads" if head == -1 else f"head {head}")
    heatmap(w, list(out_pieces), list(pieces), ax=ax, vmin=0.0, vmax=1.0, annot=False,
            cbar=False, title=f"{text[:60]}\n{which}" if text else which,
            xlabel="German pieces (keys)", ylabel="English pieces written (queries)")
    return fig


def translation_explorer(translator, texts) -> widgets.interactive:
    """Pick a sentence: see its subword pieces, its translation and the cross-attention."""
    found = {text: translation_attention(translator, text) for text in texts}
    L, H = next(iter(found.values()))[2].shape[:2]

    def draw(text: str, layer: int, head: int) -> Figure:
        pieces, out, weights = found[text]
        return draw_translation(pieces, out, weights, layer=layer, head=head,
                                text=translator.task.target_text(out[:-1]))

    return interactive_figure(
        draw,
        text=widgets.Dropdown(options=list(found), value=next(iter(found)),
                              description="sentence", layout=widgets.Layout(width="90%")),
        layer=widgets.IntSlider(value=L - 1, min=0, max=L - 1, description="layer"),
        head=head_picker(H),
    )

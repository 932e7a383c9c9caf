"""Interactive figures for the notebooks: core ipywidgets around a drawing function of `viz.draw`.

Each chapter's widget wraps a `draw_*` function (arguments in, Figure out: tested without
a browser) with `interactive_figure`, which adds the sliders and dropdowns. Core ipywidgets
and inline PNGs only, so the widgets work in JupyterLab, classic Notebook and Colab alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import partial

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython import get_ipython
from IPython.display import Image, display
from matplotlib.figure import Figure

from ..attention_maps import AttentionMaps, describe_part
from ..model import ATTENTION_PARTS
from ..tasks import DIGIT_LANGUAGES, MAX_NUMBER, number_words, read_number
from .draw import (
    MASK_SENTENCES,
    draw_attention,
    draw_attention_query,
    draw_decoder_masked,
    draw_demo,
    draw_descent,
    draw_history,
    draw_masking,
    draw_number_embeddings,
    draw_positional,
    draw_positions_switch,
    draw_rope,
    draw_schedule,
    draw_training_switch,
)
from .measure import (
    MASK_EXAMPLES,
    NUMBER_EXAMPLES,
    number_attention,
    number_tables,
    one_cpu_thread,
    trained_and_untrained,
    untrained_twin,
    word_group,
)
from .primitives import figure_png

STYLE = {"description_width": "initial"}


def interactive_figure(draw: Callable[..., Figure], **controls) -> widgets.interactive:
    """An `ipywidgets.interactive` that redraws `draw(**values)` when a control moves.

    `.result` holds the last Figure, so tests can set `w.children[i].value` and inspect it.
    """

    def update(**values) -> Figure:
        plt.close("all")  # one live figure: an update never piles up old ones
        with one_cpu_thread():  # widgets compute on tiny tensors
            fig = draw(**values)
        if fig is not None and get_ipython() is not None:
            # Shown here rather than by the inline backend, whose bbox_inches="tight" lays
            # out every label a second time (40% of an update, measured with
            # benchmarks/widgets.py); widget figures have fixed margins, nothing to crop.
            display(Image(figure_png(fig)))
            plt.close(fig)  # so the backend does not show it a second time
        return fig

    for control in controls.values():
        if isinstance(control, widgets.Widget) and hasattr(control, "style"):
            control.style = STYLE
    return widgets.interactive(update, **controls)


def head_picker(H: int, value: int | str = "all") -> widgets.Dropdown:
    """A dropdown of every head at once ('all'), their mean ('mean') and each of the H heads."""
    options = [("all heads", "all"), ("mean of the heads", "mean")]
    options += [(f"head {i}", i) for i in range(H)]
    return widgets.Dropdown(options=options, value=value, description="head")


def part_picker(parts, value: str) -> widgets.Dropdown:
    """A dropdown of the kinds of attention a record holds."""
    return widgets.Dropdown(options=[(describe_part(p), p) for p in parts], value=value,
                            description="attention", layout=widgets.Layout(width="30em"))


def layer_picker(L: int, value: int) -> widgets.ToggleButtons:
    """Buttons for the layers, counted from 0 as the tensors do."""
    return widgets.ToggleButtons(options=list(range(L)), value=value, description="layer")


# --- Primer ---

def descent_explorer(lr: float = 0.1, steps: int = 30) -> widgets.interactive:
    """Sliders for the learning rate and the number of steps; the descent picture follows."""
    return interactive_figure(
        draw_descent,
        lr=widgets.FloatSlider(value=lr, min=0.01, max=0.3, step=0.01,
                               description="learning rate", readout_format=".2f"),
        steps=widgets.IntSlider(value=steps, min=1, max=60, description="steps"),
    )


# --- Chapter 0 ---

def demo_explorer(translator) -> widgets.interactive:
    """Type a number: see the German morphemes, the model's English and where it looked;
    switch to the untrained model to see what training changed."""
    L = len(translator.model.decoder.layers)
    return interactive_figure(
        partial(draw_demo, translator, untrained=untrained_twin(translator)),
        number=widgets.BoundedIntText(value=2026, min=0, max=MAX_NUMBER, description="number"),
        layer=layer_picker(L, L - 1),
        weights=widgets.ToggleButtons(options=["trained", "untrained"], value="trained",
                                      description="weights"),
    )


# --- Chapter 1 ---

def number_embedding_explorer(translator, k: int = 4) -> widgets.interactive:
    """Switch between the translator's trained English table and a random one; pick a word
    and see its nearest neighbours."""
    words = list(translator.tgt_vocab.itos)
    number_words_ = [w for w in words if word_group(w) != "other" or w == "zero"]
    return interactive_figure(
        partial(draw_number_embeddings, number_tables(translator), words, k=k),
        table=widgets.ToggleButtons(options=[("trained", "trained"),
                                             ("random (before training)", "random")],
                                    value="trained", description="table"),
        word=widgets.Dropdown(options=number_words_, value="twenty", description="word"),
    )


# --- Chapter 2 ---

def positional_explorer(max_len: int = 100, d_model: int = 512) -> widgets.interactive:
    """Sliders for the position and the dimension range; the curves and heatmap follow."""
    return interactive_figure(
        partial(draw_positional, max_len=max_len, d_model=d_model),
        position=widgets.IntSlider(value=10, min=0, max=max_len - 1, description="position"),
        dims=widgets.IntRangeSlider(value=(0, 128), min=0, max=d_model, step=2,
                                    description="dimensions"),
    )


def positions_switch_explorer(translator) -> widgets.interactive:
    """Type a number; switch the encoder's positions off and watch the translation change."""
    return interactive_figure(
        partial(draw_positions_switch, translator),
        number=widgets.BoundedIntText(value=32, min=0, max=MAX_NUMBER, description="number"),
        lang=widgets.ToggleButtons(options=[("Japanese", "ja"), ("German", "de")], value="ja",
                                   description="source"),
        positions=widgets.ToggleButtons(options=[("on", True), ("off", False)], value=True,
                                        description="source positions"),
    )


# --- Chapter 3 ---

def attention_explorer(tokens, query, key, value, features=None) -> widgets.interactive:
    """Pick a query word and a temperature; the weights and the output follow."""
    return interactive_figure(
        partial(draw_attention_query, list(tokens), query.detach().cpu(), key.detach().cpu(),
                value.detach().cpu(), features=features),
        word=widgets.Dropdown(options=list(tokens), value=tokens[0], description="query"),
        temperature=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                           description="temperature"),
    )


def training_switch(maps: dict, head: int | str = "mean") -> widgets.interactive:
    """Switch between the untrained and the trained number translator; pick a head."""
    H = maps["trained"].weights["cross"].shape[1]
    return interactive_figure(
        partial(draw_training_switch, maps),
        model=widgets.ToggleButtons(options=list(maps), value="untrained", description="model"),
        head=widgets.Dropdown(options=[("mean of the heads", "mean")]
                              + [(f"head {i}", i) for i in range(H)], value=head,
                              description="head"),
    )


# --- Chapter 4 ---

def maps_explorer(maps: AttentionMaps | dict[str, AttentionMaps], part: str | None = None,
                  head: int | str = "all", arrows: bool = False) -> widgets.interactive:
    """Pick the kind of attention (if several), the layer (if several) and the head.

    Several records by name ({"trained": .., "untrained": ..}) of the same words add a
    "weights" switch between them, first among the controls.
    """
    records = maps if isinstance(maps, dict) else {"": maps}
    name, first = next(iter(records.items()))
    parts = list(first.weights)
    part = part or parts[0]
    L, H = first.weights[parts[0]].shape[:2]
    controls: dict[str, widgets.Widget] = {}
    if len(records) > 1:
        controls["weights"] = widgets.ToggleButtons(options=list(records), value=name,
                                                    description="weights")
    if len(parts) > 1:
        controls["part"] = part_picker(parts, part)
    if L > 1:
        controls["layer"] = layer_picker(L, 0)
    controls["head"] = head_picker(H, head)

    def draw(weights: str = name, part: str = part, layer: int = 0,
             head: int | str = head) -> Figure:
        return draw_attention(records[weights], part, layer, head, arrows=arrows)

    return interactive_figure(draw, **controls)


def trained_heads_explorer(translator, text: str = "einundzwanzig", seed: int = 0,
                           part: str | None = None) -> widgets.interactive:
    """The translator's attention on `text`, every part, layer and head, with a switch to
    the same model untrained reading the same words."""
    records = trained_and_untrained(translator, [text], seed)[text]
    return maps_explorer({"trained": records["trained"], "untrained": records["untrained"]},
                         part)


# --- Chapter 5 ---

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


def decoder_mask_explorer(translator, texts=MASK_EXAMPLES) -> widgets.interactive:
    """The numbers model's decoder self-attention, trained or untrained, per layer and head.

    Every record is computed once, up front: moving a control only redraws.
    """
    records = trained_and_untrained(translator, texts)
    maps = next(iter(records.values()))["trained"]
    L, H = maps.decoder.shape[:2]
    return interactive_figure(
        partial(draw_decoder_masked, records),
        text=widgets.Dropdown(options=list(records), value=next(iter(records)),
                              description="number", layout=widgets.Layout(width="60%")),
        weights=widgets.ToggleButtons(options=["trained", "untrained"], value="trained",
                                      description="weights"),
        layer=layer_picker(L, 0),
        head=head_picker(H, 0),
    )


# --- Chapter 7 ---
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
        fig = draw_history(history)
        if self.handle is None:
            self.handle = display(fig, display_id=True)  # None outside IPython
        else:
            self.handle.update(fig)
        plt.close(fig)  # shown already: the inline backend must not show it again
        self.figure = fig
        self.updates += 1


# --- Chapter 8 ---

def number_attention_explorer(translator, examples=NUMBER_EXAMPLES) -> widgets.interactive:
    """Choose an example or type a number; pick the attention, layer and head; see the heatmap.

    Each number is run through the model once (then kept): moving the layer or head only
    redraws. A number the model cannot read prints what is wrong instead of a picture.
    """
    L, H = len(translator.model.encoder.layers), translator.model.encoder.layers[0].self_attn.h
    run = functools.lru_cache(maxsize=64)(partial(number_attention, translator))

    def draw(number: str, digits: str, part: str, layer: int, head: int | str) -> Figure | None:
        try:
            _, n, _ = read_number(number, digits)
        except ValueError as e:
            print(e)
            return None
        # The toggle picks the language the model reads, for digits and words alike.
        return draw_attention(run(number_words(n, digits)), part, layer, head, arrows=True)

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
    return interactive_figure(
        draw,
        number=number,
        digits=language,
        part=part_picker(ATTENTION_PARTS, "cross"),
        layer=layer_picker(L, 0),
        head=head_picker(H),
    )


# --- Chapter 9 ---

def translation_explorer(translator, texts) -> widgets.interactive:
    """Pick a sentence: see its subword pieces, its translation and the cross-attention."""
    found = {text: translator.attention(text) for text in texts}
    L, H = next(iter(found.values())).cross.shape[:2]

    def draw(text: str, layer: int, head: int | str) -> Figure:
        return draw_attention(found[text], "cross", layer, head)

    return interactive_figure(
        draw,
        text=widgets.Dropdown(options=list(found), value=next(iter(found)),
                              description="sentence", layout=widgets.Layout(width="90%")),
        layer=layer_picker(L, L - 1),
        head=head_picker(H, "mean"),
    )


# --- Chapter 10 ---

def rope_explorer(d_k: int = 64, positions: int = 64) -> widgets.interactive:
    """Sliders for the position and the pair (its frequency); the picture follows."""
    return interactive_figure(
        partial(draw_rope, d_k=d_k, positions=positions),
        position=widgets.IntSlider(value=5, min=0, max=positions - 1, description="position m"),
        pair=widgets.IntSlider(value=8, min=0, max=d_k // 2 - 1,
                               description="pair i (higher = slower)"),
    )

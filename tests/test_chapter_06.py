"""Chapter 6: the architecture and gradient-norm figures, the model attention explorer, graders."""


import matplotlib.pyplot as plt
import pytest
import torch

from annotated import (
    PositionwiseFeedForward,
    SublayerConnection,
    keep_attention,
    make_model,
    make_std_mask,
    padding_mask,
    pretrained,
)
from annotated.exercises import check_norm_prediction, check_untied_parameters
from annotated.model import collect_attention
from annotated.viz import figures
from annotated.viz.draw import grad_norms_figure
from annotated.viz.measure import layer_gradient_norms
from annotated.viz.widgets import trained_heads_explorer


def test_architecture_figure_labels_every_shape():
    fig = figures.FIGURES["06_architecture"].make()
    texts = {t.get_text() for t in fig.axes[0].texts}
    for shape in ("(B, S)", "(B, T)", "(B, S, D)", "(B, T, D)", "(B, T, V)"):
        assert shape in texts, shape
    assert any("K, V from memory" in t for t in texts)
    assert any(t.startswith("memory (B, S, D)") for t in texts)
    plt.close("all")


def test_post_norm_gradients_vanish_down_the_decoder_and_pre_norm_ones_do_not():
    pre = layer_gradient_norms("pre", N=12)
    post = layer_gradient_norms("post", N=12)
    assert len(pre["decoder"]) == len(post["encoder"]) == 12
    post_ratio = post["decoder"][-1] / post["decoder"][0]
    pre_ratio = max(pre["decoder"]) / min(pre["decoder"])
    assert post_ratio > 20 and pre_ratio < 4
    assert post["decoder"] == sorted(post["decoder"])  # smaller at every step down
    fig = grad_norms_figure({"pre": pre, "post": post})
    assert [ax.get_title() for ax in fig.axes] == ["encoder layers", "decoder layers"]
    assert fig.axes[1].get_yscale() == "log"
    plt.close("all")


def run_toy_model(N=2):
    model = make_model(11, 11, N=N, d_model=32, d_ff=64, h=4, dropout=0.0).eval()
    src = torch.tensor([[1, 2, 3, 4, 0]])  # (B, S), one pad
    tgt = torch.tensor([[1, 5, 6]])  # (B, T)
    return model, src, tgt


def test_collect_attention_shapes_and_errors():
    model, src, tgt = run_toy_model()
    with pytest.raises(ValueError, match="keep_attention"):
        collect_attention(model, "encoder")
    keep_attention(model)
    model(src, tgt, padding_mask(src, 0), make_std_mask(tgt, 0))
    assert collect_attention(model, "encoder").shape == (2, 4, 5, 5)  # (L, H, S, S)
    assert collect_attention(model, "decoder").shape == (2, 4, 3, 3)  # (L, H, T, T)
    cross = collect_attention(model, "cross")
    assert cross.shape == (2, 4, 3, 5)  # (L, H, T, S): target queries, source keys
    assert cross[..., -1].eq(0).all()  # the source pad gets no weight
    with pytest.raises(ValueError, match="unknown part 'both'"):
        collect_attention(model, "both")


def test_untied_parameters_grader():
    def layers(D, f, N):
        attn, ffn, norm = 4 * (D * D + D), D * f + f + f * D + D, 2 * D
        return N * (attn + ffn + 2 * norm) + N * (2 * attn + ffn + 3 * norm) + 2 * norm

    def right(sv, tv, D, f, N):
        return layers(D, f, N) + sv * D + tv * D + tv * D + tv

    def tied(sv, tv, D, f, N):
        return layers(D, f, N) + sv * D + tv

    def no_bias(sv, tv, D, f, N):
        return layers(D, f, N) + sv * D + 2 * tv * D

    def unwritten(sv, tv, D, f, N):
        ...

    assert check_untied_parameters(right).passed
    assert right(37_000, 37_000, 512, 2048, 6) - 63_121_544 == 2 * 37_000 * 512
    r = check_untied_parameters(tied)
    assert not r.passed and "that is the tied model" in r.message
    r = check_untied_parameters(no_bias)
    assert not r.passed and "also has a bias" in r.message
    r = check_untied_parameters(lambda sv, tv, D, f, N: 7)
    assert not r.passed and "src_vocab=11, tgt_vocab=13, d_model=8" in r.message
    assert "returned 7, expected 2,389" in r.message
    r = check_untied_parameters(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")


def test_norm_prediction_grader_names_every_catalogued_mistake():
    assert check_norm_prediction({"pre": 10, "post": 1}).passed
    assert check_norm_prediction({"pre": 9.9, "post": 1.0}).passed
    r = check_norm_prediction({"pre": 1, "post": 10})
    assert not r.passed and "swapped" in r.message
    r = check_norm_prediction({"pre": 1, "post": 1})
    assert not r.passed and "Not yet (pre)" in r.message and "unchanged" in r.message
    r = check_norm_prediction({"pre": 20, "post": 1})
    assert not r.passed and "correction" in r.message
    r = check_norm_prediction({"pre": 10, "post": 10})
    assert not r.passed and "Not yet (post)" in r.message and "after the sum" in r.message
    r = check_norm_prediction({"pre": ..., "post": ...})
    assert not r.passed and r.message.startswith("Not attempted yet")
    assert not check_norm_prediction([10, 1]).passed


def test_norm_prediction_matches_what_the_blocks_do():
    torch.manual_seed(0)
    D = 64
    ffn = PositionwiseFeedForward(D, 4 * D, dropout=0.0)
    x = torch.randn(4, 6, D) * 10
    pre = SublayerConnection(D, dropout=0.0, norm="pre")(x, ffn).std().item()
    post = SublayerConnection(D, dropout=0.0, norm="post")(x, ffn).std().item()
    assert check_norm_prediction({"pre": pre, "post": post}).passed


def blue_arrows(ax):
    """The residual arrows of a diagram: annotations drawn in the residual colour."""
    from matplotlib.colors import to_rgba

    from annotated.viz.draw import RESIDUAL
    return [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None
            and a.arrow_patch.get_edgecolor() == to_rgba(RESIDUAL)]


def test_architecture_figure_draws_a_residual_path_around_every_sublayer():
    fig = figures.FIGURES["06_architecture"].make()
    ax = fig.axes[0]
    assert len(blue_arrows(ax)) == 5  # encoder: 2 sublayers, decoder: 3
    assert sum(t.get_text() == "+" for t in ax.texts) == 5
    plt.close("all")


def test_layers_residual_figure_one_residual_per_sublayer():
    fig = figures.FIGURES["06_layers_residual"].make()
    enc, dec = fig.axes
    assert enc.get_title().startswith("encoder layer") and dec.get_title().startswith("decoder")
    for ax, n, sublayers in ((enc, 2, {"self-attention", "feed-forward"}),
                             (dec, 3, {"masked self-attention", "feed-forward"})):
        texts = [t.get_text() for t in ax.texts]
        assert len(blue_arrows(ax)) == n and texts.count("+") == n
        assert texts.count("LayerNorm") == n  # pre-norm: one norm before each sublayer
        assert sublayers <= set(texts)
    assert any("cross-attention" in t.get_text() for t in dec.texts)
    assert any("same width" in t.get_text() for t in enc.texts)
    plt.close("all")


def test_pre_post_norm_figure_puts_the_norm_inside_or_after_the_residual():
    fig = figures.FIGURES["06_pre_post_norm"].make()
    pre, post = fig.axes
    assert "x + Sublayer(LayerNorm(x))" in pre.get_title()
    assert "LayerNorm(x + Sublayer(x))" in post.get_title()

    def height(ax, label):
        return next(t.get_position()[1] for t in ax.texts if t.get_text() == label)

    for ax in (pre, post):
        assert len(blue_arrows(ax)) == 1
    # Pre-norm: the LayerNorm is below the +, inside the residual; post-norm: above it.
    assert height(pre, "LayerNorm") < height(pre, "+")
    assert height(post, "LayerNorm") > height(post, "+") > height(post, "Sublayer")
    plt.close("all")


def test_without_feed_forward_zeroes_every_ffn_and_restores_it():
    from annotated.viz.measure import without_feed_forward
    model, src, tgt = run_toy_model()
    x = torch.randn(1, 3, 32)
    kept = model.encoder.layers[0].feed_forward
    with without_feed_forward(model):
        layers = [*model.encoder.layers, *model.decoder.layers]
        assert all(layer.feed_forward(x).eq(0).all() for layer in layers)
    assert model.encoder.layers[0].feed_forward is kept


def test_the_explorer_switches_trained_and_untrained_on_cross_attention():

    w = trained_heads_explorer(pretrained.load("numbers"), "einundzwanzig", part="cross")
    weights, part, layer, head = w.children[:4]
    assert weights.value == "trained" and part.value == "cross"
    head.value = 0
    trained = w.result.axes[0].collections[0].get_array().copy()
    ax = w.result.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ein", "und", "zwanzig"]
    weights.value = "untrained"
    untrained = w.result.axes[0].collections[0].get_array()
    assert trained.shape == untrained.shape and not (trained == untrained).all()
    layer.value = 1
    part.value = "decoder"
    ax = w.result.axes[0]
    assert "layer 1 (last of 2)" in ax.get_title() and ax.get_title().endswith("head 0")
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["twenty", "-"]  # what each wrote
    plt.close("all")


def test_attention_bound_grader():
    from annotated.exercises import check_attention_bound
    assert check_attention_bound(lambda v: v.max(dim=0).values).passed
    for wrong, named in ((lambda v: v.sum(dim=0), "sum of the values"),
                         (lambda v: v.mean(dim=0), "equal weights"),
                         (lambda v: v.max().expand(v.shape[1]), "per coordinate"),
                         (lambda v: v.abs().max(dim=0).values, "no absolute values")):
        r = check_attention_bound(wrong)
        assert not r.passed and named in r.message, r.message
    r = check_attention_bound(lambda v: v.min(dim=0).values)
    assert not r.passed and "test case 1" in r.message

    def unwritten(values):
        ...

    r = check_attention_bound(unwritten)
    assert r.message.startswith("Not attempted yet") and "max(" not in r.message


def test_norm_prediction_hint_is_tiered_and_never_the_answer():
    message = check_norm_prediction({"pre": ..., "post": ...}).message
    assert "Hint 1" in message and "Hint 2" in message
    assert message.index("Hint 1") < message.index("Hint 2")
    assert "'pre': 10" not in message and "about 10" not in message


def test_untied_parameters_grader_names_every_catalogued_mistake():
    def layers(D, f, N):
        attn, ffn, norm = 4 * (D * D + D), D * f + f + f * D + D, 2 * D
        return N * (attn + ffn + 2 * norm) + N * (2 * attn + ffn + 3 * norm) + 2 * norm

    r = check_untied_parameters(lambda sv, tv, D, f, N: layers(D, f, N) + 3 * sv * D + tv)
    assert not r.passed and "tgt_vocab rows, not src_vocab" in r.message
    r = check_untied_parameters(
        lambda sv, tv, D, f, N: layers(D, f, N) + (sv + 2 * tv) * D + tv - 2 * D)
    assert not r.passed and "final LayerNorms" in r.message


def test_train_without_warmup_returns_one_loss_per_step():
    from annotated.viz.measure import train_without_warmup
    losses = train_without_warmup("post", N=1, steps=3)
    assert len(losses) == 3 and all(loss > 0 for loss in losses)

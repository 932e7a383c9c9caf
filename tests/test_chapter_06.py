"""Chapter 6: the architecture and gradient-norm figures, the model attention explorer, graders."""

import time

import matplotlib.pyplot as plt
import pytest
import torch

from annotated import keep_attention, make_model, make_std_mask, padding_mask
from annotated.exercises import check_post_norm, check_untied_parameters
from annotated.model import collect_attention
from annotated.viz import figures
from annotated.viz.draw import grad_norms_figure
from annotated.viz.measure import layer_gradient_norms
from annotated.viz.widgets import model_attention_explorer


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


def test_model_attention_explorer_switches_part_layer_head():
    model, src, tgt = run_toy_model()
    model.train()
    w = model_attention_explorer(model, src, tgt, list("abcde"), ["<s>", "x", "y"],
                                 padding_mask(src, 0))
    assert model.training  # the explorer's run leaves the model as it was
    part, layer, head = w.children[:3]
    w.update()
    assert len([a for a in w.result.axes if a.get_title().startswith("head")]) == 4  # all
    start = time.perf_counter()
    head.value = 2
    took = time.perf_counter() - start
    part.value = "cross"
    layer.value = 1
    ax = w.result.axes[0]
    assert "layer 1 (last of 2), head 2" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["<s>", "x", "y"]  # queries
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcde")  # keys
    assert ax.collections[0].get_array().reshape(3, 5)[:, -1].max() == 0  # pad: no weight
    assert took < 0.5, f"one update took {took:.3f} s"
    plt.close("all")


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


def test_post_norm_grader():
    assert check_post_norm(lambda x, s, n: n(x + s(x))).passed
    r = check_post_norm(lambda x, s, n: x + s(n(x)))
    assert not r.passed and "pre-norm" in r.message
    r = check_post_norm(lambda x, s, n: n(s(x)))
    assert not r.passed and "residual is missing" in r.message

    def unwritten(x, sublayer, norm):
        ...

    r = check_post_norm(unwritten)
    assert not r.passed and r.message.startswith("Not attempted yet")

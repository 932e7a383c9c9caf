"""The one attention record: labels per part, a recorded run, the model left as it was."""

import pytest
import torch

from annotated import make_model, padding_mask
from annotated.attention_maps import AttentionMaps, describe_part, record_attention


def record(model):
    src = torch.tensor([[3, 4, 5, 0]])  # (1, S): one pad at the end
    tgt = torch.tensor([[1, 6, 7]])  # (1, T): <s> and two words
    return record_attention(model, src, tgt, ["a", "b", "c", "<pad>"], ["<s>", "x", "y"],
                            padding_mask(src, 0), written=["x", "y", "</s>"])


def toy_run(train_mode: bool, keep: bool = False):
    model = make_model(11, 11, N=2, d_model=16, d_ff=32, h=4, dropout=0.1)
    model.train(train_mode)
    for m in model.modules():
        if hasattr(m, "keep_attn"):
            m.keep_attn = keep
    return model, record(model)


@pytest.mark.parametrize("train_mode", [True, False])
def test_record_attention_keeps_every_part_and_leaves_the_model_as_it_was(train_mode):
    model, maps = toy_run(train_mode)
    assert {p: tuple(w.shape) for p, w in maps.weights.items()} == {
        "encoder": (2, 4, 4, 4), "decoder": (2, 4, 3, 3), "cross": (2, 4, 3, 4)}
    for w in maps.weights.values():
        torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]))
    assert maps.cross[..., -1].eq(0).all()  # the source pad gets no weight
    assert maps.decoder.triu(1).eq(0).all()  # the decoder never looks ahead
    assert model.training is train_mode
    assert not any(m.keep_attn for m in model.modules() if hasattr(m, "keep_attn"))
    # Eval mode inside: dropout off, so two records of the same run agree exactly.
    torch.testing.assert_close(record(model).cross, maps.cross, rtol=0, atol=0)


def test_record_attention_restores_keep_attn_that_was_on():
    model, _ = toy_run(False, keep=True)
    assert all(m.keep_attn for m in model.modules() if hasattr(m, "keep_attn"))


def test_labels_name_queries_and_keys_per_part():
    _, maps = toy_run(False)
    assert maps.labels("encoder") == (["a", "b", "c", "<pad>"], ["a", "b", "c", "<pad>"])
    assert maps.labels("decoder") == (["x", "y", "</s>"], ["<s>", "x", "y"])
    assert maps.labels("cross", arrows=True)[0] == ["<s> → x", "x → y", "y → </s>"]
    with pytest.raises(ValueError, match="no part 'both' recorded"):
        maps.labels("both")


def test_correct_is_known_only_with_a_translation_and_a_reference():
    w = {"self": torch.full((1, 1, 2, 2), 0.5)}
    assert AttentionMaps(w, ["a", "b"]).correct is None
    assert AttentionMaps(w, ["a", "b"], translation="x", reference="x").correct is True
    assert AttentionMaps(w, ["a", "b"], translation="x", reference="y").correct is False


def test_of_heads_and_part_names():
    maps = AttentionMaps.of_heads(torch.rand(8, 5, 5), list("abcde"))
    assert list(maps.weights) == ["self"] and maps.weights["self"].shape == (1, 8, 5, 5)
    cross = AttentionMaps.of_heads(torch.rand(2, 4, 3, 5), list("abcde"), list("xyz"))
    assert cross.labels("cross") == (list("xyz"), list("abcde"))
    assert describe_part("cross") == "cross-attention (decoder queries, encoder keys)"
    assert describe_part("cross", short=True) == "cross-attention"
    assert describe_part("self") == "self-attention"

import pytest
import torch
from torch import nn

from annotated import (
    DecoderLayer,
    EncoderLayer,
    MultiHeadedAttention,
    PositionwiseFeedForward,
    SublayerConnection,
    make_std_mask,
    padding_mask,
)

from reference import copy_decoder_layer, copy_encoder_layer, layer_kwargs

D, H, FF = 16, 4, 32


def encoder_layer(norm):
    return EncoderLayer(D, MultiHeadedAttention(H, D, 0.0), PositionwiseFeedForward(D, FF, 0.0),
                        0.0, norm)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_encoder_layer_equals_torch(norm):
    ours = encoder_layer(norm).eval()
    ref = nn.TransformerEncoderLayer(**layer_kwargs(D, H, FF, norm)).eval()
    copy_encoder_layer(ours, ref)
    src = torch.tensor([[3, 4, 5, 0], [3, 4, 5, 6]])
    x = torch.randn(2, 4, D)
    out = ours(x, padding_mask(src, 0))
    expected = ref(x, src_key_padding_mask=src == 0)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_decoder_layer_equals_torch(norm):
    ours = DecoderLayer(D, MultiHeadedAttention(H, D, 0.0), MultiHeadedAttention(H, D, 0.0),
                        PositionwiseFeedForward(D, FF, 0.0), 0.0, norm).eval()
    ref = nn.TransformerDecoderLayer(**layer_kwargs(D, H, FF, norm)).eval()
    copy_decoder_layer(ours, ref)
    src = torch.tensor([[3, 4, 0, 0, 0], [3, 4, 5, 6, 7]])
    tgt = torch.tensor([[1, 2, 3], [1, 2, 3]])
    x, memory = torch.randn(2, 3, D), torch.randn(2, 5, D)
    out = ours(x, memory, padding_mask(src, 0), make_std_mask(tgt, 0))
    causal = nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.bool)
    expected = ref(x, memory, tgt_mask=causal, tgt_is_causal=True,
                   memory_key_padding_mask=src == 0)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_sublayer_connection_orders():
    x = torch.randn(2, 3, D)
    double = lambda t: 2 * t  # noqa: E731
    pre, post = SublayerConnection(D, 0.0, "pre"), SublayerConnection(D, 0.0, "post")
    torch.testing.assert_close(pre(x, double), x + 2 * pre.norm(x))
    torch.testing.assert_close(post(x, double), post.norm(3 * x))


def test_unknown_norm_placement():
    with pytest.raises(ValueError, match="unknown norm placement 'middle'"):
        SublayerConnection(D, 0.0, "middle")


def test_feed_forward_expands_then_compresses():
    ff = PositionwiseFeedForward(512, 2048, 0.0)
    assert ff.w_1.weight.shape == (2048, 512) and ff.w_2.weight.shape == (512, 2048)
    assert ff(torch.randn(1, 4, 512)).shape == (1, 4, 512)

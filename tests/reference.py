"""Copy our weights into PyTorch's own Transformer modules, to prove the two equal."""

import torch
from torch import nn

from annotated.layers import LAYER_NORM_EPS


def copy_attention(ours, ref: nn.MultiheadAttention) -> None:
    ref.in_proj_weight.copy_(torch.cat([lin.weight for lin in ours.linears[:3]]))
    ref.in_proj_bias.copy_(torch.cat([lin.bias for lin in ours.linears[:3]]))
    ref.out_proj.weight.copy_(ours.linears[3].weight)
    ref.out_proj.bias.copy_(ours.linears[3].bias)


def copy_norm(ours: nn.LayerNorm, ref: nn.LayerNorm) -> None:
    ref.weight.copy_(ours.weight)
    ref.bias.copy_(ours.bias)


def copy_ffn(ours, ref) -> None:
    ref.linear1.load_state_dict(ours.feed_forward.w_1.state_dict())
    ref.linear2.load_state_dict(ours.feed_forward.w_2.state_dict())


@torch.no_grad()
def copy_encoder_layer(ours, ref: nn.TransformerEncoderLayer) -> None:
    copy_attention(ours.self_attn, ref.self_attn)
    copy_ffn(ours, ref)
    copy_norm(ours.sublayer[0].norm, ref.norm1)
    copy_norm(ours.sublayer[1].norm, ref.norm2)


@torch.no_grad()
def copy_decoder_layer(ours, ref: nn.TransformerDecoderLayer) -> None:
    copy_attention(ours.self_attn, ref.self_attn)
    copy_attention(ours.src_attn, ref.multihead_attn)
    copy_ffn(ours, ref)
    for i, norm in enumerate((ref.norm1, ref.norm2, ref.norm3)):
        copy_norm(ours.sublayer[i].norm, norm)


def layer_kwargs(d_model, h, d_ff, norm):
    return dict(d_model=d_model, nhead=h, dim_feedforward=d_ff, dropout=0.0, activation="relu",
                layer_norm_eps=LAYER_NORM_EPS, batch_first=True, norm_first=norm == "pre")


@torch.no_grad()
def torch_transformer_like(model) -> nn.Transformer:
    """An nn.Transformer holding the weights of our EncoderDecoder `model`."""
    cfg = model.config
    kw = layer_kwargs(cfg.d_model, cfg.h, cfg.d_ff, cfg.norm)
    kw.pop("d_model"), kw.pop("nhead")
    ref = nn.Transformer(cfg.d_model, cfg.h, cfg.N, cfg.N, **kw)
    for ours, theirs in zip(model.encoder.layers, ref.encoder.layers, strict=True):
        copy_encoder_layer(ours, theirs)
    for ours, theirs in zip(model.decoder.layers, ref.decoder.layers, strict=True):
        copy_decoder_layer(ours, theirs)
    if cfg.norm == "pre":
        copy_norm(model.encoder.norm, ref.encoder.norm)
        copy_norm(model.decoder.norm, ref.decoder.norm)
    else:  # the paper's post-norm ends each layer with a LayerNorm and adds no final one
        ref.encoder.norm = nn.Identity()
        ref.decoder.norm = nn.Identity()
    return ref

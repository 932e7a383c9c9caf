"""Chapter 6's solutions: an untied count, the two norm orders' scale, attention's bound."""

from __future__ import annotations


def untied_parameters(src_vocab, tgt_vocab, d_model, d_ff, N):
    """Every layer as in parameter_table, plus three vocabulary matrices and the generator bias."""
    D = d_model
    attn = 4 * (D * D + D)  # W_q, W_k, W_v, W_o with biases
    ffn = D * d_ff + d_ff + d_ff * D + D
    norm = 2 * D
    layers = N * (attn + ffn + 2 * norm) + N * (2 * attn + ffn + 3 * norm) + 2 * norm
    vocabulary = src_vocab * D + tgt_vocab * D + (tgt_vocab * D + tgt_vocab)
    return layers + vocabulary


def attention_bound(values):
    """All the weight on the position with the largest value, separately per coordinate."""
    return values.max(dim=0).values


SOLUTIONS = {
    "check_untied_parameters": untied_parameters,
    # pre-norm keeps the stream's scale; post-norm's last LayerNorm resets it to 1
    "check_norm_prediction": {"pre": 10, "post": 1},
    "check_attention_bound": attention_bound,
}

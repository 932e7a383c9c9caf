"""annotated: the encoder-decoder Transformer from scratch, one module per chapter."""

__version__ = "0.1.0"

from .attention import attention
from .attention_maps import AttentionMaps, record_attention
from .device import Precision, default_device, describe, precision_for
from .embeddings import Embeddings
from .layers import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    PositionwiseFeedForward,
    SublayerConnection,
    clones,
)
from .masks import make_std_mask, padding_mask, subsequent_mask
from .model import (
    EncoderDecoder,
    Generator,
    ModelConfig,
    count_parameters,
    evaluating,
    keep_attention,
    make_model,
    model_from_config,
)
from .multihead import MultiHeadedAttention
from .positional import PositionalEncoding
from .show import show, source

__all__ = [
    "AttentionMaps", "Decoder", "DecoderLayer", "Embeddings", "Encoder", "EncoderDecoder",
    "EncoderLayer", "Generator", "ModelConfig", "MultiHeadedAttention", "PositionalEncoding",
    "PositionwiseFeedForward", "Precision", "SublayerConnection", "attention", "clones",
    "count_parameters", "default_device", "describe", "evaluating", "keep_attention",
    "make_model", "make_std_mask", "model_from_config", "padding_mask", "precision_for",
    "record_attention", "show", "source", "subsequent_mask", "__version__",
]

# --- Chapters 7-10 ---
# Submodules, so that `annotated.pretrained.load("numbers")` works after `import annotated`.
from . import (  # noqa: E402, F401
    checkpoint,
    data,
    decoder_only,
    decoding,
    distributed,
    losses,
    metrics,
    modern,
    multi30k,
    pretrained,
    registry,
    tasks,
    training,
)
from .multi30k import Multi30kTask  # noqa: E402, F401

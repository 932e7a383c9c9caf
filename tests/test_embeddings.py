import math

import pytest
import torch
import torch.nn.functional as F

from annotated import Embeddings


def test_lookup_is_scaled_by_sqrt_d_model():
    emb = Embeddings(d_model=16, vocab=10)
    ids = torch.tensor([[1, 2, 3, 4]])  # "The cat drinks milk": B=1, S=4
    out = emb(ids)
    assert out.shape == (1, 4, 16)
    torch.testing.assert_close(out, emb.lut.weight[ids] * math.sqrt(16))


def test_lookup_equals_one_hot_matmul():
    emb = Embeddings(d_model=8, vocab=6)
    ids = torch.tensor([[0, 5, 2]])
    one_hot = F.one_hot(ids, num_classes=6).float()  # (1, 3, V)
    torch.testing.assert_close(emb(ids), one_hot @ emb.lut.weight * math.sqrt(8))


@pytest.mark.parametrize(
    "ids, error, words",
    [
        (torch.tensor([[1, -1]]), ValueError, "found -1"),
        (torch.tensor([[1, 10]]), ValueError, "[0, 9]"),
        (torch.tensor([[1.0, 2.0]]), TypeError, "dtype torch.float32"),
        (torch.zeros(0, 3, dtype=torch.long), ValueError, "empty batch"),
        (torch.tensor([1, 2]), ValueError, "unsqueeze(0)"),
    ],
)
def test_bad_token_ids_get_clear_errors(ids, error, words):
    emb = Embeddings(d_model=4, vocab=10)
    with pytest.raises(error) as info:
        emb(ids)
    assert words in str(info.value)

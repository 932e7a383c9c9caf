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


def test_nearest_neighbours_rank_by_cosine_and_skip_the_word_itself():
    from annotated.embeddings import nearest_neighbours

    table = torch.tensor([[1.0, 0.0], [10.0, 10.0], [0.9, 0.1], [-1.0, 0.0]])
    ids, sims = nearest_neighbours(table, 0, k=3)
    assert ids.tolist() == [2, 1, 3]  # the long row 1 does not win by its length
    assert sims[0].item() == pytest.approx(0.9 / math.hypot(0.9, 0.1), abs=1e-6)
    assert sims[-1].item() == pytest.approx(-1.0)
    with pytest.raises(ValueError, match=r"k must lie in \[1, 3\]"):
        nearest_neighbours(table, 0, k=4)
    with pytest.raises(ValueError, match="index"):
        nearest_neighbours(table, 4)

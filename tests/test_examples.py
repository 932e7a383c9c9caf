import pytest
import torch

from annotated.examples import CAT, SHE, WordVocab, she_gave_him_her_book


def test_the_cat_drinks_milk_is_four_ids():
    vocab = WordVocab()
    ids = vocab.encode(CAT)
    assert ids.shape == (1, 4) and ids.dtype == torch.long
    assert vocab.decode(ids[0]) == ["the", "cat", "drinks", "milk"]
    assert vocab.decode(vocab.encode("The zebra drinks.")[0]) == ["the", "<unk>", "drinks", "."]


def test_vocab_refuses_bad_input():
    with pytest.raises(ValueError, match="empty"):
        WordVocab().encode("   ")
    with pytest.raises(ValueError, match="twice"):
        WordVocab(("<unk>", "a", "a"))
    with pytest.raises(ValueError, match="<unk>"):
        WordVocab(("a", "b"))


def test_she_example_has_matching_shapes():
    tokens, q, k, v = she_gave_him_her_book()
    assert tokens == SHE.lower().split()
    assert q.shape == k.shape == v.shape == (5, 4)

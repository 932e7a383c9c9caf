import torch

from annotated import make_std_mask, padding_mask, subsequent_mask


def test_subsequent_mask_is_lower_triangular():
    m = subsequent_mask(4)
    assert m.shape == (1, 4, 4) and m.dtype == torch.bool
    assert torch.equal(m[0], torch.tril(torch.ones(4, 4, dtype=torch.bool)))


def test_padding_and_target_masks():
    ids = torch.tensor([[5, 6, 0, 0], [7, 8, 9, 0]])
    assert padding_mask(ids, pad=0).tolist() == [[[True, True, False, False]],
                                                 [[True, True, True, False]]]
    tgt = make_std_mask(ids, pad=0)
    assert tgt.shape == (2, 4, 4)
    # Row 1 of sentence 0 sees positions 0 and 1; the padded key 2 is hidden even from row 3.
    assert tgt[0, 1].tolist() == [True, True, False, False]
    assert tgt[0, 3].tolist() == [True, True, False, False]
    assert tgt[1, 0].tolist() == [True, False, False, False]

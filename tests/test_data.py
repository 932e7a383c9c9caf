import pytest
import torch

from annotated import attention, make_model
from annotated.data import Vocab, bucket_batches, make_batch, pad_sequences


def test_vocab_specials_encode_decode_round_trip():
    v = Vocab.build([["b", "a", "a"], ["c", "a"]])
    assert v.itos[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (v.pad, v.bos, v.eos, v.unk) == (0, 1, 2, 3)
    assert v.itos[4:] == ["a", "b", "c"]  # most frequent first, ties by name
    ids = v.encode(["c", "a", "zzz"], bos=True, eos=True)
    assert ids == [1, 6, 4, 3, 2]
    assert v.decode(ids) == ["c", "a", "<unk>"]
    assert v.decode([1, 5, 2, 6, 0]) == ["b"]  # stops at </s>
    assert v.decode([1, 5, 0], strip=False) == ["<s>", "b", "<pad>"]
    assert Vocab.from_dict(v.to_dict()) == v and len(v) == 7


def test_vocab_rejects_bad_tables():
    with pytest.raises(ValueError, match="first tokens must be"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="special token"):
        Vocab.build([["<s>", "x"]])
    with pytest.raises(ValueError, match="distinct"):
        Vocab(["<pad>", "<s>", "</s>", "<unk>", "a", "a"])


def test_pad_sequences():
    t = pad_sequences([[5, 6, 7], [8]], pad=0)
    assert t.tolist() == [[5, 6, 7], [8, 0, 0]] and t.dtype == torch.long
    with pytest.raises(ValueError, match="empty"):
        pad_sequences([], 0)


def test_batch_shifts_targets_and_masks_padded_queries():
    v = Vocab.build([list("abcd")])
    b = make_batch([(["a", "b", "c"], ["a", "b", "c"]), (["d"], ["c"])], v, v)
    assert b.src.shape == (2, 3) and b.tgt.shape == (2, 4) and b.tgt_y.shape == (2, 4)
    # <s> a b c </s> -> input <s> a b c, output a b c </s>; the second row is padded.
    assert b.tgt[0].tolist() == [v.bos, *v.encode("abc")]
    assert b.tgt[1].tolist() == [v.bos, v.stoi["c"], v.eos, v.pad]
    assert b.tgt_y[1].tolist() == [v.stoi["c"], v.eos, v.pad, v.pad]
    assert b.ntokens == 4 + 2
    assert b.src_mask.tolist() == [[[True, True, True]], [[True, False, False]]]
    # The padded query (last row of the second example) may see nothing; the real queries
    # see themselves and the earlier real keys.
    causal = [[True, False, False, False], [True, True, False, False],
              [True, True, True, False], [True, True, True, True]]
    assert b.tgt_mask[0].tolist() == causal
    assert b.tgt_mask[1].tolist() == causal[:3] + [[False] * 4]


def test_masked_query_rows_give_zeros_not_nan():
    v = Vocab.build([list("ab")])
    b = make_batch([(["a"], ["a", "b", "a"]), (["b"], ["b"])], v, v)
    q = torch.randn(2, 1, b.tgt.size(1), 8)
    out, w = attention(q, q, q, mask=b.tgt_mask.unsqueeze(1))
    assert torch.isfinite(out).all() and (w[1, 0, -1] == 0).all()
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, q, q,
                                                            attn_mask=b.tgt_mask.unsqueeze(1))
    assert torch.isfinite(sdpa).all() and (sdpa[1, 0, -1] == 0).all()


def test_a_batch_with_padded_queries_trains_without_nan():
    v = Vocab.build([list("abc")])
    b = make_batch([(["a", "b"], ["a", "b", "c", "a"]), (["c"], ["b"])], v, v)
    for backend in ("sdpa", "naive"):
        model = make_model(len(v), len(v), N=2, d_model=16, d_ff=32, h=2, attn_backend=backend)
        out = model(b.src, b.tgt, b.src_mask, b.tgt_mask)  # (B, T, D)
        out.sum().backward()
        assert torch.isfinite(out).all()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_bucket_batches_cover_every_index_once_with_similar_lengths():
    lengths = [(i * 37) % 50 + 1 for i in range(1000)]
    batches = bucket_batches(lengths, batch_size=32, seed=3, pool=10)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert all(len(b) <= 32 for b in batches)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    rand = [list(range(i, 1000, 32)) for i in range(32)]  # no bucketing, for comparison
    assert spread < sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in rand) / 5
    assert batches == bucket_batches(lengths, 32, seed=3, pool=10)  # deterministic
    assert batches != bucket_batches(lengths, 32, seed=4, pool=10)
    with pytest.raises(ValueError, match="batch_size"):
        bucket_batches(lengths, 0)


def test_batch_to_device_keeps_everything():
    v = Vocab.build([list("ab")])
    b = make_batch([(["a"], ["b"])], v, v).to("cpu")
    assert b.src.device.type == "cpu" and len(b) == 1

import pytest
import torch

from annotated import make_model, padding_mask, subsequent_mask
from annotated.data import Vocab
from annotated.decoding import (
    beam_search,
    greedy_decode,
    length_penalty,
    translate_tokens,
)
from annotated.multihead import KVCache

V = 12
START, END, PAD = 1, 2, 0


def tiny(norm="pre", backend="sdpa", tgt_vocab=V):
    return make_model(V, tgt_vocab, N=2, d_model=32, d_ff=64, h=4, dropout=0.0, norm=norm,
                      attn_backend=backend).eval()


def source():
    src = torch.tensor([[3, 4, 5, 6, 7, 8], [9, 10, 11, 0, 0, 0], [5, 5, 0, 0, 0, 0]])
    return src, padding_mask(src, PAD)


@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("backend", ["sdpa", "naive"])
def test_cached_decoder_states_equal_recomputing_the_prefix(norm, backend):
    model = tiny(norm, backend)
    src, src_mask = source()
    tgt = torch.randint(3, V, (3, 7))
    memory = model.encode(src, src_mask)
    full = model.decode(memory, src_mask, tgt, subsequent_mask(7))  # (B, T, D)
    cache = model.new_cache()
    steps = [model.decode(memory, src_mask, tgt[:, t : t + 1], None, cache=cache)
             for t in range(7)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)
    assert cache.length == 7
    # Cross-attention keys/values were computed once, from the memory (S = 6 positions).
    assert all(src_kv.static and src_kv.length == 6 for _, src_kv in cache.layers)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_cached_greedy_gives_the_same_tokens(norm):
    for seed in range(5):
        torch.manual_seed(seed)
        model = tiny(norm)
        src, src_mask = source()
        fast = greedy_decode(model, src, src_mask, 16, START, cache=True)
        slow = greedy_decode(model, src, src_mask, 16, START, cache=False)
        assert fast.shape == (3, 16) and torch.equal(fast, slow)
        assert (fast[:, 0] == START).all()


def test_greedy_stops_at_end_of_sequence_and_pads_after_it():
    model = tiny()
    src, src_mask = source()
    with torch.no_grad():
        model.generator.proj.bias[END] = 50.0  # every row says </s> at once
    ys = greedy_decode(model, src, src_mask, 16, START, end_symbol=END)
    assert ys.tolist() == [[START, END]] * 3
    with torch.no_grad():
        model.generator.proj.bias[END] = 0.0
        model.generator.proj.bias[7] = 50.0  # now nobody ends: decoding runs to max_len
    ys = greedy_decode(model, src, src_mask, 5, START, end_symbol=END)
    assert ys.shape == (3, 5) and (ys[:, 1:] == 7).all()
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, src, src_mask, 0, START)


def test_rows_that_finished_get_padding():
    model = tiny()
    src, src_mask = source()
    ys = greedy_decode(model, src, src_mask, 12, START)
    end = int(ys[0, 3])  # call whatever row 0 says at step 3 the end symbol
    out = greedy_decode(model, src, src_mask, 12, START, end_symbol=end)
    first = (out[0] == end).nonzero()[0].item()
    assert (out[0, first + 1 :] == PAD).all()


def test_kv_cache_reorder_keeps_rows():
    kv = KVCache(k=torch.arange(6.0).view(3, 1, 2, 1), v=torch.zeros(3, 1, 2, 1))
    kv.reorder(torch.tensor([2, 2, 0]))
    assert kv.k[:, 0, 0, 0].tolist() == [4.0, 4.0, 0.0] and kv.length == 2


def sequence_log_prob(model, src, src_mask, tokens):
    """log P(tokens | src) with </s> appended unless the sequence reached max_len."""
    ys = torch.tensor([[START, *tokens]])
    memory = model.encode(src, src_mask)
    logp = model.generator(model.decode(memory, src_mask, ys, subsequent_mask(ys.size(1))))
    return sum(logp[0, i, t].item() for i, t in enumerate(tokens))


def test_beam_search_with_a_wide_beam_finds_the_exact_best():
    # Vocabulary of 6, two output tokens: at most 31 hypotheses, fewer than the beam of 36,
    # so the beam prunes nothing and must return the brute-force ranking.
    torch.manual_seed(3)
    model = tiny(tgt_vocab=6)
    src, src_mask = source()
    src, src_mask = src[:1], src_mask[:1]
    brute = [(END,)]
    for a in range(6):
        if a != END:
            brute += [(a, END)] + [(a, b) for b in range(6) if b != END]
    scored = sorted(((sequence_log_prob(model, src, src_mask, s), s) for s in brute),
                    reverse=True)
    hyps = beam_search(model, src, src_mask, max_len=3, start_symbol=START, end_symbol=END,
                       beam_size=36, alpha=0.0, n_best=5)[0]
    assert len(hyps) == 5
    for h, (lp, seq) in zip(hyps, scored[:5], strict=True):
        expect = seq[:-1] if seq[-1] == END else seq
        assert h.tokens == expect
        assert h.log_prob == pytest.approx(lp, abs=1e-4)
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_beam_of_one_is_greedy():
    model = tiny()
    src, src_mask = source()
    ys = greedy_decode(model, src, src_mask, 10, START, end_symbol=END)
    hyps = beam_search(model, src, src_mask, 10, START, END, beam_size=1, alpha=0.0)
    for row, h in zip(ys.tolist(), hyps, strict=True):
        body = row[1:]
        assert list(h[0].tokens) == (body[: body.index(END)] if END in body else body)


def test_length_penalty_and_bad_arguments():
    assert length_penalty(1, 0.6) == 1.0 and length_penalty(7, 1.0) == 2.0
    assert length_penalty(10, 0.0) == 1.0
    model = tiny()
    src, src_mask = source()
    with pytest.raises(ValueError, match="n_best"):
        beam_search(model, src, src_mask, 5, START, END, beam_size=2, n_best=3)


def test_translate_tokens_greedy_and_beam():
    vocab = Vocab([*Vocab.build([]).itos, *[f"t{i}" for i in range(V - 4)]])
    model = tiny()
    sources = [["t1", "t2"], ["t3"], ["t4", "t5", "t6", "t7"]]
    greedy = translate_tokens(model, sources, vocab, vocab, max_len=6, batch_size=2)
    beam = translate_tokens(model, sources, vocab, vocab, max_len=6, beam_size=3)
    assert len(greedy) == len(beam) == 3
    assert all(len(g) <= 5 and set(g) <= set(vocab.itos) for g in greedy + beam)
    one = translate_tokens(model, sources[2:], vocab, vocab, max_len=6)
    assert one[0] == greedy[2]  # batching and ordering do not change an output



def test_beam_does_not_stop_on_unlikely_early_endings():
    # Each step: token 7 with p ~ 0.9, </s> second. Ending early is always unlikely, so the
    # best hypothesis runs to max_len: 7 7 7 7 (log-prob ~ 4 log 0.9), as greedy finds too.
    model = tiny()
    with torch.no_grad():
        model.generator.proj.weight.zero_()
        model.generator.proj.bias.fill_(-5.0)
        model.generator.proj.bias[7], model.generator.proj.bias[END] = 5.0, 3.0
    src, src_mask = source()
    hyps = beam_search(model, src, src_mask, 5, START, END, beam_size=2, alpha=0.0, n_best=2)
    for h in hyps:
        assert h[0].tokens == (7, 7, 7, 7) and h[0].log_prob > -1.0
        assert h[1].tokens == ()  # the runner-up: </s> at once


def test_cross_attention_keys_and_values_are_computed_once():
    model = tiny()
    src, src_mask = source()
    calls = {"cross": 0, "self": 0}
    layer = model.decoder.layers[0]
    layer.src_attn.linears[1].register_forward_hook(
        lambda *a: calls.__setitem__("cross", calls["cross"] + 1))
    layer.self_attn.linears[1].register_forward_hook(
        lambda *a: calls.__setitem__("self", calls["self"] + 1))
    greedy_decode(model, src, src_mask, 10, START)
    assert calls == {"cross": 1, "self": 9}  # W_k of the memory once; one new key per step

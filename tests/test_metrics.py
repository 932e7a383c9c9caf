import math

import pytest
import sacrebleu
import torch

from annotated import make_model
from annotated.metrics import corpus_bleu, evaluate, exact_match
from annotated.registry import get_task, make_data
from annotated.tasks import Example


def test_exact_match():
    assert exact_match(["a b", "c"], ["a b", "c "]) == 0.5
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        exact_match(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no sentences"):
        exact_match([], [])


def test_corpus_bleu_is_sacrebleus_with_its_signature():
    refs = ["twenty-one", "three hundred and forty-five thousand, six hundred and seventy-eight"]
    hyps = ["twenty-one", "three hundred and forty-five thousand, six hundred and seventy"]
    b = corpus_bleu(hyps, refs)
    assert b.score == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert 0 < b.score < 100 and corpus_bleu(refs, refs).score == pytest.approx(100.0)
    assert b.signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert str(b).startswith("BLEU = ")
    # the parts it is made of: brevity penalty x geometric mean of the four precisions
    short = corpus_bleu(["twenty-one", "three hundred and forty-five thousand"], refs)
    assert b.bp == 1.0 and short.bp < 1.0  # outputs shorter than the references pay
    for x in (b, short):
        assert len(x.precisions) == 4
        geo_mean = math.exp(sum(math.log(p) for p in x.precisions) / 4)
        assert x.bp * geo_mean == pytest.approx(x.score)


def test_evaluate_scores_each_group():
    data = make_data("numbers", n_train=50, n_valid=5, n_test=5)
    model = make_model(len(data.src_vocab), len(data.tgt_vocab), N=1, d_model=16, d_ff=32,
                       h=2).eval()
    scores = evaluate(model, data.test, data.src_vocab, data.tgt_vocab, get_task("numbers"),
                      max_len=8)
    assert set(scores) == {"all", "de", "ja"}
    assert scores["de"].n == scores["ja"].n == 5 and scores["all"].n == 10
    assert 0.0 <= scores["all"].exact <= 1.0 and scores["all"].bleu.score < 100


def test_evaluate_counts_a_perfect_model_as_perfect():
    # A "model" that always says the same thing, scored on examples that all want it.
    data = make_data("copy", n_train=20, n_valid=2, n_test=2)
    v = data.tgt_vocab
    model = make_model(len(v), len(v), N=1, d_model=16, d_ff=32, h=2, dropout=0.0).eval()
    with torch.no_grad():
        model.generator.proj.bias[v.stoi["5"]] = 100.0
    examples = [Example(("1",), ("5",) * 3)] * 4
    scores = evaluate(model, examples, v, v, get_task("copy"), max_len=4)
    assert list(scores) == ["all"] and scores["all"].exact == 1.0

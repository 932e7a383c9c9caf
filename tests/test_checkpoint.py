"""Checkpoints: atomic writes, weights_only reads, clear errors, the float16 export."""

import ast
from pathlib import Path

import pytest
import torch

from annotated.checkpoint import (
    CHECKPOINT_FORMAT,
    export,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
    validate_vocab,
)
from annotated.registry import make_data
from annotated.training import TrainConfig, train

TINY = {"N": 1, "d_model": 16, "d_ff": 32, "h": 2, "dropout": 0.1}
DATA = {"n_train": 400, "n_valid": 16, "n_test": 16}
SRC = Path(__file__).resolve().parents[1] / "src" / "annotated"


def tiny_config(**kw):
    return TrainConfig(**({"steps": 6, "batch_size": 16, "warmup": 4, "valid_every": 3,
                           "valid_decode": 8, "progress": False} | kw))


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    train("copy", tiny_config(steps=2, valid_every=2), TINY, out=out, **DATA)
    return load_checkpoint(out / "checkpoint.pt", "copy")


def test_checkpoint_loads_with_weights_only_and_errors_are_clear(tmp_path):
    train("copy", tiny_config(steps=2, valid_every=2), TINY, out=tmp_path, **DATA)
    path = tmp_path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    assert state["task"] == "copy" and state["step"] == 2
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="checkpoint for task 'copy', not 'numbers'"):
        load_checkpoint(path, "numbers")
    save_checkpoint(tmp_path / "other.pt", {"hello": 1})
    with pytest.raises(ValueError, match="not an annotated checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "broken.pt")
    state["src_vocab"]["itos"] = state["src_vocab"]["itos"][:-1] + ["?"]
    save_checkpoint(tmp_path / "vocab.pt", state)
    with pytest.raises(ValueError, match="trained on other data"):
        train("copy", tiny_config(steps=3), resume=tmp_path / "vocab.pt")


def test_model_from_checkpoint_rebuilds_the_trained_model_in_eval_mode(state):
    model, src_vocab, tgt_vocab = model_from_checkpoint(state)
    assert not model.training and model.config.to_dict() == state["model_config"]
    assert src_vocab.to_dict() == state["src_vocab"] and len(tgt_vocab) == model.config.tgt_vocab
    for name, weights in model.state_dict().items():
        assert torch.equal(weights, state["model"][name]), name
    broken = state | {"src_vocab": {"itos": state["src_vocab"]["itos"][:-1]}}
    with pytest.raises(ValueError, match="do not match its model's sizes"):
        model_from_checkpoint(broken)


def test_validate_vocab_accepts_the_same_data_and_names_what_differs(state):
    data = make_data("copy", seed=state["train_config"]["seed"], **state["task_settings"])
    validate_vocab(state, data)  # the same seed and settings: the same vocabularies
    other = make_data("copy", seed=0, **(state["task_settings"] | {"symbols": 9}))
    with pytest.raises(ValueError, match="src vocabulary differs.*'symbols': 9"):
        validate_vocab(state, other)


def test_export_keeps_what_a_translator_needs_in_float16(state, tmp_path):
    path = export(state, tmp_path / "slim.pt")
    slim = load_checkpoint(path, "copy")
    assert slim["format"] == CHECKPOINT_FORMAT and "optimizer" not in slim and "rng" not in slim
    assert all(v.dtype == torch.float16 for v in slim["model"].values())
    model, _, _ = model_from_checkpoint(slim)
    for name, weights in model.state_dict().items():
        torch.testing.assert_close(weights, state["model"][name], atol=1e-2, rtol=1e-3)
    assert path.stat().st_size < 0.6 * save_checkpoint(tmp_path / "full.pt", state).stat().st_size


def test_save_checkpoint_is_atomic_and_makes_folders(tmp_path):
    path = save_checkpoint(tmp_path / "a" / "b" / "c.pt", {"x": torch.arange(3)})
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.arange(3))
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]  # no temporary file left


def test_reading_a_checkpoint_imports_no_training_machinery():
    """pretrained and checkpoint read files without the loop, tqdm or torch.distributed."""
    banned = ("annotated.training", ".training", "training", "tqdm", "tqdm.auto",
              "torch.distributed", ".distributed", "distributed")
    for module in ("pretrained.py", "checkpoint.py"):
        tree = ast.parse((SRC / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
                names += [n + a.name for n in names if n.endswith(".") for a in node.names]
            else:
                continue
            assert not any(n.lstrip(".") in banned for n in names), (module, names)


def test_export_stores_tied_embeddings_once(tmp_path):
    torch.manual_seed(0)
    out = tmp_path / "tied"
    train("copy", tiny_config(steps=2, valid_every=2), TINY | {"tie_embeddings": True}, out=out,
          **DATA)
    state = load_checkpoint(out / "checkpoint.pt", "copy")
    names = ("src_embed.0.lut.weight", "tgt_embed.0.lut.weight", "generator.proj.weight")
    assert len({state["model"][n].data_ptr() for n in names}) == 1  # one tensor, three names
    slim = load_checkpoint(export(state, tmp_path / "slim.pt"), "copy")
    assert len({slim["model"][n].data_ptr() for n in names}) == 1  # still one after float16
    untied = {k: v.clone() for k, v in slim["model"].items()}  # what a copy per name would be
    separate = save_checkpoint(tmp_path / "copies.pt", slim | {"model": untied})
    assert (tmp_path / "slim.pt").stat().st_size < separate.stat().st_size
    model, _, _ = model_from_checkpoint(slim)
    assert model.generator.proj.weight is model.src_embed[0].lut.weight  # tied again

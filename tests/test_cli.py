import pytest
import torch

from annotated.cli import main

TINY = ["--layers", "1", "--d-model", "16", "--d-ff", "32", "--heads", "2", "--batch-size", "16",
        "--steps", "4", "--valid-every", "2", "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "copy", *TINY, "--out", str(out), "--export", str(out / "m.pt")]) == 0
    return out


def test_train_writes_a_checkpoint_and_an_export(trained, capsys):
    assert (trained / "checkpoint.pt").is_file() and (trained / "m.pt").is_file()
    slim = torch.load(trained / "m.pt", weights_only=True)
    assert "optimizer" not in slim and slim["task"] == "copy"
    assert all(v.dtype == torch.float16 for v in slim["model"].values())
    assert (trained / "m.pt").stat().st_size < (trained / "checkpoint.pt").stat().st_size


def test_evaluate_prints_exact_match_bleu_and_signature(trained, capsys):
    assert main(["evaluate", str(trained / "m.pt"), "--limit", "50"]) == 0
    out = capsys.readouterr().out
    assert "copy: 50 test examples, greedy decoding" in out
    assert "all: exact match" in out and "BLEU" in out
    assert "sacrebleu signature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in out


def test_translate_arguments_and_stdin(trained, capsys, monkeypatch):
    ckpt = str(trained / "checkpoint.pt")
    assert main(["translate", "--checkpoint", ckpt, "1 2 3", "4 5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("1 2 3\t")
    monkeypatch.setattr("sys.stdin", iter(["7 7 7\n", "\n"]))
    assert main(["translate", "--checkpoint", ckpt, "--beam", "2"]) == 0
    assert capsys.readouterr().out.startswith("7 7 7\t")


def test_clear_errors(trained, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing.pt")]) == 2
    assert "error: no checkpoint at" in capsys.readouterr().err
    assert main(["train", "numbers", *TINY, "--resume", str(trained / "checkpoint.pt")]) == 2
    assert "checkpoint for task 'copy', not 'numbers'" in capsys.readouterr().err
    state = torch.load(trained / "m.pt", weights_only=True)
    state["tgt_vocab"]["itos"][-1] = "?"
    torch.save(state, tmp_path / "other.pt")
    assert main(["evaluate", str(tmp_path / "other.pt")]) == 2
    assert "trained on other data" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["train", "poetry"])
    assert e.value.code == 2
    assert "invalid choice: 'poetry' (choose from 'copy', 'numbers')" in capsys.readouterr().err


@pytest.mark.parametrize("command, words", [("train", "torchrun --nproc_per_node=N"),
                                            ("evaluate", "exact match"),
                                            ("translate", "standard input")])
def test_help_reads_well(command, words, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert words in capsys.readouterr().out.replace("\n", " ")

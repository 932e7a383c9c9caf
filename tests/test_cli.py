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
    assert main(["train", "poetry"]) == 2  # get_task's ValueError, one line on stderr
    assert ("error: unknown task 'poetry'; choose one of: copy, numbers, multi30k"
            in capsys.readouterr().err)


@pytest.mark.parametrize("command, words", [("train", "torchrun --nproc_per_node=N"),
                                            ("evaluate", "exact match"),
                                            ("translate", "standard input")])
def test_help_reads_well(command, words, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert words in capsys.readouterr().out.replace("\n", " ")


def test_train_help_lists_every_tasks_recipe(capsys):
    from annotated.registry import TASKS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for name, task in TASKS.items():
        m, t = task.recipe.model, task.recipe.train
        assert f"  {name}: N={m['N']} d_model={m['d_model']}" in out
        assert f"steps={t['steps']} batch={t['batch_size']}" in out


# --- Chapter 9 ---

@pytest.fixture(scope="module")
def multi30k_run(tmp_path_factory):
    from annotated.multi30k import write_sample

    sample = write_sample(tmp_path_factory.mktemp("sample"))
    out = tmp_path_factory.mktemp("m30k")
    assert main(["train", "multi30k", *TINY, "--data", str(sample), "--vocab-size", "150",
                 "--out", str(out)]) == 0
    return sample, out


def test_train_multi30k_then_evaluate_greedy_and_beam(multi30k_run, capsys):
    sample, out = multi30k_run
    assert main(["evaluate", str(out / "checkpoint.pt"), "--data", str(sample), "--beam", "2",
                 "--limit", "10", "--output", str(out / "test")]) == 0
    lines = capsys.readouterr().out.splitlines()
    refs = (out / "test.ref.en").read_text().splitlines()
    assert refs == (sample / "test_2016_flickr.en").read_text().splitlines()[:10]
    assert len((out / "test.greedy.en").read_text().splitlines()) == 10
    assert (out / "test.beam2.en").is_file()
    assert lines[0] == "multi30k: 10 test_2016_flickr pairs, German -> English"
    assert lines[1].split(":")[0].strip() == "greedy" and "lower-cased BLEU" in lines[1]
    assert lines[2].split(":")[0].strip() == "beam 2" and "sacreBLEU" in lines[2]
    assert "case:mixed|eff:no|tok:13a" in lines[3] and "case:lc|eff:no|tok:13a" in lines[4]
    assert main(["translate", "--checkpoint", str(out / "checkpoint.pt"), "Ein Hund."]) == 0
    assert capsys.readouterr().out.startswith("Ein Hund.\t")


def test_multi30k_errors_say_what_to_do(multi30k_run, tmp_path, capsys):
    sample, out = multi30k_run
    assert main(["train", "multi30k", *TINY, "--data", str(tmp_path), "--out",
                 str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "Multi30k train files are missing from" in err and "ANNOTATED_MULTI30K" in err
    assert main(["evaluate", str(out / "checkpoint.pt"), "--data", str(tmp_path)]) == 2
    assert "test files are missing" in capsys.readouterr().err
    assert main(["train", "copy", *TINY, "--data", str(sample)]) == 2
    assert "--data and --vocab-size are for multi30k" in capsys.readouterr().err

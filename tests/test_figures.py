import pytest

from annotated.cli import main
from annotated.viz import figures


def test_every_registered_figure_saves_a_png(tmp_path):
    paths = figures.save_all(tmp_path)
    assert sorted(p.stem for p in paths) == sorted(figures.FIGURES)
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(entry.caption for entry in figures.FIGURES.values())


def test_unknown_figure_is_named(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown figure"):
        figures.save_all(tmp_path, ["no_such_figure"])
    assert main(["figures", "--out", str(tmp_path), "no_such_figure"]) == 2
    assert "unknown figure" in capsys.readouterr().err

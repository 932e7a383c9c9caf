"""The README is the course's front page: a row per chapter, and every link resolves."""

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nbscript", ROOT / "scripts" / "notebooks.py")
nbscript = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbscript)
README = (ROOT / "README.md").read_text()
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_every_chapter_has_a_row_with_its_notebook_and_colab_link():
    for src in CHAPTERS:
        rows = [line for line in README.splitlines()
                if line.startswith("|") and f"notebooks/{src.stem}.ipynb" in line]
        assert rows, f"README has no chapter row linking notebooks/{src.stem}.ipynb"
        # The badge's address comes from pyproject's project.urls, like the notebooks' own.
        assert any(nbscript.colab_url(src.stem) in row for row in rows), src.stem


def test_every_local_link_and_image_resolves():
    targets = re.findall(r"\]\(([^)\s]+)\)", README) + re.findall(r'src="([^"]+)"', README)
    local = [t for t in targets if not re.match(r"[a-z]+://|#|mailto:", t)]
    assert local, "the README links no file of the repository"
    missing = [t for t in local if not (ROOT / unquote(t.split("#")[0])).exists()]
    assert not missing, f"README links to missing files: {missing}"

"""The README is the course's front page: a row per chapter, and every link resolves
(in the README, CONTRIBUTING.md and docs/)."""

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nbscript", ROOT / "scripts" / "notebooks.py")
nbscript = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbscript)
README = (ROOT / "README.md").read_text()
CHAPTERS = nbscript.chapters()


def test_every_chapter_has_a_row_with_its_notebook_and_colab_link():
    for src in CHAPTERS:
        rows = [line for line in README.splitlines()
                if line.startswith("|") and f"notebooks/{src.stem}.ipynb" in line]
        assert rows, f"README has no chapter row linking notebooks/{src.stem}.ipynb"
        # The badge's address comes from pyproject's project.urls, like the notebooks' own.
        assert any(nbscript.colab_url(src.stem) in row for row in rows), src.stem


PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def local_links(text: str) -> list[str]:
    """The links and images of a page that point into the repository."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    return [t for t in targets if not re.match(r"[a-z]+://|#|mailto:", t)]


def test_every_local_link_and_image_resolves():
    assert local_links(README), "the README links no file of the repository"
    for page in PAGES:
        # A link is relative to the page that holds it (docs/x.md links ../benchmarks/...).
        missing = [t for t in local_links(page.read_text())
                   if not (page.parent / unquote(t.split("#")[0])).exists()]
        assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def anchors(text: str) -> set[str]:
    """GitHub's anchors for a page's headings (outside code blocks): lower case, punctuation
    dropped, spaces as hyphens."""
    found, fenced = set(), False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_every_anchor_of_a_local_page_exists():
    for page in PAGES:
        text = page.read_text()
        links = re.findall(r"\]\(([^)\s]*#[^)\s]+)\)", text)
        for link in links:
            if re.match(r"[a-z]+://", link):
                continue
            path, anchor = link.split("#", 1)
            target = page if not path else page.parent / unquote(path)
            if target.suffix == ".md" and target.exists():
                assert anchor in anchors(target.read_text()), \
                    f"{page.relative_to(ROOT)} links {link}: no such heading"


def test_the_readme_links_the_docs_pages_and_contributing():
    links = {unquote(t.split("#")[0]) for t in local_links(README)}
    docs = {p.relative_to(ROOT).as_posix() for p in PAGES[2:]}
    assert docs, "docs/ has no page"
    wanted = docs | {"CONTRIBUTING.md"}
    assert wanted <= links, f"the README does not link {sorted(wanted - links)}"

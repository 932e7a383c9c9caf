"""The markdown pages render on GitHub: every table whole, every row as wide as its header.

GitHub ends a table at a blank line, and a row after it is shown as literal pipes; a row
with more cells than its header loses the extra ones, a row with fewer gets empty ones.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT = 10_000  # characters: the README is a front page, measurements live in docs/

CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)")
SEPARATOR_CELL = re.compile(r"\s*:?-+:?\s*")
FENCE = re.compile(r"\s{0,3}(`{3,}|~{3,})")


def cells(line: str) -> list[str]:
    """A table row's cells: split on unescaped `|`, a `|` inside backticks kept in its cell."""
    masked = CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), line)
    bounds = [i for i, ch in enumerate(masked) if ch == "|" and (i == 0 or masked[i - 1] != "\\")]
    start, end = 0, len(line)
    if bounds and not line[: bounds[0]].strip():  # a leading pipe opens the row
        start = bounds.pop(0) + 1
    if bounds and not line[bounds[-1] + 1 :].strip():  # a trailing pipe closes it
        end = bounds.pop()
    edges = [start - 1, *bounds, end]
    return [line[a + 1 : b] for a, b in zip(edges, edges[1:], strict=False)]


def is_separator(line: str) -> bool:
    return all(SEPARATOR_CELL.fullmatch(c) for c in cells(line)) and bool(cells(line))


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, where a `|` line is not a table."""
    out, fence = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * 3
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
        else:
            out.append((number, line))
    return out


def table_problems(text: str, name: str) -> list[str]:
    """Every way `text`'s tables would render wrong, as 'name:line: what' messages."""
    problems = []
    lines = prose_lines(text)
    blocks: list[list[tuple[int, str]]] = []
    previous = ""  # the previous line, blank or not
    last_text = ""  # the previous non-blank line
    for number, line in lines:
        if line.startswith("|"):
            if previous.startswith("|"):
                blocks[-1].append((number, line))
            else:
                if not previous.strip() and last_text.startswith("|"):
                    problems.append(f"{name}:{number}: a blank line breaks the table above in "
                                    "two; this row renders as literal pipes")
                blocks.append([(number, line)])
        previous = line
        if line.strip():
            last_text = line
    for block in blocks:
        (head_no, head), *rest = block
        width = len(cells(head))
        if not rest or not is_separator(rest[0][1]):
            problems.append(f"{name}:{head_no}: lines starting with '|' but no |---| separator "
                            "on the second line: not a table, it renders as literal pipes")
            continue
        for number, line in rest:
            n = len(cells(line))
            if n != width:
                problems.append(f"{name}:{number}: {n} columns, its header "
                                f"(line {head_no}) has {width}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_renders_whole(page):
    problems = table_problems(page.read_text(), str(page.relative_to(ROOT)))
    assert not problems, "\n".join(problems)


def test_readme_is_a_front_page():
    n = len((ROOT / "README.md").read_text())
    assert n <= README_LIMIT, f"README.md has {n} characters, more than {README_LIMIT}: " \
        "measurements and run logs belong in docs/"


def test_the_docs_pages_exist():
    names = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"training.md", "performance.md", "multi30k.md"} <= names


# The checker itself, on small pages: it must catch what GitHub renders wrong.
GOOD = "| a | b |\n|---|---|\n| 1 | `x | y` |\n| 2 | \\| |\n"


def test_checker_accepts_a_whole_table():
    assert table_problems(GOOD, "t") == []
    assert cells("| 1 | `x | y` |") == [" 1 ", " `x | y` "]
    assert len(cells("| 2 | \\| |")) == 2
    assert len(cells("| a `` b | c `` d | e |")) == 2


def test_checker_ignores_pipes_in_code_blocks():
    assert table_problems("```\n| a | b |\n\n| c |\n```\n", "t") == []


def test_checker_names_a_row_of_the_wrong_width():
    problems = table_problems("text\n\n| a | b |\n|---|---|\n| 1 | 2 | 3 |\n", "t.md")
    assert problems == ["t.md:5: 3 columns, its header (line 3) has 2"]


def test_checker_catches_a_table_broken_by_a_blank_line():
    problems = table_problems(GOOD + "\n\n| 3 | 4 |\n", "t.md")
    assert any(p.startswith("t.md:7: a blank line breaks the table") for p in problems)


def test_checker_catches_pipes_without_a_separator():
    problems = table_problems("| a | b |\n| 1 | 2 |\n", "t.md")
    assert problems and problems[0].startswith("t.md:1: lines starting with '|' but no |---|")

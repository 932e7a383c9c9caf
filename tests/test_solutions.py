"""Every exercise's solution passes its grader, and no stored hint gives the solution away."""

import inspect
import json
import re
from pathlib import Path

import pytest

from annotated import exercises
from annotated.exercises import solutions

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = solutions.chapters()
CASES = [(chapter, grader) for chapter, s in CHAPTERS.items() for grader in s]
# Chapters whose every grader must have a solution (a chapter with a module needs them anyway).
REQUIRED: list[str] = ["a1", "ch00", "ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07",
                       "ch08", "ch09", "ch10"]


def graders_of(chapter: str) -> list[str]:
    module = getattr(exercises, chapter, None) or __import__(
        f"annotated.exercises.{chapter}", fromlist=["_"])
    return sorted(name for name, fn in vars(module).items()
                  if name.startswith("check_") and name != "check_function"
                  and inspect.isfunction(fn) and fn.__module__ == module.__name__)


@pytest.mark.parametrize(("chapter", "grader"), CASES, ids=[g for _, g in CASES])
def test_solution_passes_its_grader(chapter, grader):
    result = getattr(exercises, grader)(CHAPTERS[chapter][grader])
    assert result.passed, result.message


@pytest.mark.parametrize("chapter", sorted(set(CHAPTERS) | set(REQUIRED)))
def test_every_grader_of_a_chapter_with_solutions_has_one(chapter):
    assert chapter in CHAPTERS, f"annotated.exercises.solutions.{chapter} is missing"
    missing = set(graders_of(chapter)) - set(CHAPTERS[chapter])
    assert not missing, f"no solution in solutions/{chapter}.py for {sorted(missing)}"


def test_solution_lookup_names_what_exists():
    grader = CASES[0][1] if CASES else None
    if grader:
        assert solutions.solution(grader) is CHAPTERS[CASES[0][0]][grader]
    with pytest.raises(KeyError, match="no solution for 'check_nothing'"):
        solutions.solution("check_nothing")


def code_lines(answer) -> set[str]:
    """The lines of a solution that would give it away: code, not its signature or comments."""
    if not callable(answer):
        return set()
    lines = set()
    for line in inspect.getsource(answer).splitlines()[1:]:
        line = line.strip()
        if len(line) >= 12 and not line.startswith(("#", '"""', "def ", "return None")):
            lines.add(line)
    return lines


def stored_hints() -> list[tuple[str, str, str]]:
    """(notebook, grader, stored output) of every cell that calls a grader."""
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for grader in re.findall(r"\b(check_\w+)\(", "".join(cell["source"])):
                out = "".join("".join(o.get("text", "")) + "".join(
                    o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))
                found.append((path.stem, grader, out))
    return found


@pytest.mark.parametrize(("notebook", "grader", "output"), stored_hints(),
                         ids=[f"{n}-{g}" for n, g, _ in stored_hints()])
def test_no_stored_hint_holds_a_line_of_its_solution(notebook, grader, output):
    try:
        answer = solutions.solution(grader)
    except KeyError:
        pytest.skip(f"{grader} has no solution yet")
    leaked = [line for line in code_lines(answer) if line in output]
    assert not leaked, f"{notebook}: the stored output of {grader} shows {leaked}"

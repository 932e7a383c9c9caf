"""The set-up files agree with each other and keep an installed torch."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}


def requirement_name(req: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(.*)", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    return dict(requirement_name(r) for r in reqs)


def conda_requirements() -> dict[str, str]:
    reqs = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
        elif in_deps and re.match(r"^  - [A-Za-z]", line):
            name, spec = requirement_name(line[4:])
            if name not in ("python", "pip"):
                reqs[CONDA_NAMES.get(name, name)] = spec
    return reqs


def test_environment_yml_names_the_same_packages_as_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_torch_has_a_floor_and_no_pin():
    spec = pyproject_requirements()["torch"]
    assert spec.startswith(">=") and "==" not in spec and "<" not in spec


def test_install_torch_keeps_an_installed_torch():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "install_torch.py")],
                         capture_output=True, text=True, check=True).stdout
    assert "already installed: keeping it" in out and "pip" not in out


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make course" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "--ip=127.0.0.1" in makefile  # the course binds to localhost only


def test_version_is_exposed():
    import annotated

    assert re.fullmatch(r"\d+\.\d+\.\d+", annotated.__version__)

"""Colab, where the badges send learners: its package versions are kept, its install cell works.

colab/constraints.txt holds Colab's versions of what its kernel imports at start-up (and of
the rest of the course's dependency tree that Colab preinstalls). The first tests read only
that file and pyproject.toml. The others use build/colab-env (`make colab-env`: those
versions, torch excepted, see scripts/colab.py):

- installing the course there changes none of the pinned packages (pip's dry-run, offline);
- the install cell, run with `google.colab` imported, installs from a copy of this checkout
  in one quiet line, and fails with what to do when the source cannot be had;
- chapter 9's corpus step (the Multi30k download) runs there, and the installed
  package has its device choice, font and model.

The chapters themselves run in that env's kernel through nbval when
ANNOTATED_NOTEBOOK_KERNEL=colab (conftest.py; .ci/run sets it), each followed by every
control of every widget moved (tests/widget_moves.py).

ANNOTATED_COLAB_TESTS: unset runs the env tests where build/colab-env exists and skips them,
saying why, where it does not; 0 turns them off; 1 requires them (no env is a failure).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLAB_ENV = ROOT / "build" / "colab-env"
WHEELS = ROOT / "build" / "colab-wheels"
SHARED_MULTI30K = ROOT.parent / "shared" / "data" / "multi30k"

spec = importlib.util.spec_from_file_location("colabscript", ROOT / "scripts" / "colab.py")
colab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colab)
spec = importlib.util.spec_from_file_location("nbscript", ROOT / "scripts" / "notebooks.py")
nbscript = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbscript)

# What a Colab kernel has imported before the first cell runs.
START_UP = ("ipywidgets", "ipython", "ipykernel", "traitlets", "jupyter-client", "matplotlib",
            "numpy", "pandas", "torch")


def switch() -> str:
    value = os.environ.get("ANNOTATED_COLAB_TESTS", "").strip().lower()
    modes = {"": "auto", "auto": "auto", "0": "off", "off": "off", "false": "off",
             "1": "required", "on": "required", "true": "required"}
    if value not in modes:
        raise ValueError(f"ANNOTATED_COLAB_TESTS={value!r}: use 0 (off), 1 (required) or leave "
                         "it unset (run where build/colab-env exists)")
    return modes[value]


@pytest.fixture(scope="module")
def env_python() -> Path:
    mode = switch()
    if mode == "off":
        pytest.skip("ANNOTATED_COLAB_TESTS=0")
    if not (COLAB_ENV / ".installed").exists():
        why = "build/colab-env is missing: `make colab-env` builds it (about 2 minutes)"
        if mode == "required":
            pytest.fail(why)
        pytest.skip(why)
    return COLAB_ENV / "bin" / "python"


def run(python: Path, *args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, **kw)


# --- The constraints file and the package's floors: no env needed ---

def test_constraints_say_where_they_come_from_and_pin_the_start_up_packages():
    text = (ROOT / "colab" / "constraints.txt").read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "googlecolab/backend-info" in header and "pip-freeze" in header
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", header), "the header must date the versions"
    pins = colab.pins()
    missing = [name for name in START_UP if name not in pins]
    assert not missing, f"colab/constraints.txt lacks Colab's start-up packages {missing}"
    assert pins["ipywidgets"][1].startswith("7.7.") and pins["ipython"][1] == "7.34.0"


def test_every_floor_of_the_course_accepts_colabs_version():
    from packaging.requirements import Requirement

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = colab.pins()
    rejected = []
    for req in map(Requirement, meta["dependencies"]):
        key = colab.normalize(req.name)
        if key in pins and not req.specifier.contains(pins[key][1], prereleases=True):
            rejected.append(f"{req} excludes Colab's {pins[key][0]}=={pins[key][1]}")
    assert not rejected, ("pip would replace a package Colab has loaded (and ask for a "
                          "restart): lower these floors in pyproject.toml and environment.yml: "
                          + "; ".join(rejected))


# --- build/colab-env ---

def test_colab_env_holds_colabs_versions(env_python):
    done = run(env_python, "scripts/colab.py", "check-env")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "substituted: torch:" in done.stdout  # the CUDA build's stand-in is said out loud


def test_installing_the_course_changes_none_of_colabs_packages(env_python):
    done = run(env_python, "scripts/colab.py", "dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pip would install: annotated==" in done.stdout, done.stdout
    assert "no package of Colab's would change" in done.stdout


def project_copy(dest: Path, pyproject: str | None = None) -> Path:
    """The files pip needs to build the course, copied (the checkout is left alone)."""
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "README.md", dest)
    (dest / "pyproject.toml").write_text(pyproject or (ROOT / "pyproject.toml").read_text())
    shutil.copytree(ROOT / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def test_dry_run_reports_a_floor_above_colabs(env_python, tmp_path):
    # The check itself: with the floor the course had before (ipywidgets>=8.0), pip would
    # upgrade Colab's ipywidgets, exactly as measured in the issue.
    text = (ROOT / "pyproject.toml").read_text()
    assert '"ipywidgets>=7.7"' in text
    project = project_copy(tmp_path / "p", text.replace('"ipywidgets>=7.7"', '"ipywidgets>=8.0"'))
    done = run(env_python, "scripts/colab.py", "dry-run", "--project", str(project))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ipywidgets: would upgrade Colab's 7.7.1 to 8." in done.stderr, done.stderr
    assert "widgetsnbextension: would upgrade Colab's 3.6.10 to 4." in done.stderr


# --- The install cell, in a copy of build/colab-env without the course, google.colab faked ---

SIMULATE = textwrap.dedent('''
    import json, sys, types

    google = types.ModuleType("google")
    google.colab = types.ModuleType("google.colab")
    sys.modules.update({"google": google, "google.colab": google.colab})

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    for code in json.load(open(sys.argv[1])):
        result = shell.run_cell(code)
        print("@@ok" if result.success else "@@failed", flush=True)
''')


@pytest.fixture(scope="module")
def colab_copy(env_python, tmp_path_factory) -> Path:
    """build/colab-env hard-linked into a temporary folder, as it was before the course.

    `make colab-env` listed Colab's packages (build/colab-env/colab-freeze.txt) before it
    installed the course: the course and every package it brought are uninstalled here.
    """
    dest = tmp_path_factory.mktemp("colab") / "env"
    subprocess.run(["cp", "-al", str(COLAB_ENV), str(dest)], check=True)
    python = dest / "bin" / "python"
    colab_had = {colab.normalize(line.split("==")[0].split(" @ ")[0])
                 for line in (COLAB_ENV / "colab-freeze.txt").read_text().splitlines()}
    now = run(python, "-m", "pip", "list", "--format=freeze", "--exclude-editable").stdout
    brought = [line.split("==")[0] for line in now.splitlines()
               if colab.normalize(line.split("==")[0]) not in colab_had]
    done = run(python, "-m", "pip", "uninstall", "-y", "-q", "annotated", *brought)
    assert done.returncode == 0, done.stderr
    assert run(python, "-c", "import annotated").returncode != 0
    return python


def simulate(python: Path, cells: list[str], tmp: Path, **pip_env) -> list[tuple[str, bool]]:
    """Run `cells` in an IPython shell with google.colab imported; (output, ok) per cell.

    pip sees no configuration of this machine: only PIP_* given here (offline by default,
    the wheels `make colab-env` downloaded as its only source). No constraints: the cell
    installs as in Colab, and the tests check afterwards that Colab's versions are intact.
    """
    (tmp / "home").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(HOME=str(tmp / "home"), PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1",
               PIP_FIND_LINKS=str(WHEELS), PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYDEVD_DISABLE_FILE_VALIDATION="1", ANNOTATED_MULTI30K="")
    for key, value in pip_env.items():  # None: unset
        env.pop(key, None) if value is None else env.__setitem__(key, value)
    (tmp / "cells.json").write_text(json.dumps(cells))
    (tmp / "simulate.py").write_text(SIMULATE)
    done = subprocess.run([str(python), str(tmp / "simulate.py"), str(tmp / "cells.json")],
                          capture_output=True, text=True, cwd=tmp, env=env, timeout=600)
    parts = re.split(r"^@@(ok|failed)\n", done.stdout, flags=re.M)
    results = [(parts[i].strip(), parts[i + 1] == "ok") for i in range(0, len(parts) - 1, 2)]
    assert len(results) == len(cells), done.stdout + done.stderr
    return results


def install_cell(source: str) -> str:
    cell = nbscript.install_source()
    url = f"git+{nbscript.repository_url()}"
    assert cell.count(url) == 1, "the install cell must name the repository exactly once"
    return cell.replace(url, source)


def test_install_cell_fails_with_what_to_do(colab_copy, tmp_path):
    bad_url = install_cell("git+https://127.0.0.1:9/no-such/annotated")  # nothing answers
    project = project_copy(tmp_path / "p")
    offline = install_cell(project.as_uri())  # building it needs setuptools from an index
    (out_bad, ok_bad), = simulate(colab_copy, [bad_url], tmp_path, GIT_TERMINAL_PROMPT="0")
    (out_off, ok_off), = simulate(colab_copy, [offline], tmp_path, PIP_NO_INDEX=None,
                                  PIP_FIND_LINKS=None, PIP_INDEX_URL="http://127.0.0.1:9/simple",
                                  PIP_RETRIES="0", PIP_TIMEOUT="5")
    for out, ok in ((out_bad, ok_bad), (out_off, ok_off)):
        assert not ok, out  # Run All stops here instead of failing later on an import
        assert re.search(r"Installing the course's package failed\. pip said:\n(ERROR|fatal)", out)
        assert "What to do: check that this runtime is online" in out, out
        assert f"{nbscript.repository_url()}/issues" in out
        assert "Traceback" not in out and "restart" not in out.lower(), out
    assert "127.0.0.1" in out_bad, out_bad  # pip's (and git's) own words say what failed
    assert "setuptools" in out_off, out_off  # the build needs it, and no index answers
    assert run(colab_copy, "-c", "import annotated").returncode != 0


def test_install_cell_installs_quietly_and_chapter_9_downloads_multi30k(colab_copy, tmp_path):
    project = project_copy(tmp_path / "p")
    cell = install_cell(project.as_uri())
    # Chapter 9's cells up to its corpus step (found, else downloaded), as the notebook has them.
    nb = json.loads((ROOT / "notebooks" / "09_real_corpus.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"][1:]
    upto = next(i for i, c in enumerate(code) if "multi30k.corpus()" in c)
    source = (f"file://{SHARED_MULTI30K}/{{name}}" if SHARED_MULTI30K.is_dir()
              else "file:///nonexistent/{name}")
    point = f"import os\nos.environ['ANNOTATED_MULTI30K_URL'] = {source!r}"
    # What every chapter uses from the installed package (not the checkout): the device and
    # precision choice (CPU here; a GPU's path needs a GPU), the shipped font and model.
    shipped = ("import annotated\nfrom annotated import pretrained\n"
               "from annotated.viz import primitives\n"
               "print(annotated.__file__)\n"
               "print(annotated.describe(annotated.precision_for(annotated.default_device())))\n"
               "print(primitives.kanji_font_name(), type(pretrained.load('numbers')).__name__)")
    results = simulate(colab_copy, [cell, cell, shipped, *code[:upto], point, code[upto]],
                       tmp_path)
    (first, ok1), (second, ok2) = results[:2]
    assert ok1, first
    assert re.fullmatch(r"installed annotated \d+\.\d+\.\d+(, \S+ \S+)*", first), first
    assert "num2words 0.5.14" in first and "sacrebleu" in first, first  # not in Colab
    assert ok2 and re.fullmatch(r"annotated \d+\.\d+\.\d+ is already installed", second), second
    assert all(ok for _, ok in results), results
    where, device, font = results[2][0].splitlines()
    assert "site-packages" in where and str(ROOT) not in where, where
    assert device == "cpu (cpu), float32", device
    assert font.endswith(" Translator") and len(font.split()) >= 2, font
    corpus, _ = results[-1]
    if SHARED_MULTI30K.is_dir():  # fetched from a local copy, each file's SHA-256 checked
        assert "Multi30k downloaded, each file's SHA-256 checked" in corpus, corpus
        assert (tmp_path / "home" / ".cache" / "annotated" / "multi30k" / "train.de.gz").exists()
    else:  # the download fails: the notebook says so and goes on with a generated sample
        assert "NOT MULTI30K" in corpus and "#" * 80 in corpus, corpus
    # Nothing Colab had is replaced: the cell would have said so.
    assert "pip replaced" not in first
    done = run(colab_copy, "scripts/colab.py", "check-env")
    assert done.returncode == 0, done.stdout + done.stderr


def test_refreshing_the_pins_from_a_colab_pip_list(tmp_path):
    pins = colab.pins()
    listed = [f"{name}=={version}" for name, version in pins.values()]
    listed = [line.replace("ipywidgets==7.7.1", "ipywidgets==7.7.2") for line in listed]
    listed = [line for line in listed if not line.startswith("torch==")]
    listed.append("torch==2.11.0+cu128")  # Colab's GPU runtime names its build
    (tmp_path / "freeze.txt").write_text("\n".join(listed) + "\nsomething-else==1.0\n")
    new = colab.refresh(tmp_path / "freeze.txt")
    old = (ROOT / "colab" / "constraints.txt").read_text()
    assert new == old.replace("ipywidgets==7.7.1", "ipywidgets==7.7.2")  # header kept
    # `pip list`'s columns are read too; a list without a pinned package is refused.
    (tmp_path / "list.txt").write_text("Package    Version\n---------- -------\n"
                                       "ipywidgets 7.7.1\n")
    with pytest.raises(SystemExit, match="does not list .*'numpy'"):
        colab.refresh(tmp_path / "list.txt")

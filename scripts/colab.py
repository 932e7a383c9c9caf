"""Colab's package versions, kept true: the constraints, the env that has them, and its checks.

colab/constraints.txt pins Colab's versions of what its kernel imports at start-up and of the
rest of the course's dependency tree that Colab preinstalls. `make colab-env` builds
build/colab-env from it (see the Makefile) with this script's help:

    python scripts/colab.py constraints   # (in build/colab-env, torch installed) the pins
                                          # to install with: torch's pin swapped for the
                                          # local CPU build, and any pin that build rejects
    python scripts/colab.py check-env     # (in build/colab-env) every pin installed, exactly
    python scripts/colab.py dry-run       # (in build/colab-env) what `pip install` of the
                                          # course would change there: nothing, or exit 1
    python scripts/colab.py pins FILE     # rewrite the pins from a Colab `pip list`
    python scripts/colab.py requirements  # the course's dependencies, torch left out

Colab's torch is a CUDA build of another version: the env keeps the local CPU build instead
(a CUDA wheel is gigabytes), and a pin that this build's own requirements exclude (setuptools:
torch 2.13 asks for >=77.0.3, Colab's torch 2.11 does not) is left to pip there. Those
substitutions are printed wherever they matter; every other pin is checked exactly.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.version import Version
except ImportError:  # a fresh venv with only torch in it: pip's own copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "colab" / "constraints.txt"
WHEELS = ROOT / "build" / "colab-wheels"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path = CONSTRAINTS) -> dict[str, tuple[str, str]]:
    """{normalized name: (name as written, version)} from a constraints file."""
    found = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.!+-]+)", line)
        if not m:
            raise SystemExit(f"{path}:{n}: {line!r} is not NAME==VERSION; each line pins one "
                             "package to one version")
        found[normalize(m.group(1))] = (m.group(1), m.group(2))
    return found


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def substitutions() -> dict[str, str]:
    """{name: why} for the pins this env cannot hold: torch, and what its build rejects."""
    torch = installed_version("torch")
    if torch is None:
        raise SystemExit("torch is not installed here: install the local CPU build first "
                         "(python scripts/install_torch.py)")
    wanted = pins()
    out = {"torch": f"the local CPU build {torch} stands in for Colab's torch "
                    f"{wanted['torch'][1]} (a CUDA build there)"}
    for req in map(Requirement, metadata.requires("torch") or []):
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        key = normalize(req.name)
        if key in wanted and not req.specifier.contains(wanted[key][1], prereleases=True):
            out[key] = (f"torch {torch} requires {req.name}{req.specifier}, which excludes "
                        f"Colab's {wanted[key][1]} (Colab's torch {wanted['torch'][1]} "
                        "accepts it)")
    return out


def env_constraints() -> str:
    """The constraints `make colab-env` installs with: Colab's pins, torch's swapped."""
    subs = substitutions()
    lines = [f"# From {CONSTRAINTS.relative_to(ROOT)} by scripts/colab.py: substituted pins:"]
    lines += [f"#   {name}: {why}" for name, why in subs.items()]
    lines += [f"{name}=={version}" for key, (name, version) in pins().items() if key not in subs]
    lines.append(f"torch=={installed_version('torch')}")  # never let pip replace it
    return "\n".join(lines) + "\n"


def check_env() -> list[str]:
    """Pins this env does not hold exactly (substitutions aside)."""
    subs = substitutions()
    problems = []
    for key, (name, version) in pins().items():
        have = installed_version(name)
        if key not in subs and have != version:
            problems.append(f"{name}: Colab has {version}, this env has {have or 'nothing'}")
    return problems


def dry_run(project: Path = ROOT, wheels: Path = WHEELS) -> tuple[list[str], list[str]]:
    """(changes to pinned packages, everything pip would install) for `pip install project`.

    Offline and deterministic: --no-index, with build/colab-wheels (newer releases of the
    course's dependencies, downloaded by `make colab-env`) as the only source, so a floor
    above Colab's version shows up as an upgrade; --isolated, so no pip config or PIP_*
    variable of this machine takes part. torch is installed here and pip keeps it.
    """
    if not wheels.is_dir():
        raise SystemExit(f"{wheels} is missing: run `make colab-env`")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--quiet",
               "--report", str(report), "--no-index", "--find-links", str(wheels),
               "--no-build-isolation", str(project)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit("pip could not resolve the course's install against Colab's "
                             f"versions:\n$ {' '.join(cmd)}\n{done.stderr.strip()}")
        installs = json.loads(report.read_text())["install"]
    subs = substitutions()
    wanted = pins()
    changes, everything = [], []
    for item in installs:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        everything.append(f"{name}=={version}")
        key = normalize(name)
        if key in wanted and key not in subs:
            verb = "upgrade" if Version(version) > Version(wanted[key][1]) else "downgrade"
            changes.append(f"{name}: would {verb} Colab's {wanted[key][1]} to {version}")
        elif key in subs and key == "torch":
            changes.append(f"torch: would replace the installed {installed_version('torch')} "
                           f"with {version} (pip must keep Colab's torch)")
    return changes, everything


def refresh(pip_list: Path) -> str:
    """constraints.txt with each pin's version taken from a Colab `pip list` or freeze."""
    colab = {}
    for line in pip_list.read_text().splitlines():
        m = (re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line)
             or re.match(r"([A-Za-z0-9_.-]+)\s+(\d[^\s]*)\s*$", line)
             or re.match(r"([A-Za-z0-9_.-]+) @ .*?-(\d[^-/]*?)(?:%2B[^-]*)?-cp", line))
        if m:
            colab[normalize(m.group(1))] = m.group(2).split("+")[0]
    old = CONSTRAINTS.read_text().splitlines()
    missing = [name for key, (name, _) in pins().items() if key not in colab]
    if missing:
        raise SystemExit(f"{pip_list} does not list {missing}: give it the whole output of "
                         "`pip list` (or `pip freeze`) from a new Colab notebook")
    new = []
    for line in old:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        new.append(f"{m.group(1)}=={colab[normalize(m.group(1))]}" if m else line)
    return "\n".join(new) + "\n"


def requirements() -> list[str]:
    """The course's dependencies from pyproject.toml, torch left out (never downloaded)."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return [d.replace(" ", "") for d in deps if normalize(Requirement(d).name) != "torch"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["constraints", "check-env", "dry-run", "pins",
                                                   "requirements"])
    parser.add_argument("file", nargs="?", type=Path, help="for pins: Colab's `pip list`")
    parser.add_argument("--project", type=Path, default=ROOT,
                        help="for dry-run: the project to install (default: this checkout)")
    args = parser.parse_args(argv)
    if args.command == "constraints":
        sys.stdout.write(env_constraints())
    elif args.command == "requirements":
        print(" ".join(requirements()))
    elif args.command == "check-env":
        problems = check_env()
        for name, why in substitutions().items():
            print(f"substituted: {name}: {why}")
        if problems:
            print("this env is not Colab's: rebuild it with `make colab-env`\n  "
                  + "\n  ".join(problems), file=sys.stderr)
            return 1
        print(f"every other pin of {CONSTRAINTS.relative_to(ROOT)} is installed exactly")
    elif args.command == "dry-run":
        changes, everything = dry_run(args.project)
        print("pip would install:", " ".join(everything) or "nothing")
        if changes:
            print("installing the course would change Colab's packages (pip would then ask "
                  "for a runtime restart):\n  " + "\n  ".join(changes), file=sys.stderr)
            return 1
        print("no package of Colab's would change")
    else:
        if args.file is None:
            parser.error("pins needs the file holding Colab's `pip list`")
        CONSTRAINTS.write_text(refresh(args.file))
        print(f"rewrote {CONSTRAINTS.relative_to(ROOT)}: review `git diff`, then run "
              "`make colab-env test-colab`")
    return 0


if __name__ == "__main__":
    sys.exit(main())

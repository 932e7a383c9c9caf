"""The package's shape: no import cycles, the teaching wing on top, no side effects at import."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "annotated"
# Import order inside viz/: each layer may import only the layers before it.
VIZ_LAYERS = ["primitives", "measure", "draw", "figures", "widgets"]
# The command line sits above everything: it may save the figures.
ABOVE_VIZ = {"annotated.cli", "annotated.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports(path: Path) -> list[tuple[str, str | None, int]]:
    """Every (module, imported name, line) of the package that `path` imports.

    Function bodies and `if TYPE_CHECKING:` blocks count too: a cycle hidden in a function
    is still a cycle.
    """
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "annotated":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                # `from . import data` imports the module annotated.data
                found.append((sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(
                    ".py").exists() or (PACKAGE.parent / sub.replace(".", "/")).is_dir()
                    else target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names
                      if a.name.split(".")[0] == "annotated"]
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for m, path in modules.items():
        for target, _, _ in package_imports(path):
            # Importing a package runs its __init__, which every submodule's import does
            # anyway; only module-to-module edges can make a cycle.
            if target in modules and target != m and modules[target].name != "__init__.py":
                edges[m].add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_viz_imports_only_downward_and_nothing_below_imports_it():
    edges = graph()
    for m, targets in edges.items():
        into_viz = {t for t in targets if t.startswith("annotated.viz")}
        if m.startswith("annotated.viz."):
            layer = VIZ_LAYERS.index(m.rsplit(".", 1)[1])
            upward = {t for t in into_viz if VIZ_LAYERS.index(t.rsplit(".", 1)[1]) >= layer}
            assert not upward, f"{m} imports {sorted(upward)}: viz imports only downward"
        elif m not in ABOVE_VIZ:
            assert not into_viz, f"{m} imports the teaching wing {sorted(into_viz)}"


def test_no_private_name_is_imported_from_another_module():
    offenders = [f"{p.relative_to(PACKAGE)}:{line} imports {name} from {target}"
                 for p in PACKAGE.rglob("*.py")
                 for target, name, line in package_imports(p)
                 if name and name.startswith("_") and name != "__version__"]
    assert not offenders, offenders


def test_importing_any_module_leaves_matplotlib_settings_as_they_were():
    modules = sorted(m for m in (module_name(p) for p in PACKAGE.rglob("*.py"))
                     if not m.endswith("__main__"))
    code = f"""
import importlib
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
before = dict(plt.rcParams)
changed = []
for name in {modules!r}:
    importlib.import_module(name)
    now = dict(plt.rcParams)
    diff = sorted(k for k in before if before[k] != now[k])
    if diff:
        changed.append((name, diff))
        before = now
print(changed)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", f"importing changed rcParams: {out.stdout}"

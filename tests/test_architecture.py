"""The shape of the code, checked: two wings that meet only in ``store``'s files, pure modules
below both, no private names across modules, no import circles, no file over 500 lines
(docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nnlab"
MAX_LINES = 500

READING = ("results", "compare", "plots", "report", "listing", "experiment", "export")
# inside the reading wing, a module may use only those before it (results is the only reader)
READING_ORDER = {"results": 0, "compare": 1, "listing": 1, "export": 1, "plots": 2, "report": 3,
                 "experiment": 4}  # fmt: skip
TRAINING = ("config", "config_base", "config_document", "config_errors", "config_sweep",
            "expansion", "execute", "launchers", "train", "data", "models", "keras_objects",
            "callbacks", "capture", "checkpoint", "summary", "store", "backend", "envinfo",
            "display", "fused", "schema")  # fmt: skip
BELOW = ("errors", "names", "diagnose", "events", "stopping", "lock", "cores", "version",
         "user_code", "tbevents")
TOP = ("cli", "cli_options", "cli_export", "commands", "api", "notebook", "hooks", "__init__",
       "__main__", "completion")
BACKENDS = ("tensorflow", "keras", "jax", "torch")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def top(module: str) -> str:
    return module.split(".")[0]


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in the file, those inside functions included; a
    relative import is resolved against the file's package."""
    package = ["nnlab", *path.relative_to(SRC).parent.parts]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            out.append((module, [a.name for a in node.names]))
    return out


def targets(path: Path) -> list[tuple[str, str | None]]:
    """(nnlab module, name or None) of every nnlab import in the file: ``from nnlab.data
    import _csv`` is the module ``data._csv``; ``from nnlab.store import RUNNING`` is
    ``("store", "RUNNING")``; the package itself is ``__init__``."""
    out: list[tuple[str, str | None]] = []
    for module, names in imports(path):
        if module != "nnlab" and not module.startswith("nnlab."):
            continue
        inner = module.removeprefix("nnlab").removeprefix(".") or "__init__"
        if not names:
            out.append((inner, None))
        for n in names:
            sub = n if inner == "__init__" else f"{inner}.{n}"
            out.append((sub, None) if sub in MODULES else (inner, n))
    return out


def nnlab_imports(path: Path) -> set[str]:
    """The nnlab modules a file imports."""
    return {m for m, _ in targets(path)}


def test_every_module_is_placed_in_a_wing():
    unplaced = {m for m in MODULES if top(m) not in READING + TRAINING + BELOW + TOP}
    assert unplaced == set(), "add new modules to a group here and in docs/architecture.md"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_file_is_over_500_lines(module):
    assert len(MODULES[module].read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_wings_meet_only_at_the_top(module):
    used = {top(m) for m in nnlab_imports(MODULES[module])}
    if top(module) in TRAINING:
        assert not used & set(READING), f"{module} (training wing) imports {used & set(READING)}"
    if top(module) in READING:
        assert not used & (set(TRAINING) - {"store"}), f"{module} (reading wing) imports {used}"
    if top(module) in BELOW:
        assert not used & set(READING + TRAINING) - {"store"}, f"{module} imports {used}"
    if top(module) not in TOP:
        assert not used & {"cli", "hooks"}, f"{module} imports the top, which joins the wings"
    if top(module) in READING:
        later = {m for m in used & set(READING) if READING_ORDER[m] > READING_ORDER[top(module)]}
        assert not later, f"{module} imports {later}, later in the reading wing"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if top(m) in READING + BELOW))
def test_the_reading_wing_never_imports_a_backend(module):
    used = {top(m) for m, _ in imports(MODULES[module])}
    assert not used & set(BACKENDS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_imported_from_another_module(module):
    """``_name`` stays in its module; a private module (``data/_csv.py``) is used only inside
    its own package, whose ``__init__`` re-exports what others may use."""
    package = module.rsplit(".", 1)[0] if "." in module else module
    crossing = []
    for target, name in targets(MODULES[module]):
        if name and name.startswith("_") and not name.startswith("__"):
            crossing.append(f"{target}:{name}")
        parts = target.split(".")
        if parts[-1].startswith("_") and parts[-1] != "__init__" and parts[0] != package:
            crossing.append(target)
    tree = ast.parse(MODULES[module].read_text())
    aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and (node.module or "").startswith("nnlab") for a in node.names}  # fmt: skip
    crossing += [
        f"{node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id in aliases and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]  # fmt: skip
    assert crossing == []


def test_no_import_circles():
    graph = {m: {i for i in nnlab_imports(p) if i in MODULES} - {m} for m, p in MODULES.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for m in graph if (c := cycle_from(m))]
    assert cycles == []

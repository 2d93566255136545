"""The package's layers import only downward, and no module imports itself
back through others (docs/architecture.rst).

Every ``import`` statement is checked, lazy ones inside functions included, so
an upward import or a cycle cannot hide behind a function body. Imports under
``if TYPE_CHECKING:`` (type hints only, never run) do not count as cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import xsweep

PACKAGE = Path(xsweep.__file__).parent

# top-level module or subpackage of xsweep (or one module of a subpackage,
# which then has a layer of its own) -> its layer (higher may import lower)
LAYERS = {
    "_version": 0,
    "errors": 0,
    "atomic": 0,
    "combos": 1,
    "combos_mixed": 1,
    "labels": 1,
    "engine": 2,
    "labelling": 3,
    "netcdf": 3,
    "merging": 3,
    "provenance_record": 3,
    "file_engines": 3,
    "manage": 3,
    "ncwrite": 3,
    "frames": 3,
    "schedulers": 4,
    "crop": 5,
    "farming": 6,
    "schedulers.task": 7,
    "mpi": 7,
    "cli": 8,
    "display": 8,
    "plot": 8,
    "__main__": 8,
}

# deliberate upward imports, with the reason: none (a lower layer takes what it
# needs as an argument or by protocol; docs/architecture.rst)
ALLOWED_UPWARD: set[tuple[str, str]] = set()


def _part(module: str) -> str | None:
    """The key of ``module`` (dotted) in LAYERS: its own, else its top part."""
    parts = module.split(".")
    if parts[0] != "xsweep" or len(parts) < 2:
        return None
    own = ".".join(parts[1:3])
    return own if own in LAYERS else parts[1]


def _imports(path: Path) -> list[str]:
    # the package that relative imports start from (a module's or __init__'s own)
    here = ["xsweep", *path.relative_to(PACKAGE).with_suffix("").parts][:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    found += [f"{module}.{alias.name}" for alias in node.names]
                    continue
            else:
                module = node.module or ""
            found.append(module)
    return found


def test_every_part_of_the_package_has_a_layer():
    parts = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
    }
    assert parts - {"__init__"} <= set(LAYERS), parts - set(LAYERS)


def test_layers_import_only_downward():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts == ("__init__.py",):
            continue  # the lazy re-export table names everything
        own = _part(".".join(["xsweep", *rel.with_suffix("").parts]))
        for module in _imports(path):
            other = _part(module)
            if other is None or other not in LAYERS or other == own:
                continue
            if LAYERS[other] > LAYERS[own] and (own, other) not in ALLOWED_UPWARD:
                upward.append(f"{rel} imports {module} (layer {own} -> {other})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


# ------------------------------------------------------------------ cycles
def _module_name(path: Path) -> str:
    parts = ["xsweep", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (never run)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _import_graph() -> dict[str, dict[str, int]]:
    """module -> {xsweep module it imports: line of the first such import}.

    ``from package import name`` goes to ``package.name`` when that is a
    module, else to the package (its ``__init__``).
    """
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, dict[str, int]] = {}
    for module, path in paths.items():
        is_package = path.name == "__init__.py"
        here = module.split(".") if is_package else module.split(".")[:-1]
        tree = ast.parse(path.read_text())
        skip = _type_checking_only(tree)
        edges: dict[str, int] = {}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    top = here[: len(here) - (node.level - 1)]
                    base = ".".join(top + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in paths else base)
            for target in targets:
                if target in paths and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_back():
    graph = _import_graph()
    report = []
    for group in _cycles(graph):
        report.append("cycle: " + ", ".join(group))
        report += [
            f"    {a} imports {b} (line {graph[a][b]})"
            for a in group
            for b in sorted(graph[a])
            if b in group
        ]
    assert not report, "import cycles:\n" + "\n".join(report)


def test_the_cycle_check_sees_lazy_imports_and_skips_type_hints():
    graph = _import_graph()
    # a lazy import inside a function body is an edge
    assert "xsweep.crop.crop" in graph["xsweep.farming.cropping"]
    # an import under TYPE_CHECKING is not (the Sampler names Runner in hints)
    assert "xsweep.farming.runner" not in graph["xsweep.farming.sampler"]
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [
        ["a", "b", "c"]
    ]

"""The package's layers import only downward (docs/architecture.rst).

Every ``import`` statement is checked, lazy ones inside functions included, so
an upward import cannot hide behind a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import xsweep

PACKAGE = Path(xsweep.__file__).parent

# top-level module or subpackage of xsweep -> its layer (higher may import lower)
LAYERS = {
    "_version": 0,
    "errors": 0,
    "atomic": 0,
    "combos": 1,
    "combos_mixed": 1,
    "engine": 2,
    "labelling": 3,
    "netcdf": 3,
    "provenance_record": 3,
    "file_engines": 3,
    "manage": 3,
    "ncwrite": 3,
    "frames": 3,
    "crop": 4,
    "farming": 5,
    "schedulers": 6,
    "mpi": 6,
    "cli": 7,
    "display": 7,
    "plot": 7,
    "__main__": 7,
}

# deliberate upward imports, each lazy and inside one method, with the reason
ALLOWED_UPWARD = {
    # Crop.gen_cluster_script / Crop.grow_cluster are xyzpy's API on the Crop;
    # they hand the crop to the scheduler layer.
    ("crop", "schedulers"),
    # Crop.reap_combos_to_ds is xyzpy's API on the Crop: it labels the reaped
    # results with a Runner built from the labels it is given.
    ("crop", "farming"),
}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "xsweep" and len(parts) > 1 else None


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
        own = rel.parts[0].removesuffix(".py")
        for module in _imports(path):
            other = _part(module)
            if other is None or other not in LAYERS or other == own:
                continue
            if LAYERS[other] > LAYERS[own] and (own, other) not in ALLOWED_UPWARD:
                upward.append(f"{rel} imports {module} (layer {own} -> {other})")
    assert not upward, "upward imports:\n" + "\n".join(upward)

"""The grow path stays light: no xarray, pandas, plotting or tqdm in a grower.

Each check runs in a fresh interpreter and reads its ``sys.modules`` at the end,
so nothing this test process imported can hide a violation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: never imported by ``import xsweep`` nor by a grow process
HEAVY = ("xarray", "pandas", "matplotlib", "tqdm", "joblib", "loky", "dask", "netCDF4")

_DUMP = "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"


def modules_after(code: str, cwd: Path | None = None) -> set[str]:
    """The module names in ``sys.modules`` after running ``code`` in a fresh python."""
    done = subprocess.run(
        [sys.executable, "-c", code + _DUMP],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def third_party(modules: set[str]) -> list[str]:
    """Imported modules outside the standard library, xsweep and site's start-up."""
    std = set(sys.stdlib_module_names) | {"__main__", "xsweep"}
    baseline = modules_after("pass")  # .pth hooks of the environment, say
    return sorted(m for m in modules - baseline if m.split(".")[0] not in std)


@pytest.fixture
def sown_crop(tmp_path: Path) -> Path:
    """A crop of 4 single-combo batches, its function saved by value."""
    import xsweep

    namespace: dict = {"__name__": "xsweep_test_import_fns"}
    exec("def double(x):\n    return 2 * x\n", namespace)
    crop = xsweep.Crop(
        fn=namespace["double"], name="light", parent_dir=str(tmp_path), batchsize=1
    )
    crop.sow_combos({"x": [1, 2, 3, 4]})
    return Path(crop.location)


def test_import_xsweep_imports_almost_nothing():
    modules = modules_after("import xsweep")
    assert third_party(modules) == []
    assert heavy_in(modules) == []
    own = sorted(m for m in modules if m.startswith("xsweep"))
    assert len(own) <= 3, own


def test_python_grow_imports_no_dataset_stack(sown_crop: Path):
    code = (
        "import xsweep\n"
        f"c = xsweep.Crop(name='light', parent_dir={str(sown_crop.parent)!r})\n"
        "xsweep.grow(1, crop=c)\n"
        "assert 1 not in c.missing_results()\n"
    )
    modules = modules_after(code)
    assert "xsweep.crop" in modules  # it really grew through the crop
    assert heavy_in(modules) == []


def test_cli_grow_imports_no_dataset_stack(sown_crop: Path):
    code = (
        "from xsweep.cli import main\n"
        f"assert main(['grow', '-q', {str(sown_crop)!r}, '2']) == 0\n"
        f"assert main(['grow', '-q', {str(sown_crop)!r}]) == 0\n"  # pull mode
    )
    modules = modules_after(code)
    assert "xsweep.cli.grow" in modules
    assert heavy_in(modules) == []
    assert "xsweep.cli.reap" not in modules  # only the subcommand run is imported


def test_python_m_xsweep_grow_is_light(sown_crop: Path):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['xsweep', 'grow', '-q', {str(sown_crop)!r}, '3']\n"
        "try:\n"
        "    runpy.run_module('xsweep', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
    )
    assert heavy_in(modules_after(code)) == []

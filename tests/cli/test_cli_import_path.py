"""``xsweep grow`` (the console script) imports what the sowing process could.

The function lives in a module of the directory the crop was sown from; the
``xsweep`` console script, started elsewhere, does not have that directory on
``sys.path`` by itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

XSWEEP = Path(sys.executable).with_name("xsweep")

SOW = """
import xsweep
from physics import energy
c = xsweep.Crop(fn=energy, name="energy", parent_dir={parent!r})
c.sow_combos({{"x": [1, 2, 3]}})
"""


@pytest.fixture
def sown(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "physics.py").write_text("def energy(x):\n    return x * x\n")
    parent = tmp_path / "crops"
    done = subprocess.run(
        [sys.executable, "-c", SOW.format(parent=str(parent))],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return project, parent / ".xyz-energy"


def grow(location: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(XSWEEP), "grow", str(location), *args],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.skipif(not XSWEEP.exists(), reason="no xsweep console script")
def test_the_console_script_imports_from_where_the_crop_was_sown(tmp_path, sown):
    _, location = sown
    done = grow(location, cwd=tmp_path)  # not the project directory
    assert done.returncode == 0, done.stderr
    assert "grew 3 batch(es)" in done.stdout


@pytest.mark.skipif(not XSWEEP.exists(), reason="no xsweep console script")
def test_a_module_that_moved_is_found_with_path_and_the_error_says_how(tmp_path, sown):
    project, location = sown
    elsewhere = tmp_path / "moved"
    elsewhere.mkdir()
    shutil.move(project / "physics.py", elsewhere / "physics.py")
    failed = grow(location, cwd=tmp_path)
    assert failed.returncode == 2
    message = failed.stderr
    assert message.startswith("xsweep: error:") and "Traceback" not in message
    for needle in ("'physics'", str(project), "--path DIR", "PYTHONPATH"):
        assert needle in message, (needle, message)
    assert "fn=" not in message  # the command line has no fn=
    done = grow(location, "--path", str(elsewhere), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    bad = grow(location, "--path", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert bad.returncode == 2 and "nowhere" in bad.stderr


HARVEST = """
import xsweep
from mymodel import model
runner = xsweep.Runner(model, var_names=["y"])
harvester = xsweep.Harvester(runner, data_name="harvest.nc")
crop = harvester.Crop(name="harvcrop", parent_dir="sweeps")
crop.sow_combos({"a": [1, 2, 3]})
crop.grow()
"""


@pytest.mark.skipif(not XSWEEP.exists(), reason="no xsweep console script")
def test_reap_loads_a_harvester_crop_from_where_it_was_sown(tmp_path):
    # a new user's first hour: `python harv.py` then `xsweep reap
    # sweeps/.xyz-harvcrop` in the same directory exited 2: No module 'mymodel'
    project = tmp_path / "project"
    project.mkdir()
    (project / "mymodel.py").write_text("def model(a):\n    return 2 * a\n")
    (project / "harv.py").write_text(HARVEST)
    done = subprocess.run(
        [sys.executable, "harv.py"], cwd=project, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    location = project / "sweeps" / ".xyz-harvcrop"

    def reap(*args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(XSWEEP), "reap", str(location), *args],
            cwd=cwd, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    # the module moved away: the error names --path, and --path finds it
    elsewhere = tmp_path / "moved"
    elsewhere.mkdir()
    shutil.move(project / "mymodel.py", elsewhere / "mymodel.py")
    failed = reap("--keep", cwd=project)
    assert failed.returncode == 2, failed.stderr
    for needle in ("'mymodel'", str(project), "xsweep reap --path DIR"):
        assert needle in failed.stderr, (needle, failed.stderr)
    shutil.move(elsewhere / "mymodel.py", project / "mymodel.py")
    reaped = reap(cwd=project)  # from the very directory it was sown in
    assert reaped.returncode == 0, reaped.stderr
    from xsweep import netcdf

    merged = netcdf.load_dataset(project / "harvest.nc")  # merged by the Harvester
    assert merged["y"].values.tolist() == [2, 4, 6]

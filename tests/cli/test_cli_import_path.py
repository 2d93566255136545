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

"""The installed ``xsweep`` command (a console-script entry point) runs the
command line, and its exit status is the command's exit code."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import xsweep
from xsweep.cli import EXIT_FAILED, EXIT_NOTHING, EXIT_OK, main


def installed_command() -> Path:
    (entry,) = importlib.metadata.entry_points(group="console_scripts", name="xsweep")
    assert entry.load() is main
    script = Path(sys.executable).with_name("xsweep")
    if not script.exists():
        pytest.skip(f"xsweep is not installed next to {sys.executable}")
    return script


def test_the_installed_xsweep_command_exits_with_the_commands_code(tmp_path):
    command = installed_command()
    version = subprocess.run(
        [command, "--version"], capture_output=True, text=True, timeout=60
    )
    assert (version.returncode, version.stdout.split()[0]) == (EXIT_OK, "xsweep")

    namespace: dict[str, Any] = {"__name__": "xsweep_test_entry_point"}
    exec("def inverse(x):\n    return 1 / x\n", namespace)
    crop = xsweep.Crop(fn=namespace["inverse"], parent_dir=tmp_path, batchsize=1)
    missing = [command, "status", str(tmp_path / ".xyz-inverse")]
    assert subprocess.run(missing, capture_output=True).returncode == EXIT_NOTHING
    crop.sow_combos({"x": [0, 1, 2]})
    grow = subprocess.run(
        [command, "grow", "-q", crop.location], capture_output=True, timeout=60
    )
    assert grow.returncode == EXIT_FAILED  # 1 / 0 failed, recorded
    assert crop.missing_results() == () and crop.failed_results() == (1,)

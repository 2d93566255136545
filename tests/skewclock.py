"""A skewed wall clock for one process: ``skewclock.c`` built as an LD_PRELOAD.

Only the real-time clock moves (monotonic clocks and sleeps do not), as on a
host whose clock is off; with ``stamps=True`` that process also stamps file
times with its skewed clock, as clients of some file systems do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).with_name("skewclock.c")


def build(directory: Path) -> Path:
    """Compile the shim into ``directory``; skip if no C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None and os.environ.get("CI", "").lower() == "true" and os.geteuid() == 0:
        script = Path(__file__).resolve().parents[1] / "scripts/ci/apt_install.sh"
        subprocess.run(
            ["bash", str(script), "gcc", "libc6-dev"], check=True, capture_output=True
        )
        cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the clock-skew shim (apt install gcc)")
    lib = directory / "skewclock.so"
    if not lib.exists():
        subprocess.run(
            [cc, "-shared", "-fPIC", "-O2", "-o", str(lib), str(SOURCE), "-ldl"],
            check=True,
            capture_output=True,
        )
    return lib


def skewed_env(lib: Path, seconds: int, stamps: bool = False) -> dict[str, str]:
    """Environment variables that shift a child's wall clock by ``seconds``."""
    return {
        "LD_PRELOAD": str(lib),
        "XS_SKEW_SECONDS": str(seconds),
        "XS_SKEW_STAMPS": "1" if stamps else "0",
    }


def check(lib: Path, seconds: int) -> None:
    """Assert that a child under the shim sees its clock shifted."""
    env = {**os.environ, **skewed_env(lib, seconds)}
    code = "import time; print(time.time())"
    import sys
    import time

    before = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    seen = float(out.stdout)
    assert abs(seen - before - seconds) < 30, (seen, before, out.stderr)

"""Sweep functions for crop tests, pickled by value so growers need no import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cloudpickle

ROOT = Path(__file__).resolve().parents[2]

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def add(x, y):
    """x * 10 + y."""
    return x * 10 + y


def logged_add(x, y, log):
    """``add`` that appends one line per call to ``log`` (O_APPEND, atomic)."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{x},{y}\n".encode())
    finally:
        os.close(fd)
    return x * 10 + y


def flaky_add(x, y, log, broken):
    """``logged_add`` that raises for x == 3 while the file ``broken`` exists."""
    logged_add(x, y, log)
    if x == 3 and os.path.exists(broken):
        raise ValueError(f"broken at x={x}, y={y}")
    return x * 10 + y


def calls(log) -> list[str]:
    """The lines logged by ``logged_add``."""
    try:
        with open(log) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def run_python(code: str, env: dict | None = None, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter; its stdout (raises on failure)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def slow_add(x, y, seconds=0.02):
    """``add`` taking ``seconds`` (a stand-in for real work)."""
    import time

    time.sleep(seconds)
    return x * 10 + y


def destructive_add(x, y, location):
    """``add`` that deletes its own crop directory at x == 2."""
    import shutil

    if x == 2:
        shutil.rmtree(location)
    return x * 10 + y

"""Real grower processes for the chaos, concurrency and fault tests.

Growers are separate ``python`` processes, started exactly as users start them
(``python -m xsweep grow CROP`` in pull mode, or
``python -c "import xsweep; ...; xsweep.grow(i, crop=c)"``) and SIGKILLed for
real. Nothing here sleeps to wait for something: :func:`wait_for` polls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PY = sys.executable


def by_value(source: str, name: str) -> Callable:
    """Define function ``name`` from ``source`` so that cloudpickle saves it by
    value (its module is not importable), as a user's script function is."""
    namespace: dict[str, Any] = {"__name__": "xsweep_test_growers"}
    exec(source, namespace)
    return namespace[name]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    return env


def start_cli(
    location: str | Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start ``python -m xsweep grow -q CROP *args`` (pull mode without batch ids)."""
    return subprocess.Popen(
        [PY, "-m", "xsweep", "grow", "-q", str(location), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(env),
    )


def start_python(
    parent_dir: str | Path, name: str, batch: int, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start ``python -c "...; xsweep.grow(batch, crop=c)"``."""
    code = (
        "import xsweep; "
        f"c = xsweep.Crop(name={name!r}, parent_dir={str(parent_dir)!r}); "
        f"xsweep.grow({batch}, crop=c)"
    )
    return subprocess.Popen(
        [PY, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(env),
    )


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m xsweep *args`` to its end."""
    return subprocess.run(
        [PY, "-m", "xsweep", *args], capture_output=True, text=True, timeout=timeout
    )


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc`` (if still running) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def finish(
    procs: Sequence[subprocess.Popen], timeout: float = 60
) -> list[tuple[int, str]]:
    """Wait for every process; their exit codes and stderr. Kills all on timeout."""
    deadline = time.monotonic() + timeout
    codes = []
    try:
        for p in procs:
            _, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            codes.append((p.returncode, err))
    finally:
        for p in procs:
            if p.poll() is None:
                kill(p)
    return codes


def poll(condition: Callable[[], Any], timeout: float) -> Any:
    """Poll ``condition`` until it returns something truthy (returned) or
    ``timeout`` seconds pass (then its last, falsy, value is returned)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def wait_for(
    condition: Callable[[], Any], timeout: float = 30, what: str = "condition"
) -> Any:
    """Poll ``condition`` until it returns something truthy; return that."""
    value = poll(condition, timeout)
    if not value:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")
    return value


def holds_claim(location: Path, pid: int) -> bool:
    """Whether process ``pid`` holds a claim in the crop at ``location``."""
    from xsweep.crop.claims import read_claim
    from xsweep.crop.layout import CropLayout

    claims = CropLayout(Path(location)).list_claims().values()
    return any((read_claim(path) or {}).get("pid") == pid for path in claims)


def result_paths(location: str | Path) -> list[Path]:
    """Every single-batch result file of the crop at ``location`` (those that
    count as done; temporaries excluded)."""
    from xsweep.crop.layout import CropLayout

    singles = CropLayout(Path(location)).list_results()[0]
    return sorted(Path(p) for p in singles.values())


def files_in(directory: Path) -> list[str]:
    """Names in ``directory`` (none if it does not exist)."""
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []


def temporaries(location: Path) -> list[Path]:
    """Every temporary (``.<name>.tmp-...``) anywhere under the crop directory."""
    from xsweep.atomic import is_temporary

    return [
        Path(root, name)
        for root, _, names in os.walk(location)
        for name in names
        if is_temporary(name)
    ]


def runs(log: Path) -> Counter:
    """How many times each combo ran, from a call log of ``"a b"`` lines (one
    per call, as the tests' logging functions append them)."""
    text = log.read_text() if log.exists() else ""
    return Counter(tuple(map(int, line.split())) for line in text.splitlines())

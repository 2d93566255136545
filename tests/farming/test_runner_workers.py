"""Local workers of a Runner: their thread counts, and stopping them.

Real worker processes report their own environment; a real script running a
sweep on local workers gets real SIGTERM and SIGINT, then no worker is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proctools import alive

import xsweep
from xsweep.engine.parallel import THREAD_VARS, default_threads

pytestmark = pytest.mark.timeout(120)


def threads_seen(x):
    import os

    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    env = [int(os.environ.get(k, "0")) for k in THREAD_VARS]
    return os.getpid(), min(env), max(env), max(blas or [0])


def test_num_threads_in_every_local_worker():
    runner = xsweep.Runner(threads_seen, var_names=["pid", "lo", "hi", "blas"])
    ds = runner.run_combos(
        {"x": range(40)}, num_workers=2, num_threads=1, in_process_below=0
    )
    assert os.getpid() not in set(ds["pid"].values.tolist())
    assert set(ds["lo"].values.tolist()) == set(ds["hi"].values.tolist()) == {1}
    assert set(ds["blas"].values.tolist()) == {1}
    with pytest.raises(ValueError, match="num_threads"):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as ex:
            runner.run_combos({"x": [1]}, executor=ex, num_threads=2)


def test_default_threads_fit_the_usable_cpus(monkeypatch):
    for name in THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    runner = xsweep.Runner(threads_seen, var_names=["pid", "lo", "hi", "blas"])
    ds = runner.run_combos({"x": range(40)}, num_workers=2, in_process_below=0)
    expected = default_threads(2)
    assert expected * 2 <= max(2, len(os.sched_getaffinity(0)))
    assert set(ds["lo"].values.tolist()) == {expected}


SCRIPT = """
import os, time, xsweep
def slow(x):
    with open({log!r}, "a") as f:
        f.write(f"{{x}} {{os.getpid()}}\\n")
    time.sleep(0.2)
    return x
xsweep.Runner(slow, var_names="y").run_combos({{"x": range(400)}}, num_workers=2)
"""


def pids(log: Path) -> set[int]:
    text = log.read_text() if log.exists() else ""
    return {int(line.split()[1]) for line in text.splitlines() if line.strip()}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_a_runner_leaves_no_worker_behind(tmp_path, signum):
    log = tmp_path / "log"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(log=str(log)))
    proc = subprocess.Popen(
        [sys.executable, str(script)], stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while len(pids(log) - {proc.pid}) < 2:  # both workers at work
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if signum == signal.SIGTERM:  # ends as SIGTERM would have
        assert proc.returncode == -signal.SIGTERM, err
    else:
        assert proc.returncode != 0 and "KeyboardInterrupt" in err
    workers = pids(log) - {proc.pid}
    deadline = time.monotonic() + 5
    while any(alive(p) for p in workers):
        assert time.monotonic() < deadline, "a worker outlived its runner"
        time.sleep(0.02)
    calls = len(Path(log).read_text().splitlines())
    time.sleep(0.5)
    assert len(Path(log).read_text().splitlines()) == calls  # nothing runs on

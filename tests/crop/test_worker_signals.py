"""SIGTERM or Ctrl-C to a script growing with local workers stops them at once.

A real script in its own process, real signals; then the process tree is
gone, the crop's claims are free, finished results are written, and nothing
stopped by the signal is recorded as a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from grower_procs import PY, by_value, wait_for
from proctools import alive

import xsweep
from xsweep.crop.layout import CropLayout

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import os
import time

def slow(x, log):
    with open(log, "a") as fh:
        fh.write(f"{x} {os.getpid()} start\\n")
    time.sleep(0.4)
    with open(log, "a") as fh:
        fh.write(f"{x} {os.getpid()} end\\n")
    return x
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_local_workers_writes_results_and_frees_claims(tmp_path, signum):
    log = tmp_path / "log"
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "slow"), name="slow", parent_dir=str(tmp_path),
        batchsize=1,
    )  # fmt: skip
    crop.sow_combos({"x": list(range(40))}, constants={"log": str(log)})
    script = tmp_path / "grow.py"
    script.write_text(
        "import xsweep\n"
        f"c = xsweep.Crop(name='slow', parent_dir={str(tmp_path)!r})\n"
        "c.grow_missing(num_workers=2)\n"
    )
    proc = subprocess.Popen(
        [PY, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(
            lambda: log.exists() and log.read_text().count("end") >= 3,
            what="a few finished combos",
        )
        os.kill(proc.pid, signum)
        proc.communicate(timeout=10)  # stopped within seconds
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0
    lines = [line.split() for line in log.read_text().splitlines()]
    children = {int(pid) for _, pid, _ in lines}
    assert len(children) == 2 and proc.pid not in children
    wait_for(lambda: not any(alive(p) for p in children), 5, "no worker left")
    assert CropLayout(Path(crop.location)).list_claims() == {}
    assert crop.failures() == []  # a stopped combo is no failure
    finished = {int(x) for x, _, what in lines if what == "end"}
    done = set(crop.completed_results())
    written = {b - 1 for b in done}  # batch b holds x = b - 1
    assert written <= finished
    # every finished combo is written, but at most one per worker that was
    # killed between its end and sending its result back
    assert len(finished - written) <= 2
    started = {int(x) for x, _, what in lines if what == "start"}
    assert len(started) < 40  # it stopped
    # the rest grows later, each missing combo once
    log.write_text("")
    crop.grow_missing(num_workers=2)
    again = [
        int(line.split()[0])
        for line in log.read_text().splitlines()
        if line.endswith("start")
    ]
    assert sorted(again) == sorted(set(range(40)) - {b - 1 for b in done})
    assert list(map(int, crop.reap())) == list(range(40))

"""Concurrency: many real growers on one crop never compute a combo twice.

Each combo appends one line to a log file (``O_APPEND``: lines from several
processes never interleave), a side-effect counter that shows exactly which
combos ran, how often and in which process.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from grower_procs import (
    by_value,
    finish,
    kill,
    run_cli,
    start_cli,
    start_python,
    wait_for,
)

import xsweep
from xsweep.crop.layout import CropLayout

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import os
import time

def logged(x, y, log, gate=None, pause=0.0):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{x} {y} {os.getpid()}\\n".encode())
    finally:
        os.close(fd)
    deadline = time.monotonic() + 60
    held = gate is not None and f"{gate}-{x}"  # combos with this x wait for it
    while held and os.path.exists(held) and time.monotonic() < deadline:
        time.sleep(0.005)  # held here until the test removes the gate file
    time.sleep(pause)
    return 10 * x + y
"""


def sow_logged(tmp_path: Path, name: str, xs, ys, batchsize: int, **constants):
    """A crop of ``logged`` whose combos append to ``<tmp>/<name>.log``."""
    log = tmp_path / f"{name}.log"
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "logged"),
        name=name,
        parent_dir=str(tmp_path),
        batchsize=batchsize,
    )
    crop.sow_combos(
        {"x": list(xs), "y": list(ys)}, constants={"log": str(log), **constants}
    )
    return crop, log


def runs(log: Path) -> Counter:
    """How many times each combo ran."""
    text = log.read_text() if log.exists() else ""
    return Counter(tuple(line.split()[:2]) for line in text.splitlines())


def pids(log: Path) -> set[str]:
    return {line.split()[2] for line in log.read_text().splitlines()}


def test_five_pull_growers_compute_every_combo_exactly_once(tmp_path):
    crop, log = sow_logged(tmp_path, "split", range(10), range(8), 2, pause=0.04)
    procs = [start_cli(crop.location) for _ in range(5)]
    ends = finish(procs, timeout=90)
    assert all(code in (0, 3) for code, _ in ends), ends
    counts = runs(log)
    assert len(counts) == 80
    assert set(counts.values()) == {1}, [c for c, n in counts.items() if n > 1]
    assert len(pids(log)) >= 2  # the work was split, not done by one
    assert list(crop.missing_results()) == []


def test_a_dead_growers_claim_is_taken_over_at_once(tmp_path):
    gate = tmp_path / "gate"
    (tmp_path / "gate-1").touch()
    crop, log = sow_logged(tmp_path, "dead", [1], [1, 2], 2, gate=str(gate))
    layout = CropLayout(Path(crop.location))
    first = start_python(tmp_path, "dead", 1)
    wait_for(lambda: layout.list_claims(), what="the first grower's claim")
    wait_for(lambda: runs(log), what="the first grower to start computing")
    kill(first)  # dies holding its claim (same host, pid gone)
    assert len(layout.list_claims()) == 1
    (tmp_path / "gate-1").unlink()
    # the default heartbeat timeout is 10 min: only the dead pid frees the claim
    started = time.monotonic()
    second = run_cli("grow", str(crop.location), "1", timeout=60)
    assert second.returncode == 0, second.stderr
    assert time.monotonic() - started < 30
    assert list(crop.missing_results()) == []
    assert layout.list_claims() == {}


def write_foreign_claim(layout: CropLayout, batch: int, fp: str, age: float) -> Path:
    """A claim by a grower on another host, last heartbeat ``age`` seconds ago."""
    path = layout.claim_file(batch, fp)
    info = {"host": "node-elsewhere.cluster", "pid": os.getpid(), "token": "t0"}
    path.write_text(json.dumps(info))
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_another_hosts_claim_is_taken_over_only_after_the_heartbeat_timeout(tmp_path):
    crop, log = sow_logged(tmp_path, "remote", [1, 2, 3], [1], 1)
    layout = CropLayout(Path(crop.location))
    layout.make_dirs()
    fp = crop_fingerprint(crop, 2)
    claim = write_foreign_claim(layout, 2, fp, age=5)

    grow = ["grow", str(crop.location), "--heartbeat-timeout", "2"]
    grown = run_cli(*grow, "--no-wait")
    assert grown.returncode == 0, grown.stderr
    assert list(crop.missing_results()) == [2]  # held by the other host: left alone
    assert ("2", "1") not in runs(log)
    assert crop.status().claimed == 1
    assert run_cli("clean", str(crop.location)).returncode == 0
    assert claim.exists()  # not provably dead: not debris

    then = time.time() - 7200  # an old mtime proves nothing (clocks differ)
    os.utime(claim, (then, then))
    assert run_cli(*grow, "--no-wait").returncode == 0
    assert list(crop.missing_results()) == [2]
    # watched without a heartbeat for the timeout (this grower's own clock):
    # taken over, after at least the timeout
    start = time.monotonic()
    grown = run_cli(*grow)
    assert grown.returncode == 0, grown.stderr
    assert time.monotonic() - start > 2
    assert list(crop.missing_results()) == []
    assert set(runs(log).values()) == {1}


def test_a_live_growers_heartbeat_keeps_its_claim(tmp_path):
    gate = tmp_path / "gate"
    (tmp_path / "gate-1").touch()  # batch 1 (x=1) waits for it
    crop, log = sow_logged(tmp_path, "beat", [1, 2, 3], [1], 1, gate=str(gate))
    layout = CropLayout(Path(crop.location))
    env = {"XSWEEP_HEARTBEAT_TIMEOUT": "3"}
    holder = start_python(tmp_path, "beat", 1, env=env)
    claim = wait_for(lambda: layout.list_claims(), what="the holder's claim")
    (path,) = claim.values()
    wait_for(lambda: runs(log), what="the holder to start computing")
    seen = {os.stat(path).st_mtime_ns}
    wait_for(  # the heartbeat refreshes it, again and again
        lambda: seen.add(os.stat(path).st_mtime_ns) or len(seen) >= 3,
        timeout=10,
        what="three heartbeats",
    )
    # other growers with the same short timeout leave it alone
    others = run_cli("grow", str(crop.location), "--heartbeat-timeout", "3")
    assert others.returncode == 0, others.stderr
    assert list(crop.missing_results()) == [1]
    (tmp_path / "gate-1").unlink()
    ((code, err),) = finish([holder])
    assert code == 0, err
    assert list(crop.missing_results()) == []
    assert set(runs(log).values()) == {1}


def crop_fingerprint(crop, batch: int) -> str:
    """The fingerprint of a sown batch (its claim and result names carry it)."""
    from xsweep.crop.sow import read_sow

    return read_sow(crop.layout).fingerprint(batch)

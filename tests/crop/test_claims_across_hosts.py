"""Claims judged without comparing clocks or trusting host names (issue 10),
on a local disk with real processes: a grower frozen past the heartbeat
timeout loses its batch and discards its late result; skewed clocks neither
break a live claim nor keep a dead one; a holder with our host name but
another pid namespace is never taken for dead; first writer wins."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import skewclock
from grower_procs import PY, by_value, kill, wait_for
from proctools import process_tree

import xsweep
from xsweep.crop import claims
from xsweep.crop.store import ResultStore

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import os
import time

def pid_value(x, gate):
    if os.environ.get("XS_GATED") and os.path.exists(gate):
        open(gate + ".entered", "w").close()
        while os.path.exists(gate):
            time.sleep(0.01)
    with open(gate + ".calls", "a") as f:
        f.write(f"{x} {os.environ.get('XS_GROWER', '?')}\\n")
    return float(os.getpid())  # differs per process: a replaced result shows
"""
TIMEOUT = 1.0


def sow_one(tmp_path: Path) -> tuple[xsweep.Crop, Path]:
    gate = tmp_path / "gate"
    gate.touch()
    crop = xsweep.Crop(fn=by_value(SOURCE, "pid_value"), name="p", parent_dir=tmp_path)
    crop.sow_combos({"x": [1]}, constants={"gate": str(gate)})
    return crop, gate


def grower(crop, *args: str, env: dict[str, str] | None = None, prefix=()):
    argv = [*prefix, PY, "-m", "xsweep", "grow", crop.location]
    argv += ["--heartbeat-timeout", str(TIMEOUT), *args]
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def calls(gate: Path) -> list[str]:
    path = Path(f"{gate}.calls")
    return path.read_text().split("\n")[:-1] if path.exists() else []


def test_a_grower_frozen_past_the_timeout_discards_its_late_result(tmp_path):
    crop, gate = sow_one(tmp_path)
    frozen = grower(crop, env={"XS_GATED": "1", "XS_GROWER": "frozen"})
    try:
        wait_for(Path(f"{gate}.entered").exists, what="the first grower at work")
        pids = process_tree(frozen.pid)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)  # paused with its claim held
        start = time.monotonic()
        other = grower(crop, env={"XS_GROWER": "other"})
        _, err = other.communicate(timeout=60)
        assert other.returncode == 0, err
        assert time.monotonic() - start > TIMEOUT  # never before the timeout
        assert crop.completed_results() == (1,)
        first = np.asarray(crop.reap(clean_up=False), dtype=float).ravel()
        gate.unlink()
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        _, err = frozen.communicate(timeout=60)
    finally:
        gate.unlink(missing_ok=True)
        kill(frozen)
    assert frozen.returncode == 0, err  # the batch is done: no failure
    assert "discarded" in err and "1" in err
    assert sorted(calls(gate)) == [
        "1 frozen",
        "1 other",
    ]  # computed twice, after a pause
    again = np.asarray(crop.reap(clean_up=False), dtype=float).ravel()
    assert again.tolist() == first.tolist()  # the first written counts
    assert first[0] != frozen.pid


def test_first_writer_wins_and_a_loser_keeps_no_marker(tmp_path):
    crop, gate = sow_one(tmp_path)
    gate.unlink()
    crop.grow(1)
    store = ResultStore(crop.layout)
    sow = crop._read_sow()
    fp = sow.fingerprint(1)
    first = store.read(1, fp)
    late = dict(first, provenance=[{"host": "late"}])
    late["failures"] = [type("F", (), {"index": 0})()]
    assert store.write_group([late]) == []  # never replaces
    assert store.read(1, fp)["provenance"] == first["provenance"]
    assert not list(Path(crop.layout.results_dir).glob("*.fail"))


def test_skewed_clocks_neither_break_a_live_claim_nor_keep_a_dead_one(tmp_path):
    lib = skewclock.build(tmp_path)
    skewclock.check(lib, 600)
    crop, gate = sow_one(tmp_path)
    ahead = skewclock.skewed_env(lib, 600, stamps=True)
    behind = skewclock.skewed_env(lib, -600, stamps=True)
    # a holder whose clock runs 10 minutes ahead, alive: kept
    holder = grower(crop, env={"XS_GATED": "1", "XS_GROWER": "ahead", **ahead})
    try:
        wait_for(Path(f"{gate}.entered").exists, what="the holder at work")
        start = time.monotonic()
        late = grower(crop, env={"XS_GROWER": "behind", **behind})
        out, err = late.communicate(timeout=60)
        assert late.returncode == 0, err
        assert "held by other growers: 1" in out
        assert time.monotonic() - start < 30  # it saw the heartbeat and left
        assert crop.completed_results() == ()
        gate.unlink()
        assert holder.wait(60) == 0
    finally:
        gate.unlink(missing_ok=True)
        kill(holder)
    assert calls(gate) == ["1 ahead"]


def other_pid_namespace() -> list[str]:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to run a grower in its own pid namespace")
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"])
    if probe.returncode != 0:
        pytest.skip("unshare --pid does not work here")
    return ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]


def test_a_dead_claim_of_a_skewed_host_is_recovered_within_one_timeout(tmp_path):
    prefix = other_pid_namespace()  # another host's pid table: not provable
    lib = skewclock.build(tmp_path)
    crop, gate = sow_one(tmp_path)
    ahead = skewclock.skewed_env(lib, 600, stamps=True)
    holder = grower(
        crop, env={"XS_GATED": "1", "XS_GROWER": "dead", **ahead}, prefix=prefix
    )
    try:
        wait_for(Path(f"{gate}.entered").exists, what="the holder at work")
        (claim,) = crop.layout.list_claims().values()
        kill(holder)  # SIGKILL: its claim stays, stamped by a clock 10 min ahead
        gate.unlink()
        behind = skewclock.skewed_env(lib, -600)
        start = time.monotonic()
        late = grower(crop, env={"XS_GROWER": "behind", **behind})
        _, err = late.communicate(timeout=60)
        took = time.monotonic() - start
    finally:
        gate.unlink(missing_ok=True)
        kill(holder)
    assert late.returncode == 0, err
    assert crop.completed_results() == (1,) and not claim.exists()
    assert TIMEOUT < took < TIMEOUT + 15  # about one timeout, whatever the skew


def test_a_holder_with_our_host_name_in_another_pid_namespace_is_not_dead(tmp_path):
    prefix = other_pid_namespace()  # same host name, same boot: a container
    crop, gate = sow_one(tmp_path)
    holder = grower(crop, env={"XS_GATED": "1", "XS_GROWER": "twin"}, prefix=prefix)
    try:
        wait_for(Path(f"{gate}.entered").exists, what="the holder at work")
        (claim,) = crop.layout.list_claims().values()
        info = claims.read_claim(claim)
        assert info["boot_id"] and info["pid_ns"] != os.readlink("/proc/self/ns/pid")
        assert not claims.holder_is_dead(info)
        assert not claims.holder_is_dead({**info, "pid": 2**22 + 7})  # no such pid here
        # the same card with OUR pid namespace and a dead pid is provably dead
        ours = {**info, "pid_ns": os.readlink("/proc/self/ns/pid"), "pid": dead_pid()}
        assert claims.holder_is_dead(ours)
        late = grower(crop, "--no-wait", env={"XS_GROWER": "here"})
        _, err = late.communicate(timeout=60)
        assert late.returncode == 0, err
        assert crop.completed_results() == () and claim.exists()
        gate.unlink()
        assert holder.wait(60) == 0, holder.stderr.read()
    finally:
        gate.unlink(missing_ok=True)
        kill(holder)
    assert calls(gate) == ["1 twin"]


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid

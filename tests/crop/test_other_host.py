"""Invariant 3 across hosts, for real: a grower on another host (its own UTS
and pid namespaces, so its own hostname and pid table) keeps its claim with
its heartbeat, and
``xsweep clean`` here never removes what it holds; killed, its claim cannot be
proved dead from here, so it is taken over only once its heartbeat is older
than the timeout, and then at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from grower_procs import PY, by_value, kill, run_cli, wait_for

import xsweep
from xsweep.crop.claims import read_claim

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import os
import time

def gated(x, gate):
    if os.path.exists(gate):
        open(gate + ".entered", "w").close()  # tells the test it is in here
    while os.path.exists(gate):
        time.sleep(0.005)
    return 10 * x
"""
TIMEOUT = 1.5  # heartbeat timeout, seconds (heartbeats every 0.375 s)
# another host: its own hostname and pid table (a pid there means nothing here);
# SIGKILL to unshare kills the grower (pid 1 of its namespace) too
UNSHARE = ["unshare", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child"]


def other_host_can_run() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(
        [*UNSHARE, "sh", "-c", "hostname xsweep-elsewhere"], capture_output=True
    )
    return probe.returncode == 0


def start_remote(crop: xsweep.Crop, gate: Path) -> subprocess.Popen:
    """Grow batch 1 as host ``xsweep-elsewhere``; return once it computes."""
    if not other_host_can_run():
        pytest.skip("needs root and unshare (UTS, pid) to run a grower as another host")
    grow = f"{PY} -m xsweep grow -q {crop.location} 1 --heartbeat-timeout {TIMEOUT}"
    remote = subprocess.Popen(
        [*UNSHARE, "sh", "-c", f"hostname xsweep-elsewhere && exec {grow}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(Path(f"{gate}.entered").exists, what="the remote grower at work")
    except BaseException:
        kill(remote)
        raise
    return remote


def sow_gated(tmp_path: Path) -> tuple[xsweep.Crop, Path]:
    gate = tmp_path / "gate"
    gate.touch()
    crop = xsweep.Crop(fn=by_value(SOURCE, "gated"), name="far", parent_dir=tmp_path)
    crop.sow_combos({"x": [1, 2]}, constants={"gate": str(gate)})
    return crop, gate


def test_clean_never_removes_a_remote_growers_claim_or_card(tmp_path):
    crop, gate = sow_gated(tmp_path)
    remote = start_remote(crop, gate)
    try:
        held = sorted(os.listdir(crop.layout.claims_dir))
        start = time.monotonic()
        while time.monotonic() - start < 1.5 * TIMEOUT:  # older than the timeout
            done = run_cli("clean", crop.location, "--heartbeat-timeout", str(TIMEOUT))
            assert done.returncode == 0, done.stderr
            assert sorted(os.listdir(crop.layout.claims_dir)) == held
        gate.unlink()
        _, err = remote.communicate(timeout=60)
        assert remote.returncode == 0, err
    finally:
        gate.unlink(missing_ok=True)
        if remote.poll() is None:
            kill(remote)
    assert crop.completed_results() == (1,) and crop.layout.list_claims() == {}


def test_a_killed_growers_claim_on_another_host_waits_for_its_heartbeat(tmp_path):
    crop, gate = sow_gated(tmp_path)
    remote = start_remote(crop, gate)
    try:
        (claim,) = crop.layout.list_claims().values()
        assert (read_claim(claim) or {}).get("host") == "xsweep-elsewhere"
        # alive: its heartbeat keeps the claim fresh well past the timeout
        start, beats = time.monotonic(), {os.stat(claim).st_mtime_ns}
        wait_for(
            lambda: (
                beats.add(os.stat(claim).st_mtime_ns)
                or time.monotonic() - start > 1.5 * TIMEOUT
            ),
            what="one and a half heartbeat timeouts",
        )
        assert len(beats) >= 4
        here = ["grow", crop.location, "1", "--heartbeat-timeout", str(TIMEOUT)]
        assert run_cli(*here).returncode == 0
        assert crop.completed_results() == () and crop.status().claimed == 1
        kill(remote)  # SIGKILL: its claim stays, and nothing here can see it died
        last_beat = os.stat(claim).st_mtime
        gate.unlink()
        while True:  # grow here, again and again, until batch 1 is taken over
            started = time.time()
            assert run_cli(*here).returncode == 0
            ended = time.time()
            if crop.completed_results():
                assert ended - last_beat > TIMEOUT  # never before the timeout
                break
            assert started - last_beat < TIMEOUT + 5, "stale, but not taken over"
        assert crop.completed_results() == (1,) and crop.layout.list_claims() == {}
    finally:
        gate.unlink(missing_ok=True)
        if remote.poll() is None:
            kill(remote)

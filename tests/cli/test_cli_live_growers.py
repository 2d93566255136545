"""The command line with growers at work: ``status --json`` counts a live claim;
a grower interrupted (SIGINT, exit 130) or terminated (SIGTERM, exit 143, as
a scheduler's time limit does) keeps what it computed and frees its batch at
once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import xsweep
from xsweep.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, main

SOURCE = """
import os
import time

def gated(x, gate):
    if os.path.exists(f"{gate}-{x}"):
        open(f"{gate}-{x}.entered", "w").close()  # tells the test it is in here
    while os.path.exists(f"{gate}-{x}"):
        time.sleep(0.005)  # held here until the test removes the gate file
    return 10 * x
"""


def sow(tmp_path: Path) -> tuple[xsweep.Crop, Path]:
    namespace: dict[str, Any] = {"__name__": "xsweep_test_cli_live"}
    exec(SOURCE, namespace)  # not importable: saved by value with the crop
    gate = tmp_path / "gate"
    crop = xsweep.Crop(
        fn=namespace["gated"], name="live", parent_dir=tmp_path, batchsize=1
    )
    crop.sow_combos({"x": [1, 2, 3, 4]}, constants={"gate": str(gate)})
    return crop, gate


def _default_sigint() -> None:
    # a shell runs background jobs with SIGINT ignored, and Python keeps an
    # ignored SIGINT ignored: give the grower the disposition a terminal gives
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # likewise, should it be ignored


def start_grower(crop: xsweep.Crop, *batches: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "xsweep", "grow", crop.location, *map(str, batches)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def wait_until(condition, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def status_json(crop: xsweep.Crop, capsys) -> dict:
    capsys.readouterr()
    assert main(["status", "--json", crop.location]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_status_json_counts_pending_claimed_done_and_failed(tmp_path, capsys):
    crop, gate = sow(tmp_path)
    Path(f"{gate}-3").touch()
    grower = start_grower(crop, 3)  # held inside batch 3
    try:
        crop.grow([1])
        wait_until(lambda: crop.status().claimed == 1, what="the grower's claim")
        data = status_json(crop, capsys)
        counts = {k: data[k] for k in ("pending", "claimed", "done", "failed")}
        assert counts == {"pending": 2, "claimed": 1, "done": 1, "failed": 0}
        assert sum(counts.values()) == data["num_batches"] == 4
        Path(f"{gate}-3").unlink()
        _, err = grower.communicate(timeout=60)
        assert grower.returncode == EXIT_OK, err
    finally:
        Path(f"{gate}-3").unlink(missing_ok=True)
        if grower.poll() is None:
            grower.kill()
            grower.communicate()
    data = status_json(crop, capsys)
    assert (data["pending"], data["claimed"], data["done"]) == (2, 0, 2)


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED)],
)
def test_a_stopped_grower_keeps_what_it_grew_and_frees_its_batch(
    tmp_path, signum, code
):
    crop, gate = sow(tmp_path)
    Path(f"{gate}-2").touch()
    grower = start_grower(crop, 1, 2, 3)  # batch 1 grown, held inside batch 2
    try:
        entered = Path(f"{gate}-2.entered")
        wait_until(entered.exists, what="the grower to compute batch 2")
        wait_until(lambda: crop.completed_results() == (1,), what="batch 1 saved")
        # batch 2 is held (batch 3 may be claimed ahead with it, in one request)
        assert 2 in {bid for bid, _ in crop.layout.list_claims()}
        grower.send_signal(signum)  # Ctrl-C, or a scheduler's time limit
        _, err = grower.communicate(timeout=30)
    finally:
        Path(f"{gate}-2").unlink(missing_ok=True)
        if grower.poll() is None:
            grower.kill()
            grower.communicate()
    assert grower.returncode == code, err
    assert ("interrupted" if signum == signal.SIGINT else "terminated") in err
    assert "Traceback" not in err
    status = crop.status()
    assert (status.claimed, status.done, status.failed) == (0, 1, 0)
    assert crop.completed_results() == (1,)  # computed before: kept
    assert crop.layout.list_claims() == {}  # released, not left to go stale
    assert main(["grow", crop.location, "2"]) == EXIT_OK  # growable at once
    assert crop.completed_results() == (1, 2)


def test_the_help_of_grow_says_nothing_left_to_grow_exits_0(capsys):
    assert main(["grow", "--help"]) == EXIT_OK
    text = " ".join(capsys.readouterr().out.split())
    assert "3 when there was nothing to grow" not in text
    assert "nothing left to grow" in text and "exit code 0" in text.lower()
    assert "130" in text and "143" in text  # interrupted, terminated

"""Deadlines and the scheduler's warning signal: a grower claims a batch only if
it fits before its deadline, keeps the deadline within a second, leaves no
claim, and exits 75 (``EXIT_STOPPED``) when batches are left."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import xsweep
from xsweep.crop.deadline import (
    EXIT_STOPPED,
    resolve,
    scheduler_end_time,
    squeue_end_time,
)

SOURCE = """
import os
import time

def nap(x, seconds, gate):
    if os.path.exists(f"{gate}-{x}"):
        open(f"{gate}-{x}.entered", "w").close()
    while os.path.exists(f"{gate}-{x}"):
        time.sleep(0.005)  # held here until the test removes the gate file
    time.sleep(seconds)
    return x
"""


def sow(tmp_path: Path, n: int, seconds: float) -> tuple[xsweep.Crop, Path]:
    namespace: dict[str, Any] = {"__name__": "xsweep_test_deadline"}
    exec(SOURCE, namespace)  # not importable: saved by value with the crop
    gate = tmp_path / "gate"
    crop = xsweep.Crop(fn=namespace["nap"], name="dl", parent_dir=tmp_path)
    crop.sow_combos({"x": range(n)}, constants={"seconds": seconds, "gate": str(gate)})
    return crop, gate


def grow(location: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    every = ("SLURM_JOB_ID", "SLURM_JOB_END_TIME", "JOB_ID", "PBS_WALLTIME")
    base = {k: v for k, v in os.environ.items() if k not in every}
    return subprocess.Popen(
        [sys.executable, "-m", "xsweep", "grow", location, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**base, **(env or {})},
    )


def assert_nothing_held(crop: xsweep.Crop) -> None:
    assert crop.layout.list_claims() == {}
    assert crop.layout.list_holder_cards() == []


def grow_until(location: str, seconds: float) -> tuple[float, float, str | None]:
    """Grow with ``xsweep.grow(deadline=...)`` in a fresh process, the deadline
    set ``seconds`` after the process is up: (deadline, return time, stopped)."""
    code = (
        "import datetime, sys, time, xsweep\n"
        f"end = time.time() + {seconds}\n"
        "report = xsweep.grow(crop=sys.argv[1], "
        "deadline=datetime.datetime.fromtimestamp(end))\n"
        "print(end, time.time(), report.stopped, sep='\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, location], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    end, returned, stopped = done.stdout.splitlines()[-3:]
    return float(end), float(returned), stopped


def test_a_deadline_is_kept_within_a_second_and_leaves_no_claim(tmp_path):
    crop, _ = sow(tmp_path, 40, 0.25)
    end, returned, stopped = grow_until(crop.location, 3.5)
    assert returned <= end + 1.0, f"returned {returned - end:.2f} s after"
    grown = len(crop.completed_results())
    assert 3 <= grown < 40  # used its time, stopped before the end
    assert "before the deadline" in stopped
    assert_nothing_held(crop)
    assert crop.status().pending == 40 - grown


def test_xsweep_grow_deadline_exits_75_with_batches_left(tmp_path):
    crop, _ = sow(tmp_path, 40, 0.25)
    proc = grow(crop.location, "--deadline", "3")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_STOPPED, err
    assert "stopped early" in out and "before the deadline" in out
    assert 1 <= len(crop.completed_results()) < 40
    assert_nothing_held(crop)


def test_a_batch_running_past_the_deadline_is_released(tmp_path):
    crop, _ = sow(tmp_path, 3, 30.0)  # nothing measured yet: the first is tried
    end, returned, stopped = grow_until(crop.location, 3.0)
    assert returned <= end + 1.0, f"returned {returned - end:.2f} s after"
    assert "passed while a batch was being grown" in stopped
    assert crop.completed_results() == ()
    assert_nothing_held(crop)


def test_the_crops_recorded_batch_times_keep_a_grower_from_starting(tmp_path):
    crop, _ = sow(tmp_path, 4, 1.5)
    crop.grow(1)  # 1.5 s, recorded in its result
    t0 = time.monotonic()
    report = crop.grow(deadline=2.0)  # 1.5 s + margin 1.375 s do not fit
    assert time.monotonic() - t0 < 0.5
    assert report.grown == [] and "before the deadline" in report.stopped
    assert_nothing_held(crop)


def test_slurm_job_end_time_is_a_deadline(tmp_path):
    crop, _ = sow(tmp_path, 40, 0.25)
    end = str(int(time.time() + 4))
    proc = grow(crop.location, env={"SLURM_JOB_END_TIME": end})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_STOPPED, err
    assert time.time() <= int(end) + 1.0
    assert "SLURM_JOB_END_TIME" in out
    assert_nothing_held(crop)


def warn_while_held(
    crop: xsweep.Crop, gate: Path, x: int, batches: list[str], pause: float = 0.0
) -> tuple[str, str, int]:
    """``xsweep grow CROP *batches``, sent SIGUSR2 (SLURM ``--signal=B:USR2@N``,
    forwarded) while the combo ``x`` is held at its gate; the gate is opened
    ``pause`` seconds later, the grower still running then (the signal must
    not stop the batch in progress). Its stdout, stderr and exit code."""
    Path(f"{gate}-{x}").touch()
    proc = grow(crop.location, *batches)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"{gate}-{x}.entered").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        proc.send_signal(signal.SIGUSR2)
        if pause:
            time.sleep(pause)
            assert proc.poll() is None
        Path(f"{gate}-{x}").unlink()
        out, err = proc.communicate(timeout=60)
    finally:
        Path(f"{gate}-{x}").unlink(missing_ok=True)
        if proc.poll() is None:
            proc.kill()
    return out, err, proc.returncode


def test_the_warning_signal_finishes_the_batch_claims_no_more_exits_75(tmp_path):
    crop, gate = sow(tmp_path, 6, 0.0)  # batch k grows x = k - 1
    out, err, code = warn_while_held(crop, gate, 1, ["1", "2", "3", "4"], pause=0.2)
    assert code == EXIT_STOPPED, err
    assert crop.completed_results() == (1, 2)  # finished, then no other claimed
    assert "warning signal" in out
    assert_nothing_held(crop)


def test_the_warning_signal_starts_no_batch_claimed_ahead(tmp_path):
    # 20 fast batches teach the grower to claim many ahead and send them to
    # its child in one request; the signal comes while the 21st (x = 20) is
    # held at its gate, with those claimed after it waiting in the same request
    crop, gate = sow(tmp_path, 40, 0.0)
    out, err, code = warn_while_held(crop, gate, 20, [str(b) for b in range(1, 41)])
    assert code == EXIT_STOPPED, err
    assert crop.completed_results() == tuple(range(1, 22))
    assert "warning signal" in out
    assert_nothing_held(crop)


def test_grow_missing_with_a_deadline_on_an_executor(tmp_path):
    crop, _ = sow(tmp_path, 60, 0.2)
    t0 = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        report = crop.grow_missing(executor=pool, deadline=2.0)
    assert time.monotonic() - t0 <= 2.0 + 1.0
    assert report.stopped and 2 <= len(report.grown) < 60
    assert len(crop.completed_results()) == len(report.grown)
    assert_nothing_held(crop)


def test_bad_deadlines_are_refused_with_what_to_give():
    with pytest.raises(ValueError, match="deadline must be > 0"):
        resolve(-3)
    with pytest.raises(TypeError, match="seconds from now"):
        resolve("soon")


def test_scheduler_end_times_from_the_environment(tmp_path):
    assert scheduler_end_time({"SLURM_JOB_END_TIME": "2000000000"}) == (
        2000000000.0,
        "SLURM_JOB_END_TIME",
    )
    end, source = scheduler_end_time({"PBS_WALLTIME": "3600"})
    assert source == "PBS_WALLTIME" and time.time() < end <= time.time() + 3600
    assert scheduler_end_time({})[0] is None


def test_the_last_array_task_reads_its_own_end_time_not_a_siblings():
    # squeue --jobs=16 --format="%A %e" as printed inside task 6 of array 16
    # (it runs under the array's own id) while task 5 (job 21) is COMPLETING:
    # CI once stopped task 6 with exit 75, reading task 5's end (now) as its own
    out = "21 2026-12-01T01:59:45\n16 2026-12-01T02:09:45\n"
    own = squeue_end_time(out, "16")
    assert own == datetime.datetime(2026, 12, 1, 2, 9, 45).timestamp()
    assert squeue_end_time(out, "21") < own
    assert squeue_end_time("16 N/A\n", "16") is None  # no time limit
    assert squeue_end_time("", "16") is None

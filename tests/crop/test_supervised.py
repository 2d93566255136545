"""Supervised growing: a combo that kills its process is a recorded failure.

Real crashes in real processes: a segfault (``ctypes.string_at(0)``), the
out-of-memory killer's SIGKILL, ``os._exit``, ``sys.exit``, a combo running
past its time limit; through ``xsweep grow`` and the Python API.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from grower_procs import by_value, run_cli

import xsweep

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import ctypes
import os
import signal
import sys
import time

def f(x, crash=-1, how="segv", log=None):
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"{x} {os.getpid()}\\n")
    if x == crash or (crash == "all"):
        if how == "segv":
            ctypes.string_at(0)
        elif how == "kill":  # what the out-of-memory killer sends, 200 MB in use
            hog = bytearray(200 * 2**20)
            hog[::4096] = b"x" * len(hog[::4096])
            os.kill(os.getpid(), signal.SIGKILL)
        elif how == "_exit":
            os._exit(0)
        elif how == "exit":
            sys.exit(3)
        elif how == "sleep":
            time.sleep(60)
    return 10 * x
"""


def sow(tmp_path: Path, xs=range(6), batchsize: int = 2, **constants):
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "f"), name="crashy", parent_dir=str(tmp_path),
        batchsize=batchsize,
    )  # fmt: skip
    crop.sow_combos({"x": list(xs)}, constants=constants or None)
    return crop


def failures_by_x(crop) -> dict[int, object]:
    return {f.combo["x"]: f for f in crop.failures()}


def values(crop) -> np.ndarray:
    return np.array(crop.reap(allow_incomplete=True, clean_up=False))


@pytest.mark.parametrize(
    ("how", "exc_type", "words"),
    [
        ("segv", "ProcessDied", ("signal 11", "SIGSEGV", "peak memory")),
        ("_exit", "ProcessDied", ("exited with status 0", "os._exit")),
        ("kill", "ProcessDied", ("SIGKILL", "out-of-memory")),
    ],
)
def test_a_combo_killing_its_process_is_a_failure_and_the_crop_completes(
    tmp_path, how, exc_type, words
):
    crop = sow(tmp_path, crash=3, how=how)  # batch 2 holds x=2 and x=3
    done = run_cli("grow", str(crop.location))
    assert done.returncode == 1, done.stderr  # something failed
    assert "1 combo(s) failed" in done.stdout
    assert list(crop.missing_results()) == []
    failed = failures_by_x(crop)
    assert list(failed) == [3]
    f = failed[3]
    assert f.exc_type == exc_type
    for word in words:
        assert word in f.message, f.message
    assert f.host in f.message
    if how == "segv":  # faulthandler's Python traceback of the crash
        assert "Fatal Python error" in f.traceback and "line" in f.traceback
    if how == "kill":
        mib = int(f.message.split("peak memory ")[1].split()[0])
        assert mib >= 200
    got = values(crop)
    np.testing.assert_array_equal(got[[0, 1, 2, 4, 5]], [0, 10, 20, 40, 50])
    assert np.isnan(got[3])


def test_sys_exit_in_the_function_is_a_failure(tmp_path):
    crop = sow(tmp_path, crash=1, how="exit")
    done = run_cli("grow", str(crop.location))
    assert done.returncode == 1, done.stderr
    f = failures_by_x(crop)[1]
    assert f.exc_type == "SystemExit"
    # unsupervised too: sys.exit() never ends the grower
    crop2 = xsweep.Crop(
        fn=by_value(SOURCE, "f"), name="unsup", parent_dir=str(tmp_path)
    )
    crop2.sow_combos({"x": [0, 1, 2]}, constants={"crash": 1, "how": "exit"})
    report = crop2.grow(supervise=False)
    assert report.failed_combos == 1 and len(report.grown) == 3


def test_os_exit_0_never_makes_grow_succeed_having_grown_nothing(tmp_path):
    crop = sow(tmp_path, xs=[0, 1], batchsize=1, crash="all", how="_exit")
    done = run_cli("grow", str(crop.location))
    assert done.returncode == 1
    assert sorted(failures_by_x(crop)) == [0, 1]


def test_results_held_for_a_grouped_write_survive_a_crash(tmp_path):
    # fast batches 1..4 wait for one grouped write while batch 5 crashes
    crop = sow(tmp_path, xs=range(10), batchsize=1, crash=4)
    report = crop.grow(list(range(1, 11)))
    assert sorted(report.grown) == list(range(1, 11))
    assert report.failed_combos == 1
    got = values(crop)
    np.testing.assert_array_equal(np.delete(got, 4), np.delete(np.arange(10) * 10, 4))


def test_after_max_deaths_a_batch_is_written_with_its_unrun_combos_failed(tmp_path):
    log = str(tmp_path / "log")
    crop = sow(tmp_path, xs=range(5), batchsize=5, crash="all", log=log)
    report = crop.grow(max_deaths=2)
    assert report.grown == [1] and report.failed_combos == 5
    kinds = {x: f.exc_type for x, f in failures_by_x(crop).items()}
    # one death running the whole batch, one running x=0 alone: then no more
    assert kinds == {
        0: "ProcessDied",
        1: "NotRun",
        2: "NotRun",
        3: "NotRun",
        4: "NotRun",
    }
    assert "max_deaths=2" in failures_by_x(crop)[1].message
    assert list(crop.missing_results()) == []  # never claimed again
    assert len(Path(log).read_text().split("\n")) - 1 == 2  # x=0 ran twice


def test_a_combo_past_its_time_limit_is_killed_and_recorded(tmp_path):
    crop = sow(tmp_path, xs=range(4), crash=1, how="sleep")
    done = run_cli("grow", str(crop.location), "--combo-time-limit", "1")
    assert done.returncode == 1, done.stderr
    f = failures_by_x(crop)[1]
    assert f.exc_type == "TimeLimitExceeded"
    assert "time limit of 1 s" in f.message
    assert f.duration < 20
    np.testing.assert_array_equal(values(crop)[[0, 2, 3]], [0, 20, 30])


def pids_by_x(log: str) -> dict[int, int]:
    lines = Path(log).read_text().split()
    return {int(x): int(p) for x, p in zip(lines[::2], lines[1::2], strict=True)}


def test_a_fresh_process_per_batch(tmp_path):
    log = str(tmp_path / "log")
    crop = sow(tmp_path, xs=range(6), batchsize=2, log=log)
    crop.grow(subprocess=True)
    pids = pids_by_x(log)
    by_batch = [{pids[2 * b], pids[2 * b + 1]} for b in range(3)]
    assert all(len(p) == 1 for p in by_batch)  # one process per batch
    assert len(set.union(*by_batch)) == 3  # ... each batch its own
    assert os.getpid() not in set.union(*by_batch)
    log2 = str(tmp_path / "log2")
    crop2 = xsweep.Crop(fn=by_value(SOURCE, "f"), name="one", parent_dir=str(tmp_path))
    crop2.sow_combos({"x": list(range(4))}, constants={"log": log2})
    crop2.grow()  # without subprocess: one child for every batch
    assert len(set(pids_by_x(log2).values())) == 1


def test_the_report_of_local_workers_counts_each_batch_once(tmp_path):
    crop = sow(tmp_path, xs=range(12), batchsize=1)
    for b in range(1, 5):
        xsweep.grow(b, crop=crop)
    report = crop.grow_missing(num_workers=2)
    assert sorted(report.grown) == list(range(5, 13))
    assert report.skipped == [] and report.held == []

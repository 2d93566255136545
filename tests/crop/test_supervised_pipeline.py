"""Supervised growing with requests in flight: the grower sends fast batches to
its child ahead (up to ``IN_FLIGHT`` requests queued in the pipe) and writes
earlier ones meanwhile. A crash in one request must not lose or mislabel the
batches queued behind it, and requests and answers larger than a pipe holds
must not wedge the two processes on each other."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from grower_procs import by_value

import xsweep
from xsweep.crop.grow_compute import ComputeMixin

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import ctypes
import os

import numpy as np

def f(x, crash=-1, log=None, width=1):
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"{x}\\n")
    if x == crash:
        ctypes.string_at(0)  # a segfault
    return np.full(width, 10.0 * x) if width > 1 else 10 * x
"""


def test_two_requests_are_in_flight():
    assert ComputeMixin.IN_FLIGHT >= 2


def test_a_crash_with_a_request_queued_behind_it_loses_and_repeats_nothing(
    tmp_path: Path,
):
    # 300 fast batches: the grower claims many ahead and queues a second
    # request while the child computes the first; x = 200 segfaults
    log = tmp_path / "log"
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "f"), name="pipe", parent_dir=str(tmp_path), batchsize=1
    )
    crop.sow_combos({"x": list(range(300))}, constants={"crash": 200, "log": str(log)})
    report = crop.grow_missing()
    assert report.failed_combos == 1
    assert sorted(report.grown) == list(range(1, 301))
    (failure,) = crop.failures()
    assert failure.combo["x"] == 200 and "signal 11" in failure.message
    got = np.array(crop.reap(allow_incomplete=True, clean_up=False))
    want = np.arange(300) * 10.0
    assert np.isnan(got[200])
    np.testing.assert_array_equal(np.delete(got, 200), np.delete(want, 200))
    # a batch is run again only if it shared the crashed request (to tell
    # which batch crashed): never more than twice, and the crash once alone
    runs = Counter(int(line) for line in log.read_text().split())
    assert set(runs) == set(range(300))
    assert max(runs.values()) <= 2
    assert runs[200] == 2  # in its request, then alone (a batch of one combo)


def test_requests_and_answers_larger_than_a_pipe_do_not_wedge(tmp_path: Path):
    # shuffled batches of 20000 combos: a request lists ~16000 index runs
    # (~150 KB: over a pipe's 64 KiB), an answer 20000 x 8 floats (1.3 MB)
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "f"), name="big", parent_dir=str(tmp_path),
        num_batches=5, shuffle=True,
    )  # fmt: skip
    crop.sow_combos({"x": list(range(100000))}, constants={"width": 8})
    report = crop.grow_missing()
    assert sorted(report.grown) == [1, 2, 3, 4, 5]
    assert report.failed_combos == 0
    got = np.array(crop.reap())  # unlabelled: one row of 8 per combo
    assert got.shape == (100000, 8)
    np.testing.assert_array_equal(got[:, 0], np.arange(100000) * 10.0)
    np.testing.assert_array_equal(got[:, 7], np.arange(100000) * 10.0)

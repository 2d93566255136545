"""Crop invariants: results answer their batch, failures cost one combo, claims,
file format, provenance."""

from __future__ import annotations

import os
import subprocess
import time

import numpy as np
import pytest
from _functions import add, calls, flaky_add, logged_add, run_python
from grower_procs import wait_for

from xsweep.crop import claims, records
from xsweep.crop.crop import Crop
from xsweep.crop.store import ResultStore
from xsweep.errors import CropError, FileFormatError, FunctionMismatchError

COMBOS = {"x": [0, 1, 2, 3, 4], "y": [5, 6, 7]}


def test_resowing_different_combos_never_reaps_old_results_under_new_labels(
    tmp_path,
):
    log = str(tmp_path / "log")
    crop = Crop(fn=logged_add, parent_dir=tmp_path, batchsize=3)
    crop.sow_combos(COMBOS, constants={"log": log})
    crop.grow()
    assert len(calls(log)) == 15
    # same combos again: same fingerprints, every result kept, nothing rerun
    crop.sow_combos(COMBOS, constants={"log": log})
    assert crop.missing_results() == ()
    crop.grow()
    assert len(calls(log)) == 15
    # first x changed: only batch 1 (x = 0 -> 9) is stale
    changed = {"x": [9, 1, 2, 3, 4], "y": [5, 6, 7]}
    crop.sow_combos(changed, constants={"log": log})
    assert crop.missing_results() == (1,)
    with pytest.raises(CropError, match="no result"):
        crop.reap()
    crop.grow()
    assert len(calls(log)) == 18
    got = np.array(crop.reap(clean_up=False))
    assert got[0].tolist() == [95, 96, 97]
    # a different constant changes every fingerprint
    crop.sow_combos(changed, constants={"log": log + "2"})
    assert len(crop.missing_results()) == 5


def test_resowing_removes_stale_result_files(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=5)
    crop.sow_combos(COMBOS)
    crop.grow()
    crop.sow_combos({"x": [7], "y": [1]})
    names = os.listdir(tmp_path / ".xyz-add" / "results")
    assert names == []


def test_one_failure_costs_one_combo_and_retry_reruns_only_it(tmp_path):
    log, broken = str(tmp_path / "log"), tmp_path / "broken"
    broken.touch()
    crop = Crop(fn=flaky_add, parent_dir=tmp_path, batchsize=4)
    crop.sow_combos(COMBOS, constants={"log": log, "broken": str(broken)})
    report = crop.grow()
    assert report.failed_combos == 3
    status = crop.status()
    assert (status.done, status.failed, status.failed_combos) == (3, 1, 3)
    assert {f["combo"]["y"] for f in status.failures} == {5, 6, 7}
    failures = crop.failures()
    assert sorted(f.index for f in failures) == [9, 10, 11]
    assert all(
        f.exc_type == "ValueError" and "broken at x=3" in f.message for f in failures
    )
    assert all(f.host and f.pid and "flaky_add" in f.traceback for f in failures)
    with pytest.raises(CropError, match="3 combos failed"):
        crop.reap()
    partial = np.array(crop.reap(allow_incomplete=True), dtype=float)
    assert np.isnan(partial[3]).all() and not np.isnan(np.delete(partial, 3, 0)).any()

    broken.unlink()
    assert len(calls(log)) == 15
    crop.retry_failed()
    assert len(calls(log)) == 18  # only the 3 failed combos ran again
    assert crop.failures() == []
    assert crop.status().failed == 0
    np.testing.assert_array_equal(
        np.array(crop.reap()), [[x * 10 + y for y in (5, 6, 7)] for x in range(5)]
    )


def test_claims_split_work_between_processes(tmp_path):
    log = str(tmp_path / "log")
    crop = Crop(fn=logged_add, parent_dir=tmp_path, batchsize=1)
    crop.sow_combos({"x": range(20), "y": [0, 1]}, constants={"log": log})
    code = f"import xsweep; xsweep.grow(crop={crop.location!r})"
    import subprocess
    import sys

    from _functions import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    ended = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in ended]
    assert crop.missing_results() == ()
    assert sorted(calls(log)) == sorted(f"{x},{y}" for x in range(20) for y in (0, 1))


def test_a_claim_of_a_dead_process_is_free_at_once_a_live_one_is_held(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=5, heartbeat_timeout=3600)
    crop.sow_combos(COMBOS)
    sow = crop._read_sow()
    claim = crop.layout.claim_file(1, sow.fingerprint(1))
    # a claim made by a process that has exited
    run_python(
        "from pathlib import Path; from xsweep.crop import claims; "
        f"assert claims.try_claim(Path({str(claim)!r}))"
    )
    assert claim.exists()
    assert crop.status().stale_claims == 1
    # a claim held by this (live) process
    claim2 = crop.layout.claim_file(2, sow.fingerprint(2))
    token = claims.try_claim(claim2)
    report = crop.grow()
    assert report.grown == [1, 3] or sorted(report.grown) == [1, 3]
    assert report.held == [2]
    assert crop.status().claimed == 1
    # silent past the heartbeat timeout: stale even though alive
    old = time.time() - 7200
    os.utime(claim2, (old, old))
    assert not claims.is_stale(claim2, 3600)  # our own pid: never stale
    claims.release(claim2, token)
    assert not claim2.exists()


def test_heartbeat_keeps_a_claim_fresh_and_stale_claims_are_broken_once(tmp_path):
    path = tmp_path / "b1.ab.claim"
    token = claims.try_claim(path)
    assert token and claims.try_claim(path) is None
    before = claims.read_claim(path)["beat"]
    hb = claims.Heartbeat(0.05)
    hb.hold(str(path), token)
    wait_for(lambda: claims.read_claim(path)["beat"] > before + 2, what="heartbeats")
    hb.drop(str(path))
    # a garbled claim (no holder info): judged by whether it changes, over this
    # process's own clock; an old mtime proves nothing
    path2 = tmp_path / "b2.ab.claim"
    path2.write_bytes(b"\x00garbled")
    old = time.time() - 100
    os.utime(path2, (old, old))
    assert not claims.break_stale(path2, 0.3)  # first seen now
    start = time.monotonic()
    wait_for(lambda: claims.break_stale(path2, 0.3), what="the claim going stale")
    assert time.monotonic() - start >= 0.3
    assert not path2.exists() and not claims.break_stale(path2, 0.3)
    assert claims.acquire(path2, 10)


def test_truncated_garbled_and_unknown_version_files_name_themselves(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=5)
    crop.sow_combos(COMBOS)
    crop.grow([1, 3])
    crop.grow(2)  # alone: a file of its own
    sow = crop._read_sow()
    path = crop.layout.result_file(2, sow.fingerprint(2))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FileFormatError, match=rf"{path}.*truncated.*delete it"):
        crop.reap()
    path.write_bytes(blob[:-3] + b"xyz")
    with pytest.raises(FileFormatError, match="garbled"):
        ResultStore(crop.layout).read(2, sow.fingerprint(2))
    future = records.dumps("result", {}).replace(b"version", b"versiom")
    path.write_bytes(future)
    with pytest.raises(FileFormatError):
        records.read(path)
    import pickle

    body = pickle.dumps({"format": "xsweep-crop", "kind": "result", "version": 99})
    import hashlib

    header = (
        len(body).to_bytes(8, "little") + hashlib.blake2b(body, digest_size=16).digest()
    )
    path.write_bytes(b"XSWEEPCROP\n" + header + body)
    with pytest.raises(FileFormatError, match=r"version 99"):
        records.read(path)
    crop.layout.sow_file.write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"sow\.xsw"):
        Crop(name="add", parent_dir=tmp_path)


def test_a_corrupted_group_of_results_says_how_to_delete_every_name(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=5)
    crop.sow_combos(COMBOS)
    crop.grow()  # fast batches: one file, linked under each batch's name
    sow = crop._read_sow()
    paths = [crop.layout.result_file(k, sow.fingerprint(k)) for k in (1, 2, 3)]
    assert len({p.stat().st_ino for p in paths}) == 1
    blob = paths[1].read_bytes()
    paths[1].write_bytes(blob[:-3] + b"xyz")  # in place: every name sees it
    with pytest.raises(FileFormatError, match=r"garbled.*under 3 names") as err:
        crop.reap()
    command = str(err.value).split("`")[1]
    assert command.startswith("find ") and command.endswith(" -delete")
    subprocess.run(command, shell=True, check=True)
    assert crop.missing_results() == (1, 2, 3)
    crop.grow()
    np.testing.assert_array_equal(
        np.array(crop.reap()), [[x * 10 + y for y in (5, 6, 7)] for x in range(5)]
    )


def test_a_different_function_is_refused_and_a_missing_function_file_named(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    with pytest.raises(FunctionMismatchError, match="differs from the one"):
        crop.grow(1, fn=logged_add)
    sow = crop._read_sow()
    crop.layout.function_file(sow.fn_fingerprint).unlink()
    with pytest.raises(CropError, match=r"function file .* is missing"):
        Crop(name="add", parent_dir=tmp_path).grow(1)
    crop.grow(1, fn=add)  # the right function can still be given
    assert crop.completed_results() == (1,)


def test_unpicklable_combos_are_refused_at_sow_time(tmp_path):
    from xsweep.errors import NotPicklableError

    crop = Crop(fn=add, parent_dir=tmp_path)
    with pytest.raises(NotPicklableError, match="picklable"):
        crop.sow_combos({"x": [1], "y": [_Unpicklable()]})
    with pytest.raises(NotPicklableError, match="cloudpickle"):
        Crop(fn=_Unpicklable(), name="u", parent_dir=tmp_path).sow_combos(COMBOS)


class _Unpicklable:
    def __call__(self, x, y):
        return x

    def __reduce__(self):
        raise TypeError("not today")


def test_results_record_provenance_and_scheduler_ids(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=15)
    crop.sow_combos(COMBOS)
    run_python(
        f"import xsweep; xsweep.grow(1, crop={crop.location!r})",
        env={"SLURM_JOB_ID": "4242", "SLURM_ARRAY_TASK_ID": "7"},
    )
    record = ResultStore(crop.layout).read(1, crop._read_sow().fingerprint(1))
    (prov,) = record["provenance"]
    assert prov["scheduler"] == {"SLURM_JOB_ID": "4242", "SLURM_ARRAY_TASK_ID": "7"}
    assert prov["host"] and prov["pid"] != os.getpid()
    assert prov["start"] <= prov["end"] <= time.time()


def test_retry_after_compaction_keeps_every_other_result(tmp_path):
    log, broken = str(tmp_path / "log"), tmp_path / "broken"
    broken.touch()
    crop = Crop(fn=flaky_add, parent_dir=tmp_path, batchsize=2)
    crop.sow_combos(COMBOS, constants={"log": log, "broken": str(broken)})
    crop.grow()
    assert crop.compact() == 8
    status = crop.status()
    assert (status.done, status.failed, status.failed_combos) == (6, 2, 3)
    broken.unlink()
    crop.retry_failed()
    assert len(calls(log)) == 18
    assert crop.status().failed == 0 and crop.missing_results() == ()
    np.testing.assert_array_equal(
        np.array(crop.reap()), [[x * 10 + y for y in (5, 6, 7)] for x in range(5)]
    )


def test_a_result_of_an_old_sowing_is_never_reaped_under_new_labels(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=5)
    crop.sow_combos(COMBOS)
    old = crop._read_sow()
    record = crop._grower().compute(1, old.runs(1))  # a slow grower of the old sow
    crop.sow_combos({"x": [7, 8, 9], "y": [5, 6, 7]})
    ResultStore(crop.layout).write(record)  # ... finishes after the re-sow
    assert crop.missing_results() == (1, 2)
    crop.grow()
    assert np.array(crop.reap())[0].tolist() == [75, 76, 77]


def test_function_fingerprint_sees_closures_globals_and_helpers():
    import functools

    from xsweep.crop.fingerprint import function_fingerprint

    def make(a):
        def f(x):
            return x + a

        return f

    assert function_fingerprint(make(1)) == function_fingerprint(make(1))
    assert function_fingerprint(make(1)) != function_fingerprint(make(2))
    assert function_fingerprint(functools.partial(add, y=1)) != function_fingerprint(
        functools.partial(add, y=2)
    )
    import cloudpickle

    before = function_fingerprint(logged_add)
    assert (
        function_fingerprint(cloudpickle.loads(cloudpickle.dumps(logged_add))) == before
    )

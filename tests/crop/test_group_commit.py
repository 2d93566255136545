"""Results of fast batches are written together: one file, a name per batch.

Invariants: every name appears whole or not at all, and an existing name is
never replaced; a result waits at most about ``GROUP_MAX_SECONDS`` to be
written, even while a slow batch runs; reaping a group reads it right. (Kills
of growers holding unwritten results: ``test_chaos.py``.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from grower_procs import by_value, finish, start_cli, temporaries, wait_for

import xsweep
from xsweep import atomic
from xsweep.crop import grow as grow_module
from xsweep.crop.store import ResultStore

pytestmark = pytest.mark.timeout(120)

GATED = """
import os
import time

def gated(x, gate):
    # batch x == 1 waits while the gate file exists; the others are fast
    while x == 1 and os.path.exists(gate):
        time.sleep(0.005)
    return 10 * x
"""


def add(x, y):
    return x * 10 + y


def inodes(crop) -> list[int]:
    """The inode under each batch's result name, in batch order."""
    sow = crop._read_sow()
    return [
        os.stat(crop.layout.result_file(k, sow.fingerprint(k))).st_ino
        for k in range(1, sow.num_batches + 1)
    ]


def test_fast_batches_share_one_file_under_every_name(tmp_path, monkeypatch):
    monkeypatch.setattr(grow_module, "GROUP_MAX_SECONDS", 60.0)
    monkeypatch.setattr(grow_module, "GROUP_MAX_BATCHES", 4)
    runner = xsweep.Runner(add, var_names="z")
    crop = runner.Crop(name="fast", parent_dir=tmp_path, batchsize=1)
    combos = {"x": [0, 1, 2], "y": [5, 6, 7, 8, 9]}
    crop.sow_combos(combos)
    report = crop.grow_missing()
    assert sorted(report.grown) == list(range(1, 16))
    found = inodes(crop)
    assert sorted(found.count(i) for i in set(found)) == [3, 4, 4, 4]
    assert all(os.stat(p).st_nlink in (3, 4) for p in crop.layout.results_dir.iterdir())
    assert temporaries(Path(crop.location)) == []
    reaped = crop.reap()
    np.testing.assert_array_equal(reaped["z"], runner.run_combos(combos)["z"])


def test_a_slow_batch_is_written_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(grow_module, "GROUP_MAX_SECONDS", 0.05)
    slow = by_value(
        "import time\ndef f(x):\n    time.sleep(0.2 if x == 2 else 0)\n    return x",
        "f",
    )
    crop = xsweep.Crop(fn=slow, name="slow", parent_dir=tmp_path, batchsize=1)
    crop.sow_combos({"x": [1, 2, 3]})
    crop.grow_missing()
    found = inodes(crop)
    assert found[1] not in (found[0], found[2])  # batch 2 took 4x the bound


def test_results_are_written_on_time_while_a_slow_batch_runs(tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    crop = xsweep.Crop(fn=by_value(GATED, "gated"), name="gated", parent_dir=tmp_path)
    crop.sow_combos({"x": [0, 1, 2, 3]}, constants={"gate": str(gate)})
    sow = crop._read_sow()
    before = crop.layout.result_file(1, sow.fingerprint(1))  # x == 0: fast
    grower = start_cli(crop.location, "1", "2", "3", "4")  # in this order
    try:
        # batch 1 was computed just before batch 2 (x == 1) started waiting
        wait_for(before.exists, timeout=30, what="batch 1 written during batch 2")
        assert crop.status().claimed >= 1 and gate.exists()
    finally:
        gate.unlink()
    ((code, err),) = finish([grower])
    assert code == 0, err
    assert crop.missing_results() == ()
    assert list(crop.reap()) == [0, 10, 20, 30]


def test_write_linked_makes_each_name_whole_and_keeps_existing_ones(tmp_path):
    names = [tmp_path / f"b{i}" for i in range(4)]
    names[2].write_bytes(b"theirs")
    made = atomic.write_linked(names, b"ours" * 1000)
    assert made == [str(names[i]) for i in (0, 1, 3)]
    assert names[2].read_bytes() == b"theirs"
    assert {names[i].read_bytes() for i in (0, 1, 3)} == {b"ours" * 1000}
    assert len({names[i].stat().st_ino for i in (0, 1, 3)}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b0", "b1", "b2", "b3"]


def test_a_name_replaced_after_its_group_was_read_is_read_afresh(tmp_path, monkeypatch):
    monkeypatch.setattr(grow_module, "GROUP_MAX_SECONDS", 60.0)
    crop = xsweep.Crop(fn=add, name="replaced", parent_dir=tmp_path, batchsize=1)
    crop.sow_combos({"x": [1, 2], "y": [3]})
    crop.grow_missing()
    sow = crop._read_sow()
    fp1, fp2 = sow.fingerprint(1), sow.fingerprint(2)
    reader = ResultStore(crop.layout)
    assert reader.read(1, fp1)["batch_id"] == 1  # reads the group, keeps batch 2
    newer = dict(ResultStore(crop.layout).read(2, fp2))
    newer["provenance"] = [*newer["provenance"], {"note": "rewritten"}]
    ResultStore(crop.layout).write(newer)  # batch 2's name: a file of its own now
    assert reader.read(2, fp2)["provenance"][-1] == {"note": "rewritten"}

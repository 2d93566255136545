"""Invariant 6: reap while growers work, wait for them, again and again; the
crop is cleaned up only once the result is safely on disk; a Harvester's crop
merges into its file whichever process reaps."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from grower_procs import PY, by_value, finish, holds_claim, start_python, wait_for

import xsweep
from xsweep.errors import CropError

xr = pytest.importorskip("xarray")

SOURCE = """
import os
import time

def gated(x, gate):
    while os.path.exists(f"{gate}-{x}"):
        time.sleep(0.005)  # held here until the test removes the gate file
    return 10 * x
"""


def sow_gated(tmp_path: Path, name: str = "gated") -> tuple[xsweep.Crop, Path]:
    gate = tmp_path / "gate"
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "gated"), name=name, parent_dir=tmp_path, batchsize=1
    )
    crop.sow_combos({"x": [1, 2, 3]}, constants={"gate": str(gate)})
    return crop, gate


def inside(thread: threading.Thread, function: str) -> bool:
    """Whether ``thread`` is running ``function`` right now (any frame)."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def test_reap_partial_and_wait_while_a_grower_works_then_again_and_again(tmp_path):
    crop, gate = sow_gated(tmp_path)
    Path(f"{gate}-2").touch()
    grower = start_python(tmp_path, "gated", 2)  # held inside batch 2
    crop.grow([1, 3])
    try:
        wait_for(lambda: holds_claim(Path(crop.location), grower.pid), what="claim")
        assert (crop.status().claimed, crop.status().done) == (1, 2)
        for _ in range(2):  # a partial reap, twice, while the grower works
            partial = crop.reap(allow_incomplete=True)
            assert partial[0] == 10 and partial[2] == 30 and math.isnan(partial[1])
            assert crop.is_prepared()
        with pytest.raises(CropError, match="batches 2"):
            crop.reap()

        reaped: list = []
        waiter = threading.Thread(
            target=lambda: reaped.append(crop.reap(wait=True, timeout=60))
        )
        waiter.start()
        wait_for(lambda: inside(waiter, "wait_for_results"), what="reap to wait")
        assert crop.missing_results() == (2,)  # it waits while batch 2 grows
        Path(f"{gate}-2").unlink()
        waiter.join(60)
        assert not waiter.is_alive()
    finally:
        Path(f"{gate}-2").unlink(missing_ok=True)
        ((code, err),) = finish([grower])
    assert code == 0, err
    assert reaped == [(10, 20, 30)]
    assert not crop.is_prepared()  # cleaned up, its result kept
    for _ in range(2):  # reaping again and again, also from a new Crop
        assert crop.reap() == (10, 20, 30)
        assert xsweep.Crop(name="gated", parent_dir=tmp_path).reap() == (10, 20, 30)


def make_runner() -> xsweep.Runner:
    return xsweep.Runner(by_value(SOURCE, "gated"), var_names="y")


@pytest.mark.parametrize("farmer", [None, "runner"])
def test_the_crop_is_cleaned_up_only_after_the_result_is_on_disk(tmp_path, farmer):
    gate = tmp_path / "gate"
    if farmer is None:
        crop, _ = sow_gated(tmp_path)
        saved = crop.layout.reaped_raw
    else:
        crop = make_runner().Crop(name="gated", parent_dir=tmp_path, batchsize=1)
        crop.sow_combos({"x": [1, 2, 3]}, constants={"gate": str(gate)})
        saved = crop.layout.reaped_dataset
    crop.grow()
    results = sorted(p.name for p in crop.layout.results_dir.iterdir())
    saved.mkdir()  # where the result goes is taken: saving it must fail
    (saved / "keep").touch()
    with pytest.raises((CropError, OSError)):
        crop.reap()
    # nothing was cleaned up: the crop is whole, every result still there
    assert crop.is_prepared() and crop.missing_results() == ()
    assert sorted(p.name for p in crop.layout.results_dir.iterdir()) == results
    (saved / "keep").unlink()
    saved.rmdir()
    first = crop.reap()
    assert saved.is_file() and not crop.is_prepared()
    again = xsweep.Crop(name="gated", parent_dir=tmp_path).reap()
    if farmer is None:
        assert first == again == (10, 20, 30)
    else:
        assert first["y"].values.tolist() == again["y"].values.tolist() == [10, 20, 30]


def test_a_harvester_crop_reaped_by_the_command_line_merges_into_its_file(tmp_path):
    data = tmp_path / "harvest.nc"
    harvester = xsweep.Harvester(make_runner(), data_name=data)
    harvester.harvest_combos({"x": [0]}, constants={"gate": "none"})
    crop = harvester.Crop(name="more", parent_dir=tmp_path, batchsize=2)
    crop.sow_combos({"x": [1, 2, 3]}, constants={"gate": "none"})
    crop.grow()
    done = subprocess.run(
        [PY, "-m", "xsweep", "reap", crop.location],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    from xsweep.netcdf import load_dataset

    full = load_dataset(data)
    assert full["y"].values.tolist() == [0, 10, 20, 30]
    assert not crop.is_prepared()  # cleaned up after the file was written


def test_a_harvester_merge_conflict_keeps_the_crop_until_resolved(tmp_path):
    from xsweep.errors import MergeConflictError
    from xsweep.netcdf import load_dataset

    source = "def scaled(x, k):\n    return k * x\n"
    runner = xsweep.Runner(by_value(source, "scaled"), var_names="y")
    harvester = xsweep.Harvester(runner, data_name=tmp_path / "h.nc")
    harvester.harvest_combos({"x": [1, 2]}, constants={"k": 1})
    crop = harvester.Crop(name="conflict", parent_dir=tmp_path, batchsize=1)
    crop.sow_combos({"x": [2, 3]}, constants={"k": 10})
    crop.grow()
    with pytest.raises(MergeConflictError, match="overwrite"):
        crop.reap()  # the file has k = 1 at x = 2
    assert crop.is_prepared() and crop.missing_results() == ()  # all kept
    assert load_dataset(tmp_path / "h.nc")["y"].values.tolist() == [1, 2]
    crop.reap(overwrite=True)
    assert load_dataset(tmp_path / "h.nc")["y"].values.tolist() == [1, 20, 30]
    assert not crop.is_prepared()

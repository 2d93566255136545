"""Reaping while growers work, waiting, deleting mid-grow, settings."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from _functions import ROOT, add, destructive_add, slow_add

from xsweep.crop.crop import Crop
from xsweep.errors import CropError

COMBOS = {"x": [0, 1, 2, 3, 4], "y": [5, 6, 7]}
EXPECTED = np.array([[x * 10 + y for y in COMBOS["y"]] for x in COMBOS["x"]])


def _background_grower(crop: Crop) -> subprocess.Popen:
    code = f"import xsweep; xsweep.grow(crop={crop.location!r})"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def test_reap_waits_for_a_grower_in_another_process(tmp_path):
    crop = Crop(fn=slow_add, parent_dir=tmp_path, batchsize=1)
    crop.sow_combos(COMBOS)
    grower = _background_grower(crop)
    try:
        # partial reaps while it works never show wrong values (before the
        # first result, raw results have no known shape: a clear refusal)
        try:
            partial = np.array(crop.reap(allow_incomplete=True), dtype=float)
        except CropError as e:
            assert "nothing to reap" in str(e)
        else:
            done = ~np.isnan(partial)
            np.testing.assert_array_equal(partial[done], EXPECTED[done])
        result = crop.reap(wait=True, timeout=60)
    finally:
        assert grower.wait(60) == 0
    np.testing.assert_array_equal(np.array(result), EXPECTED)


def test_deleting_the_crop_mid_grow_is_a_clear_error(tmp_path):
    crop = Crop(fn=destructive_add, parent_dir=tmp_path, batchsize=3)
    crop.sow_combos(
        COMBOS, constants={"location": str(tmp_path / ".xyz-destructive_add")}
    )
    with pytest.raises(CropError, match=r"deleted|gone"):
        crop.grow([1, 2, 3, 4, 5])
    assert not (tmp_path / ".xyz-destructive_add").exists()


def test_heartbeat_timeout_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XSWEEP_HEARTBEAT_TIMEOUT", "12.5")
    assert Crop(fn=add, parent_dir=tmp_path).heartbeat_timeout == 12.5
    assert Crop(fn=add, parent_dir=tmp_path, heartbeat_timeout=3).heartbeat_timeout == 3


def test_a_crop_sown_without_its_function_needs_one_to_grow(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, save_fn=False)
    crop.sow_combos(COMBOS)
    assert not list((tmp_path / ".xyz-add").glob("function*"))
    with pytest.raises(CropError, match="save_fn=False"):
        Crop(name="add", parent_dir=tmp_path).grow(1)
    Crop(name="add", parent_dir=tmp_path).grow(fn=add)
    np.testing.assert_array_equal(np.array(crop.reap()), EXPECTED)


def test_delete_all_removes_everything(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    crop.grow([1, 2])
    crop.delete_all()
    assert os.listdir(tmp_path) == []
    assert not crop.is_prepared() and crop.missing_results() == ()

"""Runner.Crop / Harvester.Crop: persisted sweeps reap what a Runner computes."""

from __future__ import annotations

import numpy as np
import xarray as xr

from xsweep import Harvester, Runner
from xsweep.netcdf import load_dataset

COMBOS = {"a": [1, 2, 3], "b": [1.0, 2.0]}


def fn(a, b, c=1.0):
    return a * b * c, np.array([a, b])


def make_runner():
    return Runner(
        fn, ["p", "v"], var_dims={"v": "k"}, var_coords={"k": [0, 1]},
        constants={"c": 2.0},
    )  # fmt: skip


def test_runner_crop_reaps_what_run_combos_returns(tmp_path):
    runner = make_runner()
    crop = runner.Crop(name="sweep", parent_dir=tmp_path, batchsize=4)
    crop.sow_combos(COMBOS)
    crop.grow_missing()
    reaped = crop.reap()
    xr.testing.assert_identical(
        reaped.drop_attrs(), runner.run_combos(COMBOS).drop_attrs()
    )
    assert reaped.attrs["c"] == 2.0


def test_harvester_crop_merges_reaped_results_into_its_file(tmp_path):
    harvester = Harvester(make_runner(), data_name=tmp_path / "h.nc")
    harvester.harvest_combos({"a": [0], "b": [1.0]})
    crop = harvester.Crop(name="more", parent_dir=tmp_path, batchsize=2)
    crop.sow_combos(COMBOS)
    crop.grow_missing()
    crop.reap()
    full = load_dataset(tmp_path / "h.nc")
    assert full.a.values.tolist() == [0, 1, 2, 3]
    assert full.p.sel(b=1.0).values.tolist() == [0.0, 2.0, 4.0, 6.0]

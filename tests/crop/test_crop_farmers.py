"""Crops of a Runner, Harvester or Sampler reap what they would compute in memory."""

from __future__ import annotations

import sys

import cloudpickle
import numpy as np
import pytest
from _functions import run_python

import xsweep
from xsweep.crop.crop import Crop

xr = pytest.importorskip("xarray")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # growers need no import

COMBOS = {"x": [1, 2, 3], "y": [0.5, 1.5]}


def spectrum(x, y, scale):
    """Two outputs, one with an internal dimension ``k``."""
    if x == 2 and y == 1.5 and scale < 0:
        raise ArithmeticError("negative scale at (2, 1.5)")
    return x + y, np.arange(3) * x * abs(scale)


def make_runner(scale=1.0):
    return xsweep.Runner(
        spectrum,
        var_names=["s", "v"],
        var_dims={"v": ["k"]},
        var_coords={"k": [0, 1, 2]},
        constants={"scale": scale},
    )


def _data(ds):
    return ds.drop_attrs() if hasattr(ds, "drop_attrs") else ds.assign_attrs({})


def test_runner_crop_grown_by_separate_processes_equals_the_in_memory_run(tmp_path):
    runner = make_runner()
    expected = runner.run_combos(COMBOS)
    crop = runner.Crop(parent_dir=tmp_path, batchsize=2)
    crop.sow_combos(COMBOS)
    for b in crop.missing_results():
        run_python(f"import xsweep; xsweep.grow({b}, crop={crop.location!r})")
    ds = crop.reap()
    xr.testing.assert_identical(_data(ds), _data(expected))
    assert runner.last_ds is ds
    assert xsweep.provenance(ds)["crop_num_batches"] == 3
    assert xsweep.provenance(ds)["crop_num_processes"] == 3
    assert xsweep.provenance(ds)["xsweep_function"].endswith("spectrum")
    assert (
        xsweep.provenance(ds)["crop_first_start"]
        <= xsweep.provenance(ds)["crop_last_finish"]
    )
    # saved before cleaning up: reaping again (even from a new Crop) gives it back
    again = Crop(name="spectrum", parent_dir=tmp_path).reap()
    xr.testing.assert_identical(_data(again), _data(expected))


def test_reap_from_another_process_labels_with_the_sown_runner(tmp_path):
    runner = make_runner()
    crop = runner.Crop(parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    crop.grow()
    out = run_python(
        "import xsweep; "
        f"ds = xsweep.Crop(name='spectrum', parent_dir={str(tmp_path)!r}).reap(); "
        "print(dict(ds.sizes), float(ds['s'].sum()))"
    )
    assert out.split("} ")[0] + "}" == "{'x': 3, 'y': 2, 'k': 3}"
    assert float(out.split()[-1]) == pytest.approx(
        float(runner.run_combos(COMBOS)["s"].sum())
    )


def test_partial_reap_of_a_runner_crop_keeps_failures_inspectable(tmp_path):
    runner = make_runner(scale=-1.0)
    crop = runner.Crop(parent_dir=tmp_path, batchsize=1)
    crop.sow_combos(COMBOS)
    crop.grow([1, 2, 3, 4])  # (2, 1.5) is batch 4 and fails; 5, 6 missing
    ds = crop.reap(allow_incomplete=True)
    s = ds["s"].values
    assert np.isnan(s[1, 1]) and np.isnan(s[2]).all()
    assert not np.isnan(s[0]).any() and not np.isnan(s[1, 0])
    assert xsweep.provenance(ds)["crop_failed_combos"] == 1
    assert xsweep.provenance(ds)["crop_missing_batches"] == 2
    assert "ArithmeticError" in ds.attrs["xsweep_failures"]
    assert crop.is_prepared()  # a partial reap keeps the crop


def test_harvester_crop_merges_into_its_file(tmp_path):
    path = tmp_path / "harvest.nc"
    harvester = xsweep.Harvester(make_runner(), data_name=path)
    harvester.harvest_combos({"x": [1], "y": [0.5, 1.5]})
    crop = harvester.Crop(parent_dir=tmp_path)
    crop.sow_combos({"x": [2, 3], "y": [0.5, 1.5]})
    crop.grow()
    crop.reap()
    from xsweep import netcdf

    full = netcdf.load_dataset(path)
    expected = make_runner().run_combos(COMBOS)
    xr.testing.assert_allclose(_data(full["s"]), _data(expected["s"]))


def test_a_harvester_crop_reaped_without_its_harvester_says_nothing_merged(tmp_path):
    path = tmp_path / "harvest.nc"
    harvester = xsweep.Harvester(make_runner(), data_name=path)
    harvester.harvest_combos({"x": [1], "y": [0.5, 1.5]})
    crop = harvester.Crop(name="lost", parent_dir=tmp_path)
    crop.sow_combos({"x": [2, 3], "y": [0.5, 1.5]})
    crop.grow()
    crop.layout.farmer_file.unlink()  # the saved Harvester is gone
    by_name = Crop(name="lost", parent_dir=tmp_path)
    with pytest.warns(UserWarning, match=r"sown by a Harvester.*not merged"):
        ds = by_name.reap()
    assert ds["s"].shape == (2, 2)  # the result itself is returned (and kept)
    xr.testing.assert_equal(Crop(name="lost", parent_dir=tmp_path).reap(), ds)
    from xsweep import netcdf

    assert netcdf.load_dataset(path)["x"].values.tolist() == [1]  # not merged


def test_sampler_crop_reaps_rows_of_samples(tmp_path):
    sampler = xsweep.Sampler(make_runner(), default_combos={"x": [1, 2, 3], "y": [0.5]})
    crop = sampler.Crop(parent_dir=tmp_path, batchsize=4)
    crop.sow_samples(10, seed=3)
    crop.grow()
    df = crop.reap()
    assert len(df) == 10 and list(df.columns[:3]) == ["x", "y", "s"]
    np.testing.assert_allclose(df["s"], df["x"] + df["y"])
    assert len(sampler.full_df) == 10

"""Provenance never breaks ``identical``, yet every result and file keeps it.

Results compare as an xyzpy user expects (``ds.attrs`` holds only the user's
attrs and constants); ``xsweep.provenance`` says what produced them, in
memory, in a file saved by xsweep, in a Harvester's file and in a reaped crop.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xsweep
from xsweep.errors import MergeConflictError


def fn3(a, b, c):
    return a + b + c, a * (b * np.linspace(0, 1.0, 3) + c)


def make_runner() -> xsweep.Runner:
    return xsweep.Runner(
        fn3,
        var_names=["sum", "array"],
        var_dims={"array": ["time"]},
        var_coords={"time": np.linspace(0, 1.0, 3)},
        constants={"c": 100},
        attrs={"fruit": "apples"},
    )


def expected() -> xr.Dataset:
    a, b = np.array([1, 2]), np.array([3, 4])
    t = np.linspace(0, 1.0, 3)
    return xr.Dataset(
        coords={"a": a, "b": b, "time": t},
        data_vars={
            "sum": (("a", "b"), a[:, None] + b[None, :] + 100),
            "array": (
                ("a", "b", "time"),
                a[:, None, None] * (b[None, :, None] * t + 100),
            ),
        },
        attrs={"c": 100, "fruit": "apples"},
    )


COMBOS = {"a": [1, 2], "b": [3, 4]}


def test_two_runs_are_identical_and_match_a_hand_built_dataset():
    runner = make_runner()
    first = runner.run_combos(COMBOS)
    second = runner.run_combos(COMBOS)
    assert first.identical(expected())
    assert first.identical(second)
    prov = xsweep.provenance(first)
    assert prov["xsweep_function"].endswith("fn3")
    assert prov["xsweep_version"] == xsweep.__version__
    assert prov["xsweep_run_start"] <= prov["xsweep_run_end"]
    assert prov["xsweep_constants"] == ["c"]
    assert not any(k.startswith(("xsweep_", "crop_")) for k in first.attrs)


def test_saved_file_keeps_provenance_and_loads_identical(tmp_path):
    ds = make_runner().run_combos(COMBOS)
    path = tmp_path / "out.nc"
    xsweep.save_ds(ds, path)
    back = xsweep.load_ds(path)
    assert back.identical(ds)
    assert xsweep.provenance(back) == xsweep.provenance(ds)
    assert xsweep.provenance(path)["xsweep_function"].endswith("fn3")
    # plain xarray sees one JSON attribute, and provenance() reads it too
    with xr.open_dataset(path) as raw:
        assert json.loads(raw.attrs["xsweep_provenance"])["xsweep_function"]
        assert xsweep.provenance(raw) == xsweep.provenance(ds)


def test_harvester_file_lists_every_run_and_still_refuses_other_constants(tmp_path):
    path = tmp_path / "h.nc"
    harvester = xsweep.Harvester(make_runner(), path)
    harvester.harvest_combos({"a": [1], "b": [3, 4]})
    harvester.harvest_combos({"a": [2], "b": [3, 4]})
    assert harvester.full_ds.identical(expected())
    on_disk = xsweep.load_ds(path)
    assert on_disk.identical(expected())
    runs = xsweep.provenance(on_disk)["runs"]
    assert len(runs) == 2 and all(r["xsweep_function"].endswith("fn3") for r in runs)
    other = make_runner()
    other.constants = {"c": 7}
    with pytest.raises(MergeConflictError, match="constant 'c'"):
        xsweep.Harvester(other, path).harvest_combos({"a": [3], "b": [3]})
    assert xsweep.load_ds(path).identical(expected())


def test_reaped_crop_is_identical_to_the_in_memory_run(tmp_path):
    runner = make_runner()
    crop = runner.Crop(name="prov", parent_dir=tmp_path, num_batches=2)
    crop.sow_combos(COMBOS)
    crop.grow_missing()
    ds = crop.reap()
    assert ds.identical(runner.run_combos(COMBOS))
    prov = xsweep.provenance(ds)
    assert prov["crop_num_batches"] == 2 and prov["crop_missing_batches"] == 0
    assert prov["crop_fn_fingerprint"]


def test_sampler_rows_keep_provenance_in_frame_attrs():
    sampler = xsweep.Sampler(xsweep.Runner(fn1, "y"))
    df = sampler.sample_combos(3, {"x": [1, 2, 3]}, seed=1)
    assert isinstance(df, pd.DataFrame)
    assert xsweep.provenance(df)["xsweep_function"].endswith("fn1")
    assert xsweep.provenance(sampler.full_df)["xsweep_function"].endswith("fn1")


def fn1(x):
    return x**2

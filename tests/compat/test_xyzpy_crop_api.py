"""xyzpy's Crop and Harvester API (issue 11 items 5 and 7; issue 9 Harvester)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import xarray as xr

import xsweep as xyz
from xsweep.errors import CropError, MergeConflictError


def add(a, b):
    return a + b


def pair(a, b):
    return np.arange(3) * a, a > b


def as_ds(a, b):
    return xr.Dataset({"s": a + b, "d": a - b})


COMBOS = {"a": [1, 2, 3], "b": [10, 20]}


def test_reap_variants_label_as_asked(tmp_path):
    crop = xyz.Crop(fn=add, parent_dir=tmp_path, batchsize=2)
    crop.sow_combos(COMBOS)
    assert crop.choose_batch_settings(combos=COMBOS) == (2, 3)
    crop.grow_missing()
    assert crop.check_bad() == ()
    assert crop.reap_combos(clean_up=False) == xyz.combo_runner(add, COMBOS)
    ds = crop.reap_combos_to_ds(var_names="s", clean_up=False)
    assert ds.identical(xyz.combo_runner_to_ds(add, COMBOS, "s"))
    runner = xyz.Runner(add, "total")
    crop.reap_runner(runner, clean_up=False)
    assert runner.last_ds["total"].sel(a=3, b=20) == 23


def test_damaged_result_files_are_found_and_removed_for_regrowing(tmp_path):
    crop = xyz.Crop(fn=add, parent_dir=tmp_path, batchsize=2)
    crop.sow_combos(COMBOS)
    crop.grow_missing()
    results = [p for p in (tmp_path / ".xyz-add" / "results").rglob("*") if p.is_file()]
    victim = sorted(results)[0]
    victim.write_bytes(victim.read_bytes()[:10])
    bad = crop.check_bad()  # (results may share one group file)
    assert bad and not victim.exists()
    assert crop.missing_results() == bad
    crop.grow_missing()
    assert crop.reap() == xyz.combo_runner(add, COMBOS)


@pytest.mark.parametrize("fn", [pair, as_ds])
def test_all_nan_result_has_the_shape_of_one_result(tmp_path, fn):
    crop = xyz.Crop(fn=fn, parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    with pytest.raises(CropError, match="no batch"):
        _ = crop.all_nan_result
    with pytest.raises(CropError, match="nothing to reap"):
        crop.reap(allow_incomplete=True)
    crop.grow(1)
    nan = crop.all_nan_result
    if fn is pair:
        assert np.shape(nan[0]) == (3,) and np.isnan(nan[0]).all() and np.isnan(nan[1])
    else:
        assert set(nan.data_vars) == {"s", "d"} and bool(nan["s"].isnull())
    partial = crop.reap_combos_to_ds(var_names=None if fn is as_ds else ["x", "y"],
                                     var_dims={"x": "t"} if fn is pair else None,
                                     allow_incomplete=True)  # fmt: skip
    assert int(partial[next(iter(partial.data_vars))].notnull().any(
        [d for d in partial.dims if d not in COMBOS]).sum()) == 1  # fmt: skip


def test_batch_settings_that_cannot_work_are_refused():
    with pytest.raises(TypeError):
        xyz.Crop(fn=add, batchsize=0.5).choose_batch_settings(combos=COMBOS)
    with pytest.raises(ValueError):
        xyz.Crop(fn=add, batchsize=-1).choose_batch_settings(combos=COMBOS)
    with pytest.raises(ValueError, match="do not fit"):
        xyz.Crop(fn=add, batchsize=1, num_batches=2).choose_batch_settings(
            combos=COMBOS
        )


def test_parse_crop_details_names_the_directory(tmp_path):
    loc, name, _ = xyz.parse_crop_details(add, None, tmp_path)
    assert loc == str(tmp_path / ".xyz-add") and name == "add"
    assert xyz.parse_crop_details(None, "x", None)[0].endswith(".xyz-x")
    with pytest.raises(ValueError):
        xyz.parse_crop_details(None, None, tmp_path)


def test_crop_reopened_by_name_has_its_harvester_and_harvester_gets_last_ds(
    tmp_path,
):
    path = tmp_path / "h.nc"
    harvester = xyz.Harvester(xyz.Runner(as_ds, None), path)
    crop = harvester.Crop(name="fn", parent_dir=tmp_path, batchsize=1)
    crop.sow_combos({"a": [1], "b": [1, 2, 3]})
    crop.grow(1)
    crop.grow(2)
    again = xyz.Crop(name="fn", parent_dir=tmp_path)
    assert again.farmer is not None and again.farmer is not harvester
    ds = again.reap(allow_incomplete=True)
    assert int(ds["d"].isnull().sum()) == 1
    assert int(xyz.load_ds(path)["d"].isnull().sum()) == 1
    crop.grow_missing()
    crop.reap()
    assert harvester.last_ds is not None and harvester.last_ds.identical(
        xyz.load_ds(path)
    )


def _digest(path: os.PathLike) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.parametrize(
    "runner, combos",
    [
        (xyz.Runner(lambda x: x, "other"), {"x": [3]}),  # other variables
        (xyz.Runner(lambda x, t: x, "y"), {"x": [3], "t": [0]}),  # other dims
        (
            xyz.Runner(
                lambda x: np.ones(2) * x,
                "y",
                var_dims={"y": "k"},
                var_coords={"k": [0, 1]},
            ),
            {"x": [3]},
        ),  # an extra internal dim
        (xyz.Runner(lambda x: x * 2.5, "y"), {"x": [3]}),  # int -> float
    ],
)
def test_harvester_refuses_what_does_not_fit_its_file_untouched(
    tmp_path, runner, combos
):
    path = tmp_path / "h.nc"
    first = xyz.Harvester(xyz.Runner(lambda x: x * 2, "y"), path)
    first.harvest_combos({"x": [1, 2]})
    before = _digest(path)
    with pytest.raises(MergeConflictError, match="allow_mismatch=True"):
        xyz.Harvester(runner, path).harvest_combos(combos)
    assert _digest(path) == before
    xyz.Harvester(runner, path).harvest_combos(combos, allow_mismatch=True)
    assert _digest(path) != before


def test_skip_existing_after_a_forced_merge_does_not_crash(tmp_path):
    path = tmp_path / "h.nc"
    xyz.Harvester(xyz.Runner(lambda x: x * 2, "y"), path).harvest_combos({"x": [1, 2]})
    h = xyz.Harvester(xyz.Runner(lambda x, t: x * 2, "y"), path)
    h.harvest_combos({"x": [3], "t": [0]}, allow_mismatch=True)
    ds = h.harvest_combos({"x": [1, 2, 3, 4], "t": [0]}, skip_existing=True)
    assert ds["x"].values.tolist() == [4]


def test_expand_dims_then_ellipsis_reuses_harvested_values(tmp_path):
    h = xyz.label("x", harvester=str(tmp_path / "h.nc"))(lambda a, b, c=5: a + b + c)
    h.harvest_combos({"a": [1, 2], "b": [3, 4]})
    h.expand_dims("c", 5)
    h.harvest_combos({"a": ..., "b": ..., "c": [8, 9]}, missing_only=True)
    assert h.full_ds["c"].values.tolist() == [5, 8, 9]
    assert xyz.load_ds(tmp_path / "h.nc")["x"].sel(a=2, b=4, c=9) == 15
    h.drop_sel(c=8)
    assert xyz.load_ds(tmp_path / "h.nc")["c"].values.tolist() == [5, 9]

"""Labels, missing cases and Sampler rows as xyzpy users write them."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xsweep as xyz
from xsweep.labels import parse_var_dims


def two_arrays(a, b):
    return np.arange(4) * a, np.arange(4) * b


def test_var_dims_without_coordinates_are_labelled_0_to_n_minus_1():
    ds = xyz.combo_runner_to_ds(
        two_arrays, {"a": [1, 2], "b": [3]}, ["p", "q"], var_dims=[["k"], ["k"]]
    )
    assert ds["k"].values.tolist() == [0, 1, 2, 3]
    assert ds["q"].sel(a=2, b=3, k=3) == 9
    assert parse_var_dims([("x", ["t"])], ("x",)) == {"x": ("t",)}


def test_var_names_none_takes_a_dict_of_outputs():
    def f(a, b):
        return {"apples": a + b, "oranges": a - b}

    ds = xyz.combo_runner_to_ds(f, {"a": [1, 2], "b": [30, 40]}, var_names=None)
    assert ds["apples"].dtype.kind == "i" and ds["oranges"].sel(a=2, b=30) == -28
    r = xyz.Runner(f, var_names=None)
    failing = r.run_cases([(1, 30), (2, 40)], fn_args=["a", "b"])
    assert bool(failing["apples"].sel(a=1, b=40).isnull())


def test_find_missing_cases_lists_what_to_run_next():
    ds = xr.Dataset(
        {
            "x": (("a", "b"), [[0.1, np.nan], [np.nan, 0.2], [np.nan, np.nan]]),
            "y": (("a", "b", "t"), np.full((3, 2, 2), np.nan)),
        },
        coords={"a": [1, 2, 3], "b": [40, 50], "t": [0, 1]},
    )
    ds["y"][0, 0, 1] = 5.0  # a partial result counts as present
    args, cases = xyz.find_missing_cases(ds, ignore_dims="t")
    assert args == ("a", "b") and set(cases) == {(1, 50), (2, 40), (3, 40), (3, 50)}
    assert xyz.is_case_missing(ds, {"a": 3, "b": 50})
    assert not xyz.is_case_missing(ds, {"a": 1, "b": 40})
    assert xyz.is_case_missing(ds, {"a": 99, "b": 40})  # not even a coordinate
    todo = xyz.parse_into_cases({"b": [40, 50]}, [{"a": 1}, {"a": 2}], ds=ds)
    assert todo == [{"a": 1, "b": 50}, {"a": 2, "b": 40}]
    ran = xyz.case_runner_to_ds(lambda a, b: a + b, args, cases, "x")
    assert int(ran["x"].notnull().sum()) == 4


def _sum_diff(a, b, c):
    return a + b, a - b


@pytest.mark.parametrize(("name", "engine"), [("s.pkl", "pickle"), ("s.csv", "csv")])
def test_sampler_files_and_constant_columns(tmp_path, name, engine):
    r = xyz.Runner(_sum_diff, ["sum", "diff"], constants={"c": 42})
    s = xyz.Sampler(r, tmp_path / name, engine=engine)
    s.sample_combos(5, {"a": [1, 2, 3], "b": [10, 20]}, seed=1)
    s.sample_combos(3, {"a": [1, 2, 3], "b": [10, 20]}, seed=2)
    on_disk = xyz.load_df(tmp_path / name, engine=engine)
    assert len(on_disk) == 8 and set(on_disk["c"]) == {42}
    assert list(s.full_df.columns) == ["a", "b", "sum", "diff", "c"]
    assert s.full_df.equals(on_disk)


def test_rerunning_a_seeded_sampler_crop_does_not_double_its_rows(tmp_path):
    def run() -> tuple[int, int]:
        r = xyz.Runner(_sum_diff, ["sum", "diff"], constants={"c": 0})
        s = xyz.Sampler(r, tmp_path / "s.pkl")
        crop = s.Crop(name="samples", parent_dir=tmp_path)
        crop.sow_samples(6, combos={"a": [1, 2, 3], "b": [10, 20]}, seed=0)
        crop.grow_missing()
        return len(crop.reap()), len(s.full_df)

    assert run() == (6, 6)
    with pytest.warns(UserWarning, match="not added twice"):
        assert run() == (6, 6)
    assert len(xyz.load_df(tmp_path / "s.pkl")) == 6


def test_delete_all_forgets_what_was_sown(tmp_path):
    crop = xyz.Crop(fn=lambda a, b: a + b, name="d", parent_dir=tmp_path, batchsize=5)
    crop.sow_combos({"a": [1, 2, 3], "b": [4, 5, 6, 7]})
    assert (crop.num_sown_batches, crop._batch_remainder) == (3, 2)
    crop.delete_all()
    assert not crop.is_prepared() and crop.batchsize is None
    assert crop.num_sown_batches == crop.num_results == -1


def test_the_label_parsers_keep_their_farming_import_path():
    from xsweep.farming import labels as farming_labels
    from xsweep.labels import parse_var_dims

    assert farming_labels.parse_var_dims is parse_var_dims
    assert farming_labels.parse_var_dims({"y": "t"}, ("y",)) == {"y": ("t",)}

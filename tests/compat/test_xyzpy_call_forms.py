"""The call forms xyzpy users write give what xyzpy gives (issue 11, items 1-4, 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xsweep as xyz
from xsweep.errors import InvalidCombosError


def add3(a, b, c):
    return a + b + c


def add_and_even(a, b, c):
    return a + b + c, (a + b + c) % 2 == 0


def test_combo_runner_nests_tuples_like_a_raw_reap(tmp_path):
    combos = {"a": [1, 2], "b": [10, 20, 30]}
    out = xyz.combo_runner(add3, combos, constants={"c": 100})
    assert out == ((111, 121, 131), (112, 122, 132))
    assert isinstance(out, tuple) and isinstance(out[0], tuple)
    crop = xyz.Crop(fn=add3, name="raw", parent_dir=tmp_path)
    crop.sow_combos(combos, constants={"c": 100})
    crop.grow_missing()
    assert crop.reap() == out
    sums, evens = xyz.combo_runner(add_and_even, combos, constants={"c": 0}, split=True)
    assert sums[1][2] == 32 and evens[1][2] is not None and bool(evens[1][2])
    flat = xyz.combo_runner(add3, combos, constants={"c": 0}, flat=True)
    assert flat == (11, 21, 31, 12, 22, 32)


def test_case_runner_gives_one_result_per_case_and_takes_short_cases():
    cases = [(1, 10, 100), (2, 20, 200)]
    assert xyz.case_runner(add3, ("a", "b", "c"), cases) == (111, 222)
    sums, evens = xyz.case_runner(add_and_even, ("a", "b", "c"), cases, split=True)
    assert sums == (111, 222) and tuple(map(bool, evens)) == (False, True)
    # cases shorter than fn_args: the names left over come from constants
    short = xyz.case_runner(
        add3, ("a", "b", "c"), [(1,), (2,)], constants={"b": 10, "c": 0}
    )
    assert short == (11, 12)
    ds = xyz.case_runner_to_ds(
        add3, ["a", "b", "c"], [(1,), (2,)], var_names="s", constants={"b": 1, "c": 0}
    )
    assert ds["s"].values.tolist() == [2, 3] and ds.attrs == {"b": 1, "c": 0}


@pytest.mark.parametrize("shuffle", [True, 3])
def test_shuffle_changes_only_the_order_of_evaluation(shuffle):
    seen = []

    def record(a, b):
        seen.append((a, b))
        return 10 * a + b

    combos = {"a": [1, 2, 3], "b": [4, 5, 6, 7]}
    ds = xyz.combo_runner_to_ds(record, combos, var_names="x", shuffle=shuffle)
    assert ds["x"].sel(a=3, b=5).item() == 35
    assert ds.identical(xyz.combo_runner_to_ds(lambda a, b: 10 * a + b, combos, "x"))
    assert sorted(seen) == sorted(seen[:]) and seen != sorted(seen)
    assert xyz.combo_runner(record, combos, shuffle=shuffle)[0] == (14, 15, 16, 17)


def test_shuffled_failures_are_recorded_at_their_own_combo():
    def fails_at_2(a):
        if a == 2:
            raise ValueError("two")
        return a

    ds = xyz.combo_runner_to_ds(
        fails_at_2, {"a": [0, 1, 2, 3, 4]}, "y", shuffle=1, on_error="record"
    )
    assert np.isnan(ds["y"].sel(a=2)) and ds["y"].sel(a=4) == 4
    from xsweep.labelling import failures_from_attrs

    assert [f["combo"] for f in failures_from_attrs(ds)] == [{"a": 2}]


@pytest.mark.parametrize("combos", [("x", [1, 2, 3]), ["x", (1, 2, 3)]])
def test_one_bare_name_values_pair_is_one_dimension(combos):
    r = xyz.Runner(lambda x: x**2, "sq")
    assert r.run_combos(combos)["sq"].values.tolist() == [1, 4, 9]
    assert xyz.combo_runner(lambda x: -x, combos) == (-1, -2, -3)


def test_ellipsis_values_outside_a_harvester_say_what_they_mean():
    with pytest.raises(InvalidCombosError, match="already harvested"):
        xyz.combo_runner(add3, {"a": ..., "b": [1], "c": [1]})


def test_cases_and_combos_mixed_run_each_case_at_every_combo(tmp_path):
    def fn(a, b, c, d):
        return f"{a}{b}{c}{d}"

    cases = [{"a": 1, "c": 3}, {"a": 2, "c": 4}]
    combos = {"b": [5, 6], "d": [7, 8]}
    r = xyz.Runner(fn, "out")
    ds = r.run_combos(combos, cases=cases)
    assert ds["out"].dims == ("a", "c", "b", "d")
    assert ds["out"].sel(a=2, c=4, b=6, d=7).item() == "2647"
    assert ds["out"].notnull().sum().item() == 8
    crop = r.Crop(name="mixed", parent_dir=tmp_path)
    crop.sow_combos(combos, cases=cases)
    crop.grow_missing()
    assert crop.reap().identical(ds)
    raw = xyz.combo_runner(fn, combos, cases=cases)
    assert raw[1][1][1][0] == "2647" and pd.isna(raw[0][1][0][0])
    with pytest.raises(InvalidCombosError, match="both in cases and in combos"):
        r.run_combos({"a": [1]}, cases=cases)


def test_runner_labels_can_be_deleted():
    r = xyz.Runner(add3, "s", fn_args=("a", "b", "c"), constants={"c": 1})
    for name in ("var_dims", "var_coords", "constants", "resources", "fn_args"):
        delattr(r, name)
        assert getattr(r, name) is None
    assert r.run_combos({"a": [1], "b": [2], "c": [3]})["s"].item() == 6


def test_rows_and_labels_of_results_computed_elsewhere():
    df = xyz.case_runner_to_df(add3, ["a", "b", "c"], [(1, 10, 100), (2, 20, 200)], "x")
    assert df.columns.tolist() == ["a", "b", "c", "x"] and df.x.tolist() == [111, 222]
    df = xyz.combo_runner_to_df(add3, {"a": [1, 2], "b": [0]}, "x", constants={"c": 0})
    pd.testing.assert_series_equal(df["x"], pd.Series([1, 2], name="x"))
    ds = xyz.results_to_ds([1, 2, 3], [("a", [1, 2, 3])], ["s"], {"s": ()}, {})
    assert ds["s"].dtype.kind == "i" and ds["s"].sel(a=2) == 2


def test_crop_growing_takes_xyzpy_settings(tmp_path):
    crop = xyz.Crop(fn=add3, name="g", parent_dir=tmp_path)
    crop.sow_combos({"a": [1, 2, 3], "b": [0]}, constants={"c": 0})
    crop.grow(1, verbosity=2)
    crop.grow_missing(parallel=2, verbosity=1)
    assert crop.reap() == ((1,), (2,), (3,))


def test_to_df_gives_rows():
    df = xyz.combo_runner_to_ds(add3, {"a": [1, 2]}, "s", constants={"b": 0, "c": 0},
                                to_df=True)  # fmt: skip
    assert df["s"].tolist() == [1, 2]
    df = xyz.case_runner_to_ds(add3, ["a", "b", "c"], [(1, 1, 1)], "s", to_df=True)
    assert df.columns.tolist() == ["a", "b", "c", "s"]


def test_dataset_results_with_a_failed_combo_are_nan_there():
    import xarray as xr

    def f(a):
        if a == 2:
            raise ValueError("no")
        return xr.Dataset({"s": a * 1.0})

    ds = xyz.combo_runner_to_ds(f, {"a": [1, 2, 3]}, var_names=None, on_error="record")
    assert np.isnan(ds["s"].sel(a=2)) and ds["s"].sel(a=3) == 3.0

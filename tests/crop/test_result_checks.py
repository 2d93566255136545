"""Validate where the result is made (issue 9.4): a result that cannot be
labelled or stored is a failure of its combo at grow time, named; a crop that
says it is complete can always be reaped; combo values that cannot be
coordinates are refused at sow time."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from grower_procs import by_value

import xsweep
from xsweep.errors import CropError, InvalidCombosError

SOURCE = """
def outputs(x):
    if x == 3:
        return x, x, x  # one value too many
    return x, 10 * x


def spectrum(x):
    return [x] * (2 if x != 2 else 3)  # combo x=2 has one point too many


def plain(x):
    return [x, x]  # an array, but var_dims says nothing
"""


def crop_of(tmp_path, name, **runner):
    fn = by_value(SOURCE, name)
    return xsweep.Runner(fn, **runner).Crop(name=name, parent_dir=tmp_path)


def test_a_wrong_number_of_outputs_fails_that_combo_at_grow_time(tmp_path):
    crop = crop_of(tmp_path, "outputs", var_names=["a", "b"])
    crop.sow_combos({"x": [1, 2, 3, 4]}, verbosity=0)
    grower = subprocess.run(  # a real grower process
        [sys.executable, "-m", "xsweep", "grow", crop.location],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert grower.returncode != 0  # it says something failed
    status = crop.status()
    assert status.complete and status.failed_combos == 1
    (failure,) = crop.failures()
    assert failure.combo == {"x": 3} and failure.exc_type == "OutputMismatchError"
    assert "3 values" in failure.message and "['a', 'b']" in failure.message
    with pytest.raises(CropError, match="1 combo failed"):
        crop.reap()
    ds = crop.reap(allow_incomplete=True)  # the others, NaN at x=3
    assert ds["b"].values.tolist()[:2] == [10, 20] and np.isnan(ds["b"].values[2])
    fixed = by_value(SOURCE.replace("return x, x, x", "return x, 10 * x"), "outputs")
    crop.retry_failed(fn=fixed)
    assert crop.reap()["b"].values.tolist() == [10, 20, 30, 40]


def test_a_shape_differing_from_var_dims_fails_that_combo_named(tmp_path):
    crop = crop_of(
        tmp_path, "spectrum", var_names="s", var_dims={"s": ["k"]},
        var_coords={"k": [0, 1]},
    )  # fmt: skip
    crop.sow_combos({"x": [1, 2, 3]}, verbosity=0)
    crop.grow()
    (failure,) = crop.failures()
    assert failure.combo == {"x": 2}
    assert "shape (3,)" in failure.message and "(2,)" in failure.message
    ds = crop.reap(allow_incomplete=True)
    assert ds["s"].sel(x=3).values.tolist() == [3, 3]


def test_an_array_output_without_var_dims_fails_saying_what_to_give(tmp_path):
    crop = crop_of(tmp_path, "plain", var_names="p")
    crop.sow_combos({"x": [1, 2]}, verbosity=0)
    crop.grow()
    assert crop.status().failed_combos == 2
    assert "give var_dims" in crop.failures()[0].message


def test_a_result_that_cannot_be_saved_fails_its_combo_only(tmp_path):
    def locked(x):
        return threading.Lock() if x == 2 else x

    crop = xsweep.Crop(fn=locked, parent_dir=tmp_path, name="locked")
    crop.sow_combos({"x": [1, 2, 3]}, batchsize=3, verbosity=0)
    crop.grow()
    (failure,) = crop.failures()
    assert failure.combo == {"x": 2} and "cannot be saved" in failure.message
    assert crop.reap(allow_incomplete=True)[0] == 1


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([(1, 2), (3, 4)], "a tuple"),
        ([[1, 2], [3]], "a list"),
        ([1, "a", 2.5], "mix kinds"),
    ],
)
def test_values_that_cannot_be_coordinates_are_refused_at_sow_time(
    tmp_path, values, match
):
    crop = xsweep.Runner(lambda x: 1, var_names="o").Crop(name="c", parent_dir=tmp_path)
    with pytest.raises(InvalidCombosError, match=match):
        crop.sow_combos({"x": values})
    assert not crop.is_prepared()
    with pytest.raises(InvalidCombosError, match=match):
        crop.sow_cases("x", values)
    raw = xsweep.Crop(fn=lambda x: 1, name="raw", parent_dir=tmp_path)
    raw.sow_combos({"x": values}, verbosity=0)  # raw results need no coordinates
    raw.grow()
    assert list(raw.reap()) == [1] * len(values)


def ones(n):
    return np.ones(n)


def test_a_size_set_by_the_first_result_holds_for_the_later_batches(tmp_path):
    # "i" has no coordinates: its size comes from the results, so the first
    # one fixes it, and a later batch of another size fails at grow time
    runner = xsweep.Runner(ones, var_names="y", var_dims={"y": ["i"]})
    crop = runner.Crop(name="ragged", parent_dir=str(tmp_path), batchsize=1)
    crop.sow_combos({"n": [2, 3]})
    crop.grow_missing()
    failures = crop.failures()
    assert len(failures) == 1  # whichever batch came second
    bad = failures[0].combo["n"]
    good = 5 - bad
    assert f"shape ({bad},)" in failures[0].message
    ds = crop.reap(allow_incomplete=True)
    assert ds["y"].sel(n=good).values.tolist() == [1.0] * good
    assert np.isnan(ds["y"].sel(n=bad).values).all()


ONES = """
import numpy as np

def ones(n):
    return np.ones(n)
"""


def test_two_growers_whose_first_results_differ_in_size_keep_the_crop_reapable(
    tmp_path,
):
    # each `xsweep grow` process grows one batch, so each one's first result
    # would fix the size of "i" for itself: the crop fixes it once, for all
    runner = xsweep.Runner(by_value(ONES, "ones"), var_names="y", var_dims={"y": ["i"]})
    crop = runner.Crop(name="sizes", parent_dir=str(tmp_path), batchsize=1)
    crop.sow_combos({"n": [2, 3]})
    for batch in ("1", "2"):  # n = 2, then n = 3, each in a process of its own
        done = subprocess.run(
            [sys.executable, "-m", "xsweep", "grow", crop.location, batch],
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
    (failure,) = crop.failures()  # n = 3 differs from the crop's first result
    assert failure.combo["n"] == 3 and "shape (3,)" in failure.message
    with pytest.raises(CropError, match="failed"):
        crop.reap()  # refused, saying why: never "complete" yet unreapable
    ds = crop.reap(allow_incomplete=True)
    assert ds["y"].isel(n=0).values.tolist() == [1.0, 1.0]
    assert np.isnan(ds["y"].isel(n=1).values).all()


def test_sowing_again_with_new_code_fixes_the_sizes_afresh(tmp_path):
    # the spectrum of each combo grows from 2 to 3 points with the new code:
    # its results are computed afresh, at their own size, and reap
    def two(n):
        return np.ones(2) * n

    def three(n):
        return np.ones(3) * n

    labels = {"var_names": "y", "var_dims": {"y": ["i"]}}
    crop = xsweep.Runner(two, **labels).Crop(name="resized", parent_dir=str(tmp_path))
    crop.sow_combos({"n": [1, 2]}, verbosity=0)
    crop.grow_missing()
    assert crop.reap(clean_up=False)["y"].shape == (2, 2)
    crop = xsweep.Runner(three, **labels).Crop(name="resized", parent_dir=str(tmp_path))
    crop.sow_combos({"n": [1, 2]}, verbosity=0)
    crop.grow_missing()
    assert crop.failures() == []
    assert crop.reap()["y"].shape == (2, 3)

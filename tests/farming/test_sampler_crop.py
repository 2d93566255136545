"""Sampler.Crop: samples sown as cases, grown anywhere, reaped into its rows."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import cloudpickle
import numpy as np
import pandas as pd
import pytest

import xsweep
from xsweep.errors import CropError, InvalidCombosError

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # growers need no import

COMBOS = {"x": [1, 2, 3, 4], "y": [0.5, 1.5]}


def model(x, y):
    """A scalar and a length-2 output; x == 3 with y == 0.5 raises."""
    if x == 3 and y == 0.5:
        raise ArithmeticError("no model at (3, 0.5)")
    return x * y, np.array([x, -y])


def make_sampler(path=None):
    runner = xsweep.Runner(
        model, ["p", "v"], var_dims={"v": ["k"]}, var_coords={"k": ["x", "y"]}
    )
    return xsweep.Sampler(runner, file_name=path, default_combos=COMBOS)


def python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (as a batch job would); its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def data(df: pd.DataFrame) -> pd.DataFrame:
    """The rows only (attributes differ by provenance)."""
    out = df.copy()
    out.attrs = {}
    out["v"] = [np.asarray(v).tolist() for v in out["v"]]
    return out


def test_grown_by_separate_processes_then_merged_into_the_file(tmp_path):
    path = tmp_path / "samples.pkl"
    sampler = make_sampler(path)
    sampler.sample_combos(3, {"x": [1], "y": [1.5]})  # rows from before the crop
    crop = sampler.Crop(name="draws", parent_dir=tmp_path, batchsize=3)
    crop.sow_samples(8, combos={"x": [1, 2, 4], "y": [0.5, 1.5]}, seed=7)
    assert crop.missing_results() == (1, 2, 3)
    python(
        "import xsweep; "
        f"c = xsweep.Crop(name='draws', parent_dir={str(tmp_path)!r}); "
        "xsweep.grow(2, crop=c)"
    )
    assert crop.missing_results() == (1, 3)
    crop.grow_missing()

    df = crop.reap()

    expected = make_sampler().sample_combos(
        8, {"x": [1, 2, 4], "y": [0.5, 1.5]}, seed=7, sync=False
    )
    pd.testing.assert_frame_equal(data(df), data(expected))
    assert (
        xsweep.provenance(df)["crop_num_batches"] == 3
        and xsweep.provenance(df)["crop_failed_combos"] == 0
    )
    assert xsweep.provenance(df)["xsweep_function"].endswith("model")
    on_disk = pd.read_pickle(path)
    assert len(on_disk) == 11 and on_disk.index.tolist() == list(range(11))
    pd.testing.assert_frame_equal(
        data(on_disk.iloc[3:].reset_index(drop=True)), data(df)
    )
    assert on_disk["p"].iloc[:3].tolist() == [1.5] * 3
    pd.testing.assert_frame_equal(data(sampler.full_df), data(on_disk))
    assert sampler.last_df is df
    # cleaned up once merged; reaping again returns the rows, adding nothing
    assert not crop.is_prepared()
    pd.testing.assert_frame_equal(data(crop.reap()), data(df))
    assert len(pd.read_pickle(path)) == 11


def test_partial_reaps_give_nan_only_where_missing_or_failed_and_add_rows_once(
    tmp_path,
):
    path = tmp_path / "samples.pkl"
    sampler = make_sampler(path)
    crop = sampler.Crop(name="cases", parent_dir=tmp_path, batchsize=2)
    cases = [(1, 0.5), (2, 0.5), (3, 0.5), (4, 0.5), (2, 1.5), (2, 1.5)]
    crop.sow_cases(["x", "y"], cases)  # batch 2 holds the failing (3, 0.5)
    crop.grow([1, 2])  # batch 3 (the last two rows) still missing

    first = crop.reap(allow_incomplete=True)

    p = first["p"].to_numpy()
    assert np.isnan(p[[2, 4, 5]]).all() and p[[0, 1, 3]].tolist() == [0.5, 1.0, 2.0]
    assert xsweep.provenance(first)["crop_missing_batches"] == 1
    failures = json.loads(first.attrs["xsweep_failures"])
    assert [(f["combo"], f["exc_type"]) for f in failures] == [
        ({"x": 3, "y": 0.5}, "ArithmeticError")
    ]
    assert crop.is_prepared() and len(pd.read_pickle(path)) == 6
    crop.grow_missing()
    with pytest.raises(CropError, match="1 combo failed"):
        crop.reap()

    second = crop.reap(allow_incomplete=True)

    p = second["p"].to_numpy()
    assert np.isnan(p[2]) and p[[0, 1, 3, 4, 5]].tolist() == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert np.isnan(second["v"][2]).all() and second["v"][4].tolist() == [2.0, -1.5]
    # the second reap of the same sowing replaced the rows of the first
    full = pd.read_pickle(path)
    pd.testing.assert_frame_equal(data(full), data(second))
    assert len(json.loads(full.attrs["xsweep_failures"])) == 1
    assert len(sampler.full_df) == 6


def test_reopened_by_name_in_another_process_reaps_into_the_samplers_file(tmp_path):
    path = tmp_path / "samples.pkl"
    sampler = make_sampler(path)
    sampler.sample_combos(2, {"x": [2], "y": [0.5]})
    crop = sampler.Crop(name="later", parent_dir=tmp_path, batchsize=4)
    crop.sow_samples(5, combos={"x": [1, 4], "y": [1.5]}, seed=1)
    crop.grow_missing()
    del sampler, crop

    out = python(
        "import xsweep; "
        f"df = xsweep.Crop(name='later', parent_dir={str(tmp_path)!r}).reap(); "
        "print(type(df).__name__, len(df), df['p'].sum())"
    )

    kind, rows, total = out.split()
    full = pd.read_pickle(path)
    assert (kind, rows) == ("DataFrame", "5") and len(full) == 7
    assert float(total) == pytest.approx(full["p"].iloc[2:].sum())
    np.testing.assert_allclose(full["p"], full["x"] * full["y"])


def test_without_its_sampler_a_crop_still_reaps_rows_but_merges_nowhere(tmp_path):
    sampler = make_sampler(tmp_path / "samples.pkl")
    sampler.lock = threading.Lock()  # cannot be saved with the crop
    crop = sampler.Crop(name="alone", parent_dir=tmp_path)
    with pytest.warns(UserWarning, match="could not save the farmer"):
        crop.sow_samples(4, combos={"x": [2], "y": [0.5, 1.5]}, seed=2)
    crop.grow_missing()

    with pytest.warns(UserWarning, match="not merged into the Sampler's file"):
        df = xsweep.Crop(name="alone", parent_dir=tmp_path).reap()

    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["x", "y", "p", "v"]
    np.testing.assert_allclose(df["p"], df["x"] * df["y"])
    assert not (tmp_path / "samples.pkl").exists()


def test_grid_sown_on_a_sampler_crop_reaps_one_row_per_combo(tmp_path):
    sampler = make_sampler()
    crop = sampler.Crop(name="grid", parent_dir=tmp_path, num_batches=3)
    crop.sow_combos({"x": [1, 2], "y": [0.5, 1.5]})
    crop.grow()
    df = crop.reap(sync=False)
    assert list(zip(df["x"], df["y"], strict=True)) == [
        (1, 0.5), (1, 1.5), (2, 0.5), (2, 1.5),
    ]  # fmt: skip
    assert sampler.full_df is None and sampler.last_df is None  # sync=False


def test_sampler_crop_needs_var_names(tmp_path):
    sampler = xsweep.Sampler(xsweep.Runner(model, var_names=None))
    with pytest.raises(InvalidCombosError, match="var_names"):
        sampler.Crop(name="unlabelled", parent_dir=tmp_path)


def test_rows_changed_since_a_partial_reap_are_appended_to_not_overwritten(tmp_path):
    path = tmp_path / "samples.pkl"
    sampler = make_sampler(path)
    crop = sampler.Crop(name="edited", parent_dir=tmp_path, batchsize=2)
    crop.sow_cases(["x", "y"], [(1, 0.5), (2, 0.5), (4, 1.5)])
    crop.grow([1])
    crop.reap(allow_incomplete=True)
    edited = sampler.full_df.iloc[::-1].reset_index(drop=True)
    sampler.save_full_df(edited)  # the user reordered the rows meanwhile
    crop.grow_missing()
    with pytest.warns(UserWarning, match="appended again, not replaced"):
        crop.reap()
    full = pd.read_pickle(path)
    assert len(full) == 6
    pd.testing.assert_frame_equal(data(full.iloc[:3]), data(edited))
    assert full["p"].iloc[3:].tolist() == [0.5, 1.0, 6.0]


def test_a_sampler_crop_reopened_by_name_sows_repeated_cases_again(tmp_path):
    sampler = make_sampler(tmp_path / "samples.pkl")
    sampler.Crop(name="again", parent_dir=tmp_path).sow_samples(
        3, combos={"x": [2], "y": [0.5, 1.5]}, seed=1
    )
    reopened = xsweep.Crop(name="again", parent_dir=tmp_path)  # no Sampler at hand
    reopened.sow_cases(["x", "y"], [(2, 0.5), (2, 0.5), (3, 1.5)])  # repeats
    reopened.grow_missing()
    df = reopened.reap()
    assert list(zip(df["x"], df["y"], strict=True)) == [(2, 0.5), (2, 0.5), (3, 1.5)]
    np.testing.assert_allclose(df["p"], df["x"] * df["y"])

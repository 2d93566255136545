"""Sowing again with labels that do not fit the results kept is refused, the
crop left as it was (a crop that says it is complete can always be reaped);
a set-aside reaped Sampler result is read as the sowing says; summaries and
provenance say what was kept."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from grower_procs import run_cli

import xsweep
from xsweep.errors import OutputMismatchError

xr = pytest.importorskip("xarray")

COMBOS = {"x": [1, 2, 3], "y": [10, 20]}


def prod_sum(x, y):
    return x * y, x + y


def grown(tmp_path, batchsize=1):
    runner = xsweep.Runner(prod_sum, var_names=["prod", "sum"])
    crop = runner.Crop(name="ps", parent_dir=tmp_path, batchsize=batchsize)
    crop.sow_combos(COMBOS)
    crop.grow()
    return crop


def snapshot(crop) -> dict:
    """Every file of the crop directory with its bytes."""
    root = crop.layout.location
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "labels, output",
    [
        ({"var_names": ["prod"]}, "'prod'"),
        ({"var_names": ["prod", "sum"], "var_dims": {"sum": ["t"]}}, "'sum'"),
    ],
)
@pytest.mark.parametrize("extend", [False, True])  # same sowing / carried over
def test_sowing_labels_that_do_not_fit_the_kept_results_is_refused(
    tmp_path, labels, output, extend
):
    crop = grown(tmp_path)
    before = snapshot(crop)
    wrong = xsweep.Runner(prod_sum, **labels).Crop(
        name="ps", parent_dir=tmp_path, batchsize=1
    )
    combos = {"x": [1, 2, 3, 4], "y": [10, 20]} if extend else COMBOS
    with pytest.raises(OutputMismatchError) as error:
        wrong.sow_combos(combos)
    message = str(error.value)
    assert f"output {output}" in message  # the output, what it holds, wanted
    assert "var_names=['prod', 'sum']" in message  # what the results were grown with
    assert "Nothing was changed" in message and "delete_all" in message
    assert snapshot(crop) == before  # the crop is as it was
    assert crop.status().done == 6
    reap = run_cli("reap", crop.location)  # and can still be reaped
    assert reap.returncode == 0, reap.stderr
    sums = crop.reap()["sum"].values
    np.testing.assert_array_equal(sums, [[11, 21], [12, 22], [13, 23]])


def test_sowing_again_with_labels_that_fit_keeps_everything_and_reaps(tmp_path):
    grown(tmp_path)
    again = xsweep.Runner(prod_sum, var_names=["p", "s"]).Crop(
        name="ps", parent_dir=tmp_path, batchsize=1
    )
    summary = again.sow_combos(COMBOS)  # other names, same shapes: they fit
    assert (summary.kept, summary.to_compute) == (6, 0)
    assert "nothing to compute" in str(summary) and "0 to compute" not in str(summary)
    ds = again.reap()
    np.testing.assert_array_equal(ds["p"].values, [[10, 20], [20, 40], [30, 60]])


def test_kept_results_are_labelled_kept_in_the_batch_table(tmp_path):
    grown(tmp_path, batchsize=6)
    runner = xsweep.Runner(prod_sum, var_names=["prod", "sum"])
    bigger = runner.Crop(name="ps", parent_dir=tmp_path, batchsize=6)
    summary = bigger.sow_combos({"x": [1, 2, 3, 4], "y": [10, 20]})
    assert (summary.kept, summary.to_compute) == (6, 2)
    bigger.grow()
    table = xsweep.provenance(bigger.reap())["crop_batches"]
    assert sorted(map(str, table["batch_id"])) == ["1", "kept"]


def test_a_set_aside_sampler_result_is_read_by_what_the_sowing_names(tmp_path, capsys):
    def sampled(tmp_path):
        runner = xsweep.Runner(prod_sum, var_names=["prod", "sum"])
        sampler = xsweep.Sampler(runner, default_combos={"x": [1, 2, 3], "y": [10]})
        crop = sampler.Crop(name="s", parent_dir=tmp_path, batchsize=4)
        summary = crop.sow_samples(5, seed=1)
        crop.grow()
        return crop, summary

    crop, _ = sampled(tmp_path)
    first = crop.reap()
    capsys.readouterr()
    crop, summary = sampled(tmp_path)  # the script's second run
    (path,) = summary.set_aside
    out = capsys.readouterr().out
    assert f"moved to {path} (xsweep.load_df (or pickle.load) reads it)" in out
    assert xsweep.load_df(path).equals(first)


def test_a_set_aside_raw_result_is_a_plain_pickle(tmp_path):
    crop = xsweep.Crop(fn=prod_sum, name="raw", parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    crop.grow()
    first = crop.reap()
    summary = crop.sow_combos(COMBOS)
    (path,) = summary.set_aside
    with open(path, "rb") as f:
        assert pickle.load(f) == first

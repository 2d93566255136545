"""The Crop's xyzpy-compatible API: its signature and settings, cases and
shuffled batches of a Runner's crop grown by separate processes, and a repr
that shows progress."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from grower_procs import by_value, finish, start_cli

import xsweep
from xsweep.crop.crop import Crop

xr = pytest.importorskip("xarray")

SOURCE = """
import numpy as np

def spectrum(x, y):
    return x * y, np.arange(3) * x + y
"""
COMBOS = {"x": [1, 2, 3, 4], "y": [0.5, 1.5, 2.5]}


def make_runner() -> xsweep.Runner:
    return xsweep.Runner(
        by_value(SOURCE, "spectrum"),
        var_names=["s", "v"],
        var_dims={"v": ["k"]},
        var_coords={"k": [0, 1, 2]},
    )


def data(ds):
    """A dataset without its attributes (provenance differs between runs)."""
    return ds.drop_attrs() if hasattr(ds, "drop_attrs") else ds.assign_attrs({})


def test_crop_signature_is_xyzpys_all_keyword_only():
    params = inspect.signature(Crop).parameters
    expected = {
        "fn": None,
        "name": None,
        "parent_dir": None,
        "save_fn": None,
        "batchsize": None,
        "num_batches": None,
        "shuffle": False,
        "farmer": None,
        "autoload": True,
    }
    assert list(params)[: len(expected)] == list(expected)
    for name, default in expected.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params[name].default is default, name
    # anything more is optional and keyword-only too
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not p.empty
        for p in params.values()
    )
    # the methods' xyzpy names, order and defaults
    required = inspect.Parameter.empty
    for method, expected in {
        "sow_combos": [("combos", required), ("constants", None)],
        "sow_cases": [("fn_args", required), ("cases", required), ("constants", None)],
        "grow": [("batch_ids", None)],
        "grow_missing": [("num_workers", None)],
        "reap": [("wait", False), ("clean_up", None), ("allow_incomplete", False)],
    }.items():  # fmt: skip
        params = list(inspect.signature(getattr(Crop, method)).parameters.values())
        got = [(p.name, p.default) for p in params[1 : 1 + len(expected)]]
        assert got == expected, method
    for name in ("missing_results", "completed_results", "delete_all"):
        assert list(inspect.signature(getattr(Crop, name)).parameters) == ["self"]
    for farmer in (xsweep.Runner, xsweep.Harvester, xsweep.Sampler):
        made = inspect.signature(farmer.Crop).parameters
        assert list(made)[1:7] == [
            "name", "parent_dir", "save_fn", "batchsize", "num_batches", "shuffle"
        ]  # fmt: skip


def test_num_batches_splits_evenly_and_autoload_reads_the_sown_settings(tmp_path):
    crop = Crop(fn=by_value(SOURCE, "spectrum"), parent_dir=tmp_path, num_batches=5)
    crop.sow_combos(COMBOS)  # 12 combos in 5 batches: sizes 3, 3, 2, 2, 2
    assert (crop.num_batches, crop.batchsize) == (5, 3)
    assert crop.missing_results() == (1, 2, 3, 4, 5)
    sizes = np.diff(crop._read_sow().bounds).tolist()
    assert sizes == [3, 3, 2, 2, 2]
    loaded = Crop(name="spectrum", parent_dir=tmp_path)
    assert (loaded.num_batches, loaded.batchsize) == (5, 3)
    unloaded = Crop(name="spectrum", parent_dir=tmp_path, autoload=False)
    assert (unloaded.num_batches, unloaded.batchsize) == (None, None)
    assert unloaded.missing_results() == (1, 2, 3, 4, 5)  # still the same crop
    with pytest.raises(ValueError, match="num_batches"):
        Crop(fn=crop.fn, name="bad", parent_dir=tmp_path).sow_combos(
            COMBOS, batchsize=5, num_batches=5
        )


def test_shuffled_runner_crop_grown_by_processes_equals_the_in_memory_run(tmp_path):
    runner = make_runner()
    expected = runner.run_combos(COMBOS)
    crop = runner.Crop(name="mixed", parent_dir=tmp_path, batchsize=2, shuffle=True)
    crop.sow_combos(COMBOS)
    sow = crop._read_sow()
    assert sow.order is not None and sorted(sow.order) == list(range(12))
    batches = [sow.runs(b) for b in range(1, 7)]
    assert any(len(runs) > 1 for runs in batches)  # really spread out
    ends = finish([start_cli(crop.location) for _ in range(2)], timeout=90)
    assert [code for code, _ in ends] == [0, 0], ends
    xr.testing.assert_identical(data(crop.reap()), data(expected))


def test_sow_cases_of_a_runner_crop_reaps_what_run_cases_returns(tmp_path):
    runner = make_runner()
    cases = [(1, 0.5), (3, 1.5), (2, 0.5), (1, 1.5), (4, 2.5)]
    expected = runner.run_cases(cases, fn_args=["x", "y"])
    crop = runner.Crop(name="cases", parent_dir=tmp_path, batchsize=2, shuffle=3)
    crop.sow_cases(["x", "y"], cases)
    assert crop.num_batches == 3
    finish([start_cli(crop.location)], timeout=60)
    xr.testing.assert_identical(data(crop.reap()), data(expected))


def _bar(text: str, state: str) -> int:
    """The count shown on the line of ``state`` in a progress picture."""
    (line,) = [ln for ln in text.splitlines() if ln.split()[:1] == [state]]
    return int(re.findall(r" (\d+) +[\d.]+%$", line)[0])


def test_repr_shows_the_progress_of_the_crop(tmp_path):
    crop = Crop(fn=by_value(SOURCE, "spectrum"), parent_dir=tmp_path, batchsize=3)
    assert "not sown" in repr(crop)
    crop.sow_combos(COMBOS)
    text = repr(crop)
    assert crop.location in text and "4 batches" in text
    assert (_bar(text, "pending"), _bar(text, "done")) == (4, 0)
    crop.grow([1, 3])
    text = repr(crop)
    assert (_bar(text, "pending"), _bar(text, "done")) == (2, 2)
    assert "50.0%" in text
    html = crop._repr_html_()
    assert html.startswith("<") and "spectrum" in html

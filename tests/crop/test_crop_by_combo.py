"""Results belong to combos, not to positions (issue 9.1).

Re-sowing any grid or case list keeps every result whose combo, constants and
function are unchanged (counted: each combo computes once), computes only the
rest, reaps each result under its own labels, and says what it kept. A
changed function drops its results unless asked; then the reap names both
versions of the code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from grower_procs import by_value, runs

import xsweep
from xsweep.crop import records
from xsweep.errors import CropError, FileFormatError

SOURCE = """
import os

def logged(x, y, log):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{x} {y}\\n".encode())
    finally:
        os.close(fd)
    if x == 13:
        raise ValueError("13 is unlucky")
    return 10 * x + y
"""
FIXED = SOURCE.replace("if x == 13:", "if x == -1:")
CHANGED = SOURCE.replace("return 10 * x + y", "return 100 * x + y")

FIRST = {"x": [1, 2, 3], "y": [5, 7]}
RESOWN = [
    {"x": [0, 1, 2, 3], "y": [5, 7]},  # a value inserted at the front
    {"x": [1, 2, 3], "y": [5, 6, 7]},  # ... in the inner dimension
    {"x": [3, 1, 2], "y": [7, 5]},  # reordered
    {"x": [1, 3], "y": [5, 7, 9]},  # one removed, one added
    {"y": [5, 7], "x": [2, 4, 1]},  # dimensions swapped, a value added
]


def combos_of(grid: dict) -> set:
    names = list(grid)
    out = {()}
    for name in names:
        out = {(*c, v) for c in out for v in grid[name]}
    return {tuple(dict(zip(names, c, strict=True))[k] for k in ("x", "y")) for c in out}


def runner(log: Path, source: str = SOURCE) -> xsweep.Runner:
    fn = by_value(source, "logged")
    return xsweep.Runner(fn, var_names="z", constants={"log": str(log)})


@pytest.mark.parametrize("new", RESOWN)
@pytest.mark.parametrize("settings", [{}, {"batchsize": 2}, {"shuffle": 3}])
def test_resowing_keeps_every_unchanged_result_and_computes_only_new_combos(
    tmp_path, new, settings, capsys
):
    log = tmp_path / "log"
    farmer = runner(log)
    crop = farmer.Crop(name="by-combo", parent_dir=tmp_path, **settings)
    crop.sow_combos(FIRST)
    crop.grow_missing()
    assert sum(runs(log).values()) == 6
    summary = crop.sow_combos(new)
    old, now = combos_of(FIRST), combos_of(new)
    assert summary.kept == len(old & now)
    assert summary.to_compute == len(now - old)
    assert summary.dropped == len(old - now)
    assert f"kept {summary.kept} results" in capsys.readouterr().out  # shown
    crop.grow_missing()
    counts = runs(log)
    assert set(counts) == old | now and set(counts.values()) == {1}  # once each
    ds = crop.reap()
    want = farmer.run_combos(new)  # (logs the new combos once more)
    for name in new:
        assert ds[name].values.tolist() == list(new[name])  # the order sown
    assert ds["z"].transpose(*want["z"].dims).values.tolist() == (
        want["z"].values.tolist()
    )


def test_cases_keep_the_results_of_a_grid_and_a_changed_constant_drops_them(
    tmp_path,
):
    log = tmp_path / "log"
    crop = xsweep.Crop(fn=by_value(SOURCE, "logged"), name="c", parent_dir=tmp_path)
    crop.sow_combos(FIRST, constants={"log": str(log)})
    crop.grow()
    cases = [(3, 7), (2, 5), (4, 4)]
    summary = crop.sow_cases(["x", "y"], cases, constants={"log": str(log)})
    assert (summary.kept, summary.to_compute, summary.batches) == (2, 1, 1)
    crop.grow()
    assert sum(runs(log).values()) == 7
    assert np.asarray(crop.reap(clean_up=False)).tolist() == [37, 25, 44]
    other = crop.sow_cases(["x", "y"], cases, constants={"log": str(log) + "2"})
    assert (other.kept, other.to_compute) == (0, 3)


def test_a_crop_whose_every_combo_kept_its_result_is_complete_at_once(tmp_path):
    log = tmp_path / "log"
    crop = runner(log).Crop(name="subset", parent_dir=tmp_path)
    crop.sow_combos(FIRST)
    crop.grow_missing()
    summary = crop.sow_combos({"x": [3, 1], "y": [7]})
    assert (summary.kept, summary.batches, summary.dropped) == (2, 0, 4)
    assert crop.missing_results() == () and crop.status().complete
    assert crop.status().kept_combos == 2
    crop.grow()  # nothing to do
    with pytest.raises(CropError, match="nothing to grow"):
        xsweep.grow(1, crop=crop)
    assert crop.reap()["z"].values.tolist() == [[37], [17]]
    assert sum(runs(log).values()) == 6


def test_a_kept_result_is_never_reaped_under_other_labels(tmp_path):
    log = tmp_path / "log"
    crop = runner(log).Crop(name="labels", parent_dir=tmp_path)
    crop.sow_combos(FIRST)
    crop.grow_missing()
    crop.sow_combos({"x": [0, 1, 2, 3], "y": [5, 7]})
    sow = crop._read_sow()
    assert sow.kept and sow.num_kept == 6
    # the record names other values at the kept places (same shape, same file)
    sow.combos = type(sow.combos)(["x", "y"], [[0, 3, 2, 1], [5, 7]])
    records.write(crop.layout.sow_file, "sow", sow)
    with pytest.raises(FileFormatError, match="other combos"):
        crop.reap(allow_incomplete=True)


def test_a_changed_function_drops_its_results_unless_asked(tmp_path):
    log = tmp_path / "log"
    crop = runner(log).Crop(name="code", parent_dir=tmp_path)
    crop.sow_combos(FIRST)
    crop.grow_missing()
    changed = runner(log, CHANGED).Crop(name="code", parent_dir=tmp_path)
    summary = changed.sow_combos(FIRST)
    assert (summary.kept, summary.to_compute, summary.dropped) == (0, 6, 6)
    changed.grow_missing()
    ds = changed.reap(clean_up=False)
    assert ds["z"].values.tolist() == [[105, 107], [205, 207], [305, 307]]
    assert "crop_code_versions" not in xsweep.provenance(ds)
    # back to the first code, keeping the results of the second, as asked
    first = runner(log).Crop(name="code", parent_dir=tmp_path)
    summary = first.sow_combos({"x": [1, 2, 3, 4], "y": [5, 7]}, keep_old_code=True)
    assert (summary.kept, summary.to_compute) == (6, 2)
    first.grow_missing()
    ds = first.reap()
    assert ds["z"].values.tolist() == [[105, 107], [205, 207], [305, 307], [45, 47]]
    versions = xsweep.provenance(ds)["crop_code_versions"]
    assert ": 6 combos" in versions and ": 2 combos" in versions
    assert sum(runs(log).values()) == 6 + 6 + 2


def test_retry_failed_with_a_fix_keeps_other_results_and_names_both_codes(tmp_path):
    log = tmp_path / "log"
    crop = runner(log).Crop(name="fix", parent_dir=tmp_path, batchsize=2)
    grid = {"x": [12, 13, 14], "y": [5, 7]}
    crop.sow_combos(grid)
    crop.grow_missing()
    assert crop.status().failed_combos == 2
    report = crop.retry_failed(fn=by_value(FIXED, "logged"))
    assert report.failed_combos == 0
    counts = runs(log)
    assert counts[13, 5] == counts[13, 7] == 2  # the failed ones, with the fix
    assert sum(counts.values()) == 8  # nothing else again
    ds = crop.reap()
    assert ds["z"].values.tolist() == [[125, 127], [135, 137], [145, 147]]
    versions = xsweep.provenance(ds)["crop_code_versions"]
    assert ": 4 combos" in versions and ": 2 combos" in versions
    with pytest.raises(CropError, match="nothing for retry_failed"):
        done = runner(log).Crop(name="ok", parent_dir=tmp_path)
        done.sow_combos({"x": [1], "y": [5]})
        done.grow()
        done.retry_failed(fn=by_value(FIXED, "logged"))


def test_equal_values_of_another_type_are_other_combos(tmp_path):
    source = "def half(x):\n    return x / 2 if isinstance(x, float) else x // 2\n"
    crop = xsweep.Crop(fn=by_value(source, "half"), name="types", parent_dir=tmp_path)
    crop.sow_combos({"x": [1, 2, 3]}, verbosity=0)
    crop.grow()
    again = crop.sow_combos({"x": [1, 2, 3]}, verbosity=0)
    assert (again.kept, again.to_compute) == (3, 0)
    floats = crop.sow_combos({"x": [1.0, 2.0, 3.0]}, verbosity=0)  # 1 == 1.0
    assert (floats.kept, floats.to_compute, floats.dropped) == (0, 3, 3)
    crop.grow()
    assert list(crop.reap()) == [0.5, 1.0, 1.5]


def test_a_crop_sown_by_an_earlier_xsweep_grows_and_sows_again(tmp_path):
    log = tmp_path / "log"
    crop = runner(log).Crop(name="older", parent_dir=tmp_path)
    crop.sow_combos(FIRST, verbosity=0)
    sow = crop._read_sow()
    for name in ("kept", "num_kept", "fn_parts", "code_history"):  # not there yet
        del sow.__dict__[name]
    records.write(crop.layout.sow_file, "sow", sow)
    assert crop.grow().grown  # a grower of this version reads it
    assert crop.sow_combos({"x": [1, 2, 3, 4], "y": [5, 7]}, verbosity=0).kept == 6
    crop.grow()
    assert crop.reap()["z"].values.tolist()[-1] == [45, 47]

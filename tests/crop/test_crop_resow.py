"""Invariant 2 with a side-effect counter: re-sowing reuses the results of
unchanged combos (never computing them again, whatever the batching), and
never reaps an old result under new labels, whether the combos, their
batching or the function change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from grower_procs import by_value, runs

import xsweep
from xsweep.errors import CropError, FunctionMismatchError

SOURCE = """
import os

def logged(x, y, log):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{x} {y}\\n".encode())
    finally:
        os.close(fd)
    return 10 * x + y
"""
#: the same function, but computing something else
CHANGED = SOURCE.replace("return 10 * x + y", "return 100 * x + y")

COMBOS = {"x": [0, 1, 2, 3, 4], "y": [5, 6, 7]}


def expected(combos, scale: int = 10) -> list:
    return [[scale * x + y for y in combos["y"]] for x in combos["x"]]


def make(tmp_path: Path, source: str = SOURCE, **settings) -> xsweep.Crop:
    return xsweep.Crop(
        fn=by_value(source, "logged"), name="resow", parent_dir=tmp_path, **settings
    )


def test_a_seeded_shuffle_keeps_every_result_a_changed_value_does_not_touch(
    tmp_path,
):
    log = tmp_path / "log"
    crop = make(tmp_path, shuffle=7, batchsize=2)
    crop.sow_combos(COMBOS, constants={"log": str(log)})
    crop.grow()
    assert sum(runs(log).values()) == 15
    changed = {**COMBOS, "x": [0, 1, 2, 3, 9]}  # x = 4 (flat 12..14) -> 9
    summary = crop.sow_combos(changed, constants={"log": str(log)})
    assert (summary.kept, summary.to_compute, summary.dropped) == (12, 3, 3)
    assert crop.num_sown_batches == 2  # the 3 new combos, 2 a batch
    crop.grow()
    counts = runs(log)
    assert sum(counts.values()) == 18  # only the new combos ran
    assert all(n == 1 for n in counts.values())
    assert {(9, 5), (9, 6), (9, 7)} <= set(counts)
    np.testing.assert_array_equal(np.array(crop.reap()), expected(changed))


def test_sowing_a_changed_function_recomputes_everything_with_it(tmp_path):
    log = tmp_path / "log"
    crop = make(tmp_path, batchsize=4)
    crop.sow_combos(COMBOS, constants={"log": str(log)})
    crop.grow([1, 2, 3])
    changed = make(tmp_path, CHANGED, batchsize=4)
    with pytest.raises(FunctionMismatchError, match="differs"):
        changed.grow()  # the sown function is the old one: a grower says so
    changed.sow_combos(COMBOS, constants={"log": str(log)})  # adopt the new one
    assert changed.missing_results() == (1, 2, 3, 4)  # no old result is kept
    with pytest.raises(CropError, match="no result"):
        changed.reap()
    changed.grow()
    assert sum(runs(log).values()) == 12 + 15
    np.testing.assert_array_equal(np.array(changed.reap()), expected(COMBOS, 100))


def test_rebatching_the_same_combos_keeps_results_and_never_mixes_batches(
    tmp_path,
):
    log = tmp_path / "log"
    crop = make(tmp_path, batchsize=2)
    crop.sow_combos(COMBOS, constants={"log": str(log)})
    crop.grow([1, 2, 3])  # combos 0..5
    summary = crop.sow_combos(COMBOS, constants={"log": str(log)}, batchsize=3)
    # the 6 results are kept by combo; the new batches hold the 9 others
    assert (summary.kept, summary.to_compute, summary.batches) == (6, 9, 3)
    assert crop.missing_results() == (1, 2, 3)
    crop.grow()
    np.testing.assert_array_equal(np.array(crop.reap()), expected(COMBOS))
    assert sum(runs(log).values()) == 15  # each combo exactly once


@pytest.mark.parametrize(
    "settings",
    [{"batchsize": 4}, {"num_batches": 3}, {"shuffle": 5, "batchsize": 2}, {}],
)
def test_a_crop_reopened_by_name_resows_with_its_batching_and_keeps_results(
    tmp_path, settings
):
    log = tmp_path / "log"
    combos = {"x": list(range(40)), "y": [5, 6, 7]}  # 120 combos
    crop = make(tmp_path, **settings)
    crop.sow_combos(combos, constants={"log": str(log)})
    crop.grow()
    bounds = crop._read_sow().bounds.tolist()
    # a new session: the crop opened by name (autoload), sown again the same
    reopened = xsweep.Crop(name="resow", parent_dir=tmp_path)
    reopened.sow_combos(combos, constants={"log": str(log)})
    assert reopened._read_sow().bounds.tolist() == bounds
    assert reopened.missing_results() == ()  # every result kept ...
    reopened.grow()
    assert sum(runs(log).values()) == 120  # ... none computed again
    # settings given explicitly still win (over the combos left to compute)
    more = {"x": list(range(47)), "y": [5, 6, 7]}  # 21 more combos
    reopened.sow_combos(more, constants={"log": str(log)}, num_batches=7)
    assert reopened.num_batches == 7
    assert reopened._read_sow().num_kept == 120


def test_a_reopened_runner_or_harvester_crop_keeps_labels_constants_and_file(
    tmp_path,
):
    xr = pytest.importorskip("xarray")
    log = tmp_path / "log"
    runner = xsweep.Runner(
        by_value(SOURCE, "logged"), var_names="z", constants={"log": str(log)}
    )
    harvester = xsweep.Harvester(runner, data_name=tmp_path / "h.nc")
    for farmer, name in ((runner, "run"), (harvester, "harv")):
        crop = farmer.Crop(name=name, parent_dir=tmp_path, batchsize=4)
        crop.sow_combos(COMBOS)  # the constant ``log`` comes from the Runner
        crop.grow([1, 2])
        reopened = xsweep.Crop(name=name, parent_dir=tmp_path)
        reopened.sow_combos(COMBOS)  # the same again, in a new session
        assert reopened.completed_results() == (1, 2)
        reopened.grow()
        ds = xsweep.Crop(name=name, parent_dir=tmp_path).reap()
        assert isinstance(ds, xr.Dataset)
        xr.testing.assert_equal(ds["z"], runner.run_combos(COMBOS)["z"])
    assert sum(runs(log).values()) == 2 * 15 + 2 * 15  # crops once, runs once
    from xsweep.netcdf import load_dataset

    merged = load_dataset(tmp_path / "h.nc")  # the reopened Harvester crop's
    assert merged["z"].values.tolist() == expected(COMBOS)


def test_a_reopened_crop_sown_without_its_function_keeps_results(tmp_path):
    log = tmp_path / "log"
    fn = by_value(SOURCE, "logged")
    crop = make(tmp_path, batchsize=5, save_fn=False)
    crop.sow_combos(COMBOS, constants={"log": str(log)})
    crop.grow([1], fn=fn)
    reopened = xsweep.Crop(name="resow", parent_dir=tmp_path)
    reopened.sow_combos(COMBOS)  # the same, with no function at hand
    assert reopened.completed_results() == (1,)
    with pytest.raises(FunctionMismatchError):
        reopened.grow(fn=by_value(CHANGED, "logged"))  # still checked
    reopened.grow(fn=fn)
    assert sum(runs(log).values()) == 15
    np.testing.assert_array_equal(np.array(reopened.reap()), expected(COMBOS))


@pytest.mark.parametrize(
    ("old", "new", "settings"),
    [  # batch 3 holds x = 4 both times, but at flat index 4, then 3
        ({"x": [0, 1, 2, 3, 4]}, {"x": [1, 2, 3, 4]}, {"num_batches": 3}),
        # (5, 3) is batch 1 both times, at flat index 0, then 3 (shuffled)
        (
            {"x": [5, 6, 8], "y": [3]},
            {"x": [3, 5], "y": [1, 3]},
            {"batchsize": 1, "shuffle": True},
        ),
    ],
)
def test_a_batch_of_the_same_combos_elsewhere_in_the_grid_is_not_reused_there(
    tmp_path, old, new, settings
):
    source = "def tens(x, y=0):\n    return 10 * x + y\n"
    crop = xsweep.Crop(
        fn=by_value(source, "tens"), name="moved", parent_dir=tmp_path, **settings
    )
    crop.sow_combos(old)
    crop.grow()
    crop.sow_combos(new)
    crop.grow()
    got = np.array(crop.reap(), dtype=float).reshape(-1)
    ys = new.get("y", [0])
    assert got.tolist() == [10 * x + y for x in new["x"] for y in ys]


PAUSED = SOURCE.replace(
    "    return 10 * x + y", "    time.sleep(0.01)\n    return 10 * x + y"
)
PAUSED = PAUSED.replace("import os\n", "import os\nimport time\n")


def test_sowing_again_while_growers_work_never_reaps_their_old_results(tmp_path):
    from grower_procs import finish, start_cli, wait_for

    log = tmp_path / "log"
    crop = make(tmp_path, PAUSED, batchsize=1)
    first = {"x": list(range(10)), "y": [5, 6, 7]}
    crop.sow_combos(first, constants={"log": str(log)})
    growers = [start_cli(crop.location) for _ in range(2)]
    try:
        wait_for(lambda: len(crop.completed_results()) >= 3, what="some results")
        second = {"x": list(range(5, 15)), "y": [5, 6, 7]}  # half moved, half new
        crop.sow_combos(second, constants={"log": str(log)})
        ends = finish(growers, timeout=90)
    finally:
        finish(growers, timeout=5)
    assert all(code == 0 for code, _ in ends), ends  # stopped or done: both fine
    crop.grow()  # whatever the growers left of the second sowing
    np.testing.assert_array_equal(np.array(crop.reap()), expected(second))


FLAKY = SOURCE.replace(
    "    return 10 * x + y",
    "    if os.path.exists(log + '.down') and x == 2 and y == 6:\n"
    "        raise OSError('the licence server is down')\n"
    "    return 10 * x + y",
)


@pytest.mark.parametrize("reopen", [False, True])
def test_sowing_the_same_combos_again_computes_the_failed_ones_again(tmp_path, reopen):
    # a new user's first hour: the summary said "1 to compute", and then grow
    # grew nothing and the failure stayed
    log = tmp_path / "log"
    Path(f"{log}.down").touch()
    crop = make(tmp_path, FLAKY, batchsize=4)
    crop.sow_combos(COMBOS, constants={"log": str(log)})
    report = crop.grow()
    assert report.failed_combos == 1
    Path(f"{log}.down").unlink()  # the cause is gone, the code is the same
    if reopen:
        crop = xsweep.Crop(name="resow", parent_dir=tmp_path)
    summary = crop.sow_combos(COMBOS, constants={"log": str(log)})
    assert (summary.kept, summary.to_compute) == (14, 1)
    assert "14 results, 1 to compute in 1 batch," in str(summary)
    crop.grow()
    assert crop.status().failed_combos == 0
    # the failed combo ran twice (it logs before it raises), no other again
    assert runs(log)[(2, 6)] == 2 and sum(runs(log).values()) == 16
    np.testing.assert_array_equal(np.array(crop.reap()), expected(COMBOS))

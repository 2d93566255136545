"""Sow, grow (here and in separate processes), reap: the results are right."""

from __future__ import annotations

import numpy as np
import pytest
from _functions import add, calls, logged_add, run_python

import xsweep
from xsweep.crop.crop import Crop
from xsweep.crop.entry import load_crops
from xsweep.errors import CropError

COMBOS = {"x": [0, 1, 2, 3, 4], "y": [5, 6, 7]}
EXPECTED = np.array([[x * 10 + y for y in COMBOS["y"]] for x in COMBOS["x"]])


def test_separate_python_processes_grow_then_reap_equals_direct_results(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=4)
    crop.sow_combos(COMBOS)
    assert crop.missing_results() == (1, 2, 3, 4)
    for batch in (1, 3):
        run_python(
            "import xsweep; "
            f"c = xsweep.Crop(name='add', parent_dir={str(tmp_path)!r}); "
            f"xsweep.grow({batch}, crop=c)"
        )
    assert crop.missing_results() == (2, 4)
    assert crop.completed_results() == (1, 3)
    run_python(f"import xsweep; xsweep.grow(crop={crop.location!r})")  # pull mode
    assert crop.missing_results() == ()
    np.testing.assert_array_equal(np.array(crop.reap()), EXPECTED)


def test_growing_imports_no_xarray_pandas_or_matplotlib(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    out = run_python(
        "import sys, xsweep; "
        f"c = xsweep.Crop(name='add', parent_dir={str(tmp_path)!r}); "
        "xsweep.grow(2, crop=c); "
        "print(sorted(m for m in ('xarray', 'pandas', 'matplotlib') "
        "if m in sys.modules))"
    )
    assert out.strip() == "[]"
    assert crop.completed_results() == (2,)


def test_cases_and_shuffled_batches_reap_in_their_own_order(tmp_path):
    crop = Crop(fn=add, name="cases", parent_dir=tmp_path, batchsize=2)
    cases = [(3, 1), (1, 2), (2, 2)]
    crop.sow_cases(["x", "y"], cases)
    crop.grow()
    assert crop.reap() == (31, 12, 22)

    shuffled = Crop(fn=add, name="shuffled", parent_dir=tmp_path, shuffle=7)
    shuffled.sow_combos(COMBOS, batchsize=4)
    runs = [shuffled._read_sow().runs(b) for b in range(1, 5)]
    assert sorted(i for r in runs for a, b in r for i in range(a, b)) == list(range(15))
    assert runs[0] != [(0, 4)]  # really shuffled
    shuffled.grow()
    np.testing.assert_array_equal(np.array(shuffled.reap()), EXPECTED)


def test_grow_missing_on_local_workers_and_an_executor(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    log = str(tmp_path / "log")
    crop = Crop(fn=logged_add, parent_dir=tmp_path, batchsize=2)
    crop.sow_combos(COMBOS, constants={"log": log})
    report = crop.grow_missing(num_workers=2)
    assert sorted(report.grown) == list(range(1, 9))
    assert len(calls(log)) == 15  # each combo once
    np.testing.assert_array_equal(np.array(crop.reap()), EXPECTED)

    crop2 = Crop(fn=logged_add, name="ex", parent_dir=tmp_path, batchsize=2)
    crop2.sow_combos(COMBOS, constants={"log": log + "2"})
    with ThreadPoolExecutor(3) as ex:
        crop2.grow_missing(executor=ex)
    assert len(calls(log + "2")) == 15
    np.testing.assert_array_equal(np.array(crop2.reap()), EXPECTED)


def test_default_batching_keeps_file_counts_sane(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path)
    crop.sow_combos({"x": range(500), "y": range(200)})  # 1e5 combos
    assert crop.num_batches == 1000 and crop.batchsize == 100
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 2  # the sow record and the function
    small = Crop(fn=add, name="small", parent_dir=tmp_path)
    small.sow_combos({"x": range(30), "y": range(10)})
    assert small.num_batches == 300 and small.batchsize == 1


def test_compacting_merges_results_into_one_file_and_reaps_the_same(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=1)
    crop.sow_combos(COMBOS)
    crop.grow()
    results_dir = tmp_path / ".xyz-add" / "results"
    assert len(list(results_dir.iterdir())) == 15
    assert crop.compact() == 15
    assert len(list(results_dir.iterdir())) == 1
    assert crop.missing_results() == ()
    np.testing.assert_array_equal(np.array(crop.reap()), EXPECTED)


def test_reap_partial_then_again_after_clean_up(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, batchsize=3)
    crop.sow_combos(COMBOS)
    crop.grow([1, 2])
    with pytest.raises(CropError, match="3 of 5 batches have no result"):
        crop.reap()
    partial = np.array(crop.reap(allow_incomplete=True), dtype=float)
    np.testing.assert_array_equal(partial[:2], EXPECTED[:2])
    assert np.isnan(partial[2:]).all()
    assert crop.is_prepared()  # a partial reap never cleans up
    crop.grow()
    first = crop.reap()
    assert not crop.is_prepared()  # cleaned up after saving
    again = Crop(name="add", parent_dir=tmp_path).reap()
    assert again == first
    np.testing.assert_array_equal(np.array(again), EXPECTED)


def test_reap_wait_gives_up_after_its_timeout(tmp_path):
    from xsweep.errors import CropTimeoutError

    crop = Crop(fn=add, parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    with pytest.raises(CropTimeoutError, match="15 batches are still missing"):
        crop.reap(wait=True, timeout=0.2)


def test_load_crops_finds_every_crop(tmp_path):
    Crop(fn=add, parent_dir=tmp_path).sow_combos(COMBOS)
    Crop(fn=add, name="other", parent_dir=tmp_path).sow_combos({"x": [1], "y": [2]})
    crops = load_crops(tmp_path)
    assert sorted(crops) == ["add", "other"]
    assert crops["other"].num_batches == 1
    assert "add" in repr(crops["add"])


def test_module_level_grow_needs_a_sown_crop(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path)
    with pytest.raises(CropError, match=r"has not been sown .*sow_combos"):
        xsweep.grow(1, crop=crop)
    crop.sow_combos(COMBOS)
    with pytest.raises(CropError, match="there is no batch 99"):
        xsweep.grow(99, crop=crop)


def test_resowing_shuffled_combos_gives_the_same_batches_and_keeps_results(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path, shuffle=True, batchsize=4)
    crop.sow_combos(COMBOS)
    runs = [crop._read_sow().runs(b) for b in range(1, 5)]
    crop.grow([1, 2])
    crop.sow_combos(COMBOS)
    assert [crop._read_sow().runs(b) for b in range(1, 5)] == runs
    assert crop.completed_results() == (1, 2)

"""Harvester: every run merged into one file, with overwrite and skip semantics."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from xsweep import Harvester, Runner
from xsweep.errors import MergeConflictError
from xsweep.netcdf import load_dataset

CALLS: list[tuple] = []


def product(a, b, shift=0.0):
    CALLS.append((a, b))
    return a * b + shift, a > b


@pytest.fixture
def harvester(tmp_path):
    CALLS.clear()
    return Harvester(Runner(product, ["p", "gt"]), data_name=tmp_path / "h.nc")


def test_runs_merge_into_one_file(harvester, tmp_path):
    harvester.harvest_combos({"a": [1, 2], "b": [1, 2]})
    harvester.harvest_combos({"a": [3], "b": [1, 2, 3]})
    assert harvester.last_ds.a.values.tolist() == [3]
    fresh = Harvester(harvester.runner, data_name=tmp_path / "h.nc")
    full = fresh.full_ds
    assert full.a.values.tolist() == [1, 2, 3] and full.b.values.tolist() == [1, 2, 3]
    assert float(full.p.sel(a=3, b=3)) == 9.0
    assert full.p.sel(a=1, b=3).isnull()
    xr.testing.assert_identical(full, harvester.full_ds)


def counts(a, b):
    return a * b, a > b


def test_integer_and_boolean_outputs_keep_their_type_when_nothing_is_missing(
    tmp_path,
):
    # a new user's finding: merging two complete runs turned int64 into float64
    harvester = Harvester(Runner(counts, ["n", "gt"]), data_name=tmp_path / "h.nc")
    harvester.harvest_combos({"a": [1, 2], "b": [1, 2, 3]})
    harvester.harvest_combos({"a": [3], "b": [1, 2, 3]})
    full = load_dataset(tmp_path / "h.nc")
    assert (full.n.dtype, full.gt.dtype) == (np.dtype("int64"), np.dtype(bool))
    assert full.n.values.tolist() == [[1, 2, 3], [2, 4, 6], [3, 6, 9]]
    harvester.harvest_combos({"a": [4], "b": [4]})  # now with holes: NaN, float
    full = load_dataset(tmp_path / "h.nc")
    assert full.n.dtype.kind == "f" and int(full.n.isnull().sum()) == 6


def test_clash_raises_and_keeps_file(harvester):
    harvester.harvest_combos({"a": [1, 2], "b": [1]})
    before = load_dataset(harvester.data_name)
    with pytest.raises(MergeConflictError, match=r"'p'.*overwrite=True"):
        harvester.harvest_combos({"a": [2], "b": [1]}, constants={"shift": 0.5})
    xr.testing.assert_identical(load_dataset(harvester.data_name), before)


@pytest.mark.parametrize(("overwrite", "expected"), [(True, 2.5), (False, 2.0)])
def test_overwrite_true_new_wins_false_old_wins(harvester, overwrite, expected):
    harvester.harvest_combos({"a": [1, 2], "b": [1]})
    harvester.harvest_combos(
        {"a": [2, 3], "b": [1]}, constants={"shift": 0.5}, overwrite=overwrite
    )
    p = load_dataset(harvester.data_name).p
    assert p.values[:, 0].tolist() == [1.0, expected, 3.5]


def test_identical_rerun_merges_without_clash(harvester):
    harvester.harvest_combos({"a": [1, 2], "b": [1]})
    harvester.harvest_combos({"a": [1, 2], "b": [1]})
    assert harvester.full_ds.p.values.tolist() == [[1.0], [2.0]]


def test_skip_existing_runs_only_missing_combos(harvester):
    harvester.harvest_combos({"a": [1, 2], "b": [1, 2]})
    CALLS.clear()
    harvester.harvest_combos({"a": [1, 2, 3], "b": [1, 2]}, skip_existing=True)
    assert sorted(CALLS) == [(3, 1), (3, 2)]
    CALLS.clear()
    assert harvester.harvest_combos({"a": [1, 3], "b": [2]}, skip_existing=True) is None
    assert CALLS == []
    assert harvester.full_ds.p.values.tolist() == [[1, 2], [2, 4], [3, 6]]


def test_skip_existing_reruns_failed_combos(tmp_path):
    harvester = Harvester(Runner(flaky, "x"), data_name=tmp_path / "f.nc")
    LIMIT[0] = 2  # a = 3 fails the first time
    harvester.harvest_combos({"a": [1, 2, 3]}, on_error="record")
    assert "xsweep_failures" in harvester.full_ds.attrs
    CALLS.clear()
    LIMIT[0] = 3
    harvester.harvest_combos({"a": [1, 2, 3]}, skip_existing=True)
    assert CALLS == [(3,)]
    full = load_dataset(tmp_path / "f.nc")
    assert full.x.values.tolist() == [1.0, 2.0, 3.0]
    assert "xsweep_failures" not in full.attrs


LIMIT = [0]


def flaky(a):
    CALLS.append((a,))
    if a > LIMIT[0]:
        raise RuntimeError("not yet")
    return float(a)


def test_results_of_another_constant_value_are_refused(harvester):
    harvester.harvest_combos({"a": [1], "b": [1]}, constants={"shift": 0.0})
    with pytest.raises(MergeConflictError, match=r"constant 'shift' is 0.0.*but 1.0"):
        harvester.harvest_combos({"a": [2], "b": [1]}, constants={"shift": 1.0})
    harvester.harvest_combos({"a": [2], "b": [1]}, constants={"shift": 0.0})
    assert harvester.full_ds.attrs["shift"] == 0.0


def test_harvest_cases_and_in_memory_harvester():
    harvester = Harvester(Runner(product, ["p", "gt"], fn_args=["a", "b"]))
    harvester.harvest_cases([(1, 2), (3, 4)])
    harvester.harvest_cases([{"a": 5, "b": 6}])
    full = harvester.full_ds
    assert full.a.values.tolist() == [1, 3, 5]
    assert float(full.p.sel(a=5, b=6)) == 30 and full.p.sel(a=5, b=2).isnull()


def test_delete_ds_with_backup(harvester, tmp_path):
    harvester.harvest_combos({"a": [1], "b": [1]})
    harvester.delete_ds(backup=True)
    assert not (tmp_path / "h.nc").exists()
    backups = list(tmp_path.glob("h.nc.BAK-*"))
    assert len(backups) == 1
    assert load_dataset(backups[0]).p.item() == 1.0
    assert harvester.full_ds is None


def test_chunks_give_lazy_full_ds(tmp_path):
    harvester = Harvester(
        Runner(product, ["p", "gt"]), data_name=tmp_path / "c.nc", chunks={"a": 1}
    )
    harvester.harvest_combos({"a": [1, 2], "b": [1.0]})
    assert harvester.full_ds.p.chunks is not None
    np.testing.assert_array_equal(harvester.full_ds.p.values, [[1.0], [2.0]])


def test_skip_existing_with_a_new_dimension_runs_everything(harvester):
    harvester.harvest_combos({"a": [1, 2], "b": [1]})
    CALLS.clear()
    harvester.harvest_cases([(1, 1), (2, 5)], fn_args=["a", "b"], skip_existing=True)
    assert CALLS == [(2, 5)]


MERGER = """
import sys
import numpy as np, xarray as xr
from xsweep.merging import merge_into
path, first = sys.argv[1], int(sys.argv[2])
for a in range(first, first + 8):
    merge_into(path, xr.Dataset({"x": ("a", [float(a)])}, coords={"a": [a]}))
"""


def test_concurrent_merges_into_one_file_lose_nothing(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "merger.py"
    script.write_text(MERGER)
    path = tmp_path / "shared.nc"
    env = {**__import__("os").environ, "XSWEEP_FSYNC": "0"}
    procs = [
        subprocess.Popen([sys.executable, str(script), str(path), str(first)], env=env)
        for first in (0, 100)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    full = load_dataset(path)
    expected = list(range(8)) + list(range(100, 108))
    assert full.a.values.tolist() == expected
    assert full.x.values.tolist() == [float(a) for a in expected]

"""Saving, loading and merging datasets: lossless, atomic, with clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

from xsweep.errors import FileFormatError, MergeConflictError
from xsweep.merging import merge_datasets, merge_into
from xsweep.netcdf import load_dataset, save_dataset


def every_kind() -> xr.Dataset:
    rng = np.random.default_rng(0)
    return xr.Dataset(
        {
            "real": (("a", "b"), rng.normal(size=(2, 3))),
            "with_nan": (("a", "b"), [[1.0, np.nan, 3.0], [np.nan, 5.0, 6.0]]),
            "integer": (("a", "b"), np.arange(6).reshape(2, 3)),
            "complex": (("a", "b", "t"), rng.normal(size=(2, 3, 4)) * (1 + 2j)),
            "complex_nan": ("a", [1 + 1j, complex(np.nan, np.nan)]),
            "boolean": (("a", "b"), [[True, False, True], [False, False, True]]),
            "text": ("b", ["x", "yy", "zzz"]),
        },
        coords={"a": [1, 2], "b": ["p", "q", "r"], "t": np.linspace(0, 1, 4)},
        attrs={
            "flag": True,
            "nothing": None,
            "numbers": [1, 2, 3],
            "nested": {"x": 1, "y": [1.5, "s"]},
            "count": 3,
            "label": "hello",
            "scale": 0.5,
        },
    )


def test_round_trip_keeps_every_output_kind(tmp_path):
    ds = every_kind()
    path = tmp_path / "d.nc"
    save_dataset(ds, path)
    back = load_dataset(path)
    xr.testing.assert_identical(back, ds)
    assert back["complex"].dtype == np.complex128
    assert back["boolean"].dtype == bool
    assert back.attrs == ds.attrs


def test_lazy_load_decodes_complex(tmp_path):
    ds = every_kind()
    save_dataset(ds, tmp_path / "d.nc")
    lazy = load_dataset(tmp_path / "d.nc", chunks={})
    assert lazy["complex"].chunks is not None
    xr.testing.assert_equal(lazy["complex"].compute(), ds["complex"])


def test_unreadable_file_says_where_and_what_to_do(tmp_path):
    path = tmp_path / "broken.nc"
    save_dataset(every_kind(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(FileFormatError, match=r"broken\.nc.*delete it"):
        load_dataset(path)


def test_python_objects_are_refused_with_a_fix(tmp_path):
    ds = xr.Dataset({"obj": ("a", np.array([{"x": 1}, None], dtype=object))})
    with pytest.raises(FileFormatError, match="'obj' holds Python objects"):
        save_dataset(ds, tmp_path / "o.nc")
    assert not list(tmp_path.iterdir())


def grid(a, values, name="x"):
    return xr.Dataset({name: ("a", np.asarray(values, dtype=float))}, coords={"a": a})


def test_merge_takes_the_union_and_nan_never_clashes():
    old = grid([1, 2, 3], [1.0, np.nan, 3.0])
    new = grid([2, 3, 4], [2.0, 3.0, 4.0])
    merged = merge_datasets(old, new)
    assert merged.x.values.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_merge_conflict_names_variable_coordinate_and_fix():
    old = grid([1, 2], [1.0, 2.0])
    new = grid([2, 3], [5.0, 3.0])
    with pytest.raises(MergeConflictError) as info:
        merge_datasets(old, new)
    message = str(info.value)
    assert "'x'" in message and "a=2" in message and "saved 2.0, new 5.0" in message
    assert "overwrite=True" in message


@pytest.mark.parametrize(("overwrite", "expected"), [(True, 5.0), (False, 2.0)])
def test_merge_overwrite_picks_new_or_old(overwrite, expected):
    old = grid([1, 2], [1.0, 2.0])
    new = grid([2, 3], [5.0, 3.0])
    merged = merge_datasets(old, new, overwrite=overwrite)
    assert merged.x.values.tolist() == [1.0, expected, 3.0]


def test_merge_into_file_keeps_old_file_on_conflict(tmp_path):
    path = tmp_path / "m.nc"
    merge_into(path, grid([1, 2], [1.0, 2.0]))
    before = path.read_bytes()
    with pytest.raises(MergeConflictError, match=r"m\.nc"):
        merge_into(path, grid([2], [9.0]))
    assert path.read_bytes() == before
    merge_into(path, grid([2, 3], [9.0, 3.0]), overwrite=True)
    assert load_dataset(path).x.values.tolist() == [1.0, 9.0, 3.0]


def test_failure_records_merge_and_drop_once_filled(tmp_path):
    def record(a):
        return {"index": 0, "combo": {"a": a}, "exc_type": "ValueError"}

    old = grid([1, 2], [1.0, np.nan])
    old.attrs["xsweep_failures"] = json.dumps([record(2)])
    new = grid([3], [np.nan])
    new.attrs["xsweep_failures"] = json.dumps([record(3)])
    merged = merge_datasets(old, new)
    assert [r["combo"]["a"] for r in json.loads(merged.attrs["xsweep_failures"])] == [
        2,
        3,
    ]
    fixed = merge_datasets(merged, grid([2, 3], [2.0, 3.0]))
    assert "xsweep_failures" not in fixed.attrs


SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np, xarray as xr
    from xsweep.netcdf import save_dataset
    path = sys.argv[1]
    base = np.ones((200, 1000))
    for i in range(1, 10**6):
        k = i % 3 + 1
        ds = xr.Dataset({"x": (("a", "b"), base * k)}, attrs={"version": k})
        print("saving", k, flush=True)
        save_dataset(ds, path)
    """
)


def test_kill_while_saving_never_leaves_a_broken_file(tmp_path):
    """SIGKILL a process that saves 1.6 MB datasets in a loop, at random moments."""
    path = tmp_path / "big.nc"
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    rng = np.random.default_rng(1)
    env = {**os.environ, "XSWEEP_FSYNC": "0"}
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            target = int(rng.integers(2, 6))
            seen = 0
            while seen < target:  # kill right after a save has started
                line = proc.stdout.readline()
                assert line, "saver exited early"
                seen += line.startswith("saving")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        ds = load_dataset(path)
        k = ds.attrs["version"]
        assert k in (1, 2, 3)
        np.testing.assert_array_equal(ds.x.values, np.full((200, 1000), float(k)))

"""The direct netCDF writer writes the file xarray's ``to_netcdf`` writes.

Each dataset is saved twice, once by :func:`xsweep.ncwrite.write_plain` and
once by ``to_netcdf``, and the two files are compared through the netCDF4
library itself (data model, dimensions, every variable's type, dimensions,
storage, filters, attributes and raw values), then read back by xarray.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from xsweep import ncwrite
from xsweep.netcdf import _encode, load_dataset, save_dataset


def describe(path: Path) -> list:
    """Everything a reader can see in a netCDF file, raw (no masking or scaling)."""
    out = []
    with netCDF4.Dataset(path) as nc:
        out.append(("model", nc.data_model, nc.disk_format))
        out.append([(d.name, len(d), d.isunlimited()) for d in nc.dimensions.values()])
        out.append([(k, repr(nc.getncattr(k))) for k in nc.ncattrs()])
        for name, var in nc.variables.items():
            var.set_auto_maskandscale(False)
            var.set_auto_chartostring(False)
            values = var[...]
            out.append(
                (
                    name,
                    str(var.dtype),
                    var.dimensions,
                    var.chunking(),
                    var.filters(),
                    var.endian(),
                    [(k, repr(var.getncattr(k))) for k in var.ncattrs()],
                    repr(np.asarray(values).tolist()),
                )
            )
    return out


def sweep_like() -> xr.Dataset:
    """What a sweep gives: numbers, booleans, strings, NaN, JSON attributes."""
    rng = np.random.default_rng(1)
    return xr.Dataset(
        {
            "f8": (("x", "s"), rng.normal(size=(3, 2))),
            "nan": (("x",), [1.0, np.nan, 3.0]),
            "f4": (("x",), np.arange(3, dtype="f4")),
            "i8": (("x", "s"), np.arange(6).reshape(3, 2)),
            "i4": (("x",), np.arange(3, dtype="i4")),
            "u1": (("x",), np.arange(3, dtype="u1")),
            "b": (("x",), [True, False, True]),
            "text": (("s",), np.array(["p", "qq"], dtype=object)),
            "unicode": (("x",), ["\u00e9", "bb", ""]),
            "complex": (("x",), [1 + 2j, 3j, np.nan]),
            "scalar": ((), 2.5),
            "with_attrs": (("x",), [1, 2, 3], {"note": "n", "scale": 0.5}),
        },
        coords={
            "x": [1.5, 2.5, 3.5],
            "s": np.array(["a", "b"], dtype=object),
            "t": ("t", np.arange(4, dtype="i4")),
        },
        attrs={
            "count": 3,
            "label": "hello",
            "ratio": 0.25,
            "numbers": np.array([1, 2, 3]),
            "flag": True,
            "nested": {"a": [1, "b"]},
            "xsweep_failures": json.dumps([{"combo": {"x": 1.5}}]),
        },
    )


def test_same_file_as_to_netcdf(tmp_path):
    encoded = _encode(sweep_like())
    ours, theirs = tmp_path / "ours.nc", tmp_path / "theirs.nc"
    assert ncwrite.write_plain(encoded, ours)
    encoded.to_netcdf(theirs, engine="netcdf4")
    assert describe(ours) == describe(theirs)
    xr.testing.assert_identical(xr.load_dataset(ours), xr.load_dataset(theirs))


def test_labelled_sweep_round_trips_through_the_direct_writer(tmp_path):
    import xsweep

    def f(x, y):
        return x * y, x > 1, f"{x}-{y}"

    runner = xsweep.Runner(f, var_names=["p", "big", "tag"])
    ds = runner.run_combos({"x": [1, 2, 3], "y": [0.5, 1.5]})
    assert ncwrite.plain_variables(_encode(ds)) is not None
    save_dataset(ds, tmp_path / "d.nc")
    back = load_dataset(tmp_path / "d.nc")
    xr.testing.assert_identical(back, ds)
    theirs = tmp_path / "theirs.nc"
    _encode(ds).to_netcdf(theirs, engine="netcdf4")
    assert describe(tmp_path / "d.nc") == describe(theirs)


@pytest.mark.parametrize(
    "change",
    [
        "dates",
        "non_dimension_coordinate",
        "encoding",
        "reserved_attribute",
        "float16",
        "bytes",
        "empty_dimension",
        "none_in_strings",
        "dask",
    ],
)
def test_anything_else_is_left_to_xarray(tmp_path, change):
    ds = xr.Dataset({"v": ("x", [1.0, 2.0])}, coords={"x": [0, 1]})
    if change == "dates":
        ds["v"] = ("x", np.array(["2020-01-01", "2020-01-02"], dtype="M8[ns]"))
    elif change == "non_dimension_coordinate":
        ds = ds.assign_coords(label=("x", [5, 6]))
    elif change == "encoding":
        ds["v"].encoding["zlib"] = True
    elif change == "reserved_attribute":
        ds["v"].attrs["units"] = "days since 2000-01-01"
    elif change == "float16":
        ds["v"] = ds["v"].astype("f2")
    elif change == "bytes":
        ds["v"] = ("x", np.array([b"a", b"b"]))
    elif change == "empty_dimension":
        ds = ds.isel(x=slice(0, 0))
    elif change == "none_in_strings":
        ds["v"] = ("x", np.array(["a", None], dtype=object))
    elif change == "dask":
        pytest.importorskip("dask.array")
        ds = ds.chunk()
    assert ncwrite.plain_variables(ds) is None
    assert not ncwrite.write_plain(ds, tmp_path / "never.nc")
    assert not (tmp_path / "never.nc").exists()
    if change not in ("none_in_strings", "float16"):  # xarray itself refuses these
        save_dataset(ds, tmp_path / "d.nc")  # through to_netcdf: the same file
        _encode(ds).to_netcdf(tmp_path / "theirs.nc", engine="netcdf4")
        assert describe(tmp_path / "d.nc") == describe(tmp_path / "theirs.nc")


REAP = """
import sys
import xarray, pandas
import xsweep

def add(x, y):
    return x + y

crop = xsweep.Runner(add, var_names="z").Crop(name="c", parent_dir=sys.argv[1])
crop.sow_combos({"x": [1, 2, 3], "y": [0.5, 1.5]}, verbosity=0)
crop.grow_missing()
ds = crop.reap()
print(sorted(m for m in ("dask.array", "distributed") if m in sys.modules))
assert ds["z"].values.tolist() == [[1.5, 2.5], [2.5, 3.5], [3.5, 4.5]]
"""


def test_reap_in_a_fresh_process_imports_neither_dask_array_nor_distributed(
    tmp_path,
):
    """(each costs 0.1 to 0.5 s in a fresh process; a reap needs neither)"""
    done = subprocess.run(
        [sys.executable, "-c", REAP, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

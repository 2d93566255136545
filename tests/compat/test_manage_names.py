"""xyzpy's save / load helpers and file engines, under their xyzpy names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xsweep as xyz
from xsweep.errors import MergeConflictError, XsweepError


def sample_ds() -> xr.Dataset:
    return xr.Dataset(
        {"z": (("x",), np.array([1 + 2j, 3 - 1j])), "ok": (("x",), [True, False])},
        coords={"x": [1, 2]},
        attrs={"note": "n"},
    )


@pytest.mark.parametrize("engine", [None, "h5netcdf", "netcdf4", "joblib"])
def test_save_ds_load_ds_round_trip_every_engine(tmp_path, engine):
    name = tmp_path / "res"  # no extension: the engine's is added, as xyzpy does
    xyz.save_ds(sample_ds(), name, engine=engine)
    assert len(list(tmp_path.iterdir())) == 1
    back = xyz.load_ds(name, engine=engine)
    assert back.identical(sample_ds())


def test_zarr_and_unknown_engines_are_refused_with_the_alternative(tmp_path):
    with pytest.raises(ValueError, match=r"atomically.*engine='netcdf4'"):
        xyz.save_ds(sample_ds(), tmp_path / "a.zarr", engine="zarr")
    with pytest.raises(ValueError, match="unknown file engine 'hdf9'"):
        xyz.Harvester(xyz.Runner(lambda x: x, "y"), tmp_path / "h.nc", engine="hdf9")
    assert not list(tmp_path.iterdir())


def test_load_ds_create_new_and_lazy(tmp_path):
    assert xyz.load_ds(tmp_path / "none.h5", create_new=True).identical(xr.Dataset())
    xyz.save_ds(sample_ds(), tmp_path / "a.nc")
    lazy = xyz.load_ds(tmp_path / "a.nc", chunks=1)
    assert lazy["ok"].chunks is not None
    lazy.close()


def test_save_merge_ds_merges_and_refuses_clashes_untouched(tmp_path):
    path = tmp_path / "m.nc"
    a = xr.Dataset({"y": ("x", [1.0, 2.0])}, coords={"x": [1, 2]})
    b = xr.Dataset({"y": ("x", [3.0])}, coords={"x": [3]})
    xyz.save_merge_ds(a, path)
    xyz.save_merge_ds(b, path)
    assert xyz.load_ds(path)["y"].values.tolist() == [1.0, 2.0, 3.0]
    clash = xr.Dataset({"y": ("x", [9.0])}, coords={"x": [1]})
    with pytest.raises(MergeConflictError):
        xyz.save_merge_ds(clash, path)
    xyz.save_merge_ds(clash, path, overwrite=True)
    assert xyz.load_ds(path)["y"].values.tolist() == [9.0, 2.0, 3.0]
    other = tmp_path / "o.nc"
    xyz.save_ds(b, other)
    merged = xyz.load_merge_ds([tmp_path / "m.nc", other])
    assert merged["y"].values.tolist() == [9.0, 2.0, 3.0]


@pytest.mark.parametrize("engine", ["pickle", "csv"])
def test_save_df_load_df(tmp_path, engine):
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    xyz.save_df(df, tmp_path / "d", engine=engine)
    pd.testing.assert_frame_equal(xyz.load_df(tmp_path / "d", engine=engine), df)


def test_xyzerror_is_the_base_of_xsweeps_errors():
    assert xyz.XYZError is XsweepError
    with pytest.raises(xyz.XYZError):
        xyz.Crop(name="no-such-crop", parent_dir="/nonexistent-dir").reap()

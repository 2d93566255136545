"""Write a plain in-memory dataset with the netCDF4 library, as xarray would.

Why not ``Dataset.to_netcdf``: whenever dask is installed, xarray's writer asks
dask which scheduler is active (twice), which imports ``dask.distributed``, and
its encoders wrap every array in a new ``Variable``, which imports
``dask.array``: in a fresh process that is 0.2 to 0.5 s before the first byte
is written, several times the cost of reaping a 1e5-combo crop.

:func:`write_plain` writes the same file as xarray 2026.9's ``to_netcdf(path,
engine="netcdf4")`` (same data model, dimensions in the same order, the same
variable types, attributes, ``_FillValue`` and storage layout;
``tests/test_ncwrite.py`` compares the two files variable by variable) for the
datasets a sweep produces: numpy-backed numbers, booleans and strings, every
coordinate a dimension coordinate, nothing in ``encoding``. For anything else
(dask arrays, dates, non-dimension coordinates, encodings, reserved
attributes, ...) it returns ``False`` without touching the file, and
:func:`xsweep.netcdf.save_dataset` uses ``to_netcdf``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

#: Variable attributes that xarray's encoders read or write themselves.
_RESERVED = {"dtype", "coordinates", "units", "calendar", "missing_value"}


def plain_variables(ds: xr.Dataset) -> list[tuple[str, Any, np.ndarray, dict]] | None:
    """``(name, dims, values, attrs)`` of every variable to write, or ``None``.

    ``None`` when ``ds`` holds anything :func:`write_plain` does not write
    exactly as xarray does (see the module docstring).
    """
    if ds.encoding or not all(_plain_attr_name(k) for k in ds.attrs):
        return None
    out = []
    for name, var in ds.variables.items():
        if not (isinstance(name, str) and name and "/" not in name):
            return None
        if var.encoding or var.chunks is not None:
            return None
        if name in ds.coords and var.dims != (name,):
            return None  # a non-dimension coordinate: xarray lists it in attrs
        if any(not _plain_attr_name(k) or k in _RESERVED for k in var.attrs):
            return None
        if any(size == 0 for size in var.shape):
            return None  # netCDF4 takes a dimension of length 0 as unlimited
        values = var.values
        if not isinstance(values, np.ndarray) or not values.dtype.isnative:
            return None
        kind = values.dtype.kind
        if kind == "U" or (
            kind == "O" and all(isinstance(v, str) for v in values.flat)
        ):
            values = values.astype(object)
        elif kind not in "biuf" or values.dtype.itemsize < (4 if kind == "f" else 1):
            return None
        out.append((name, var.dims, values, dict(var.attrs)))
    return out


def _all_strings(values: np.ndarray) -> bool:
    return all(isinstance(v, str) for v in values.flat)


def _plain_attr_name(key: Any) -> bool:
    return isinstance(key, str) and bool(key) and not key.startswith("_")


@contextlib.contextmanager
def _xarray_locks() -> Iterator[None]:
    """Hold the locks xarray holds around the netCDF and HDF5 libraries."""
    try:
        from xarray.backends.locks import HDF5_LOCK, NETCDFC_LOCK
    except ImportError:  # pragma: no cover - an xarray without them
        yield
        return
    with NETCDFC_LOCK, HDF5_LOCK:
        yield


def write_plain(ds: xr.Dataset, path: str | os.PathLike) -> bool:
    """Write ``ds`` to the new file ``path`` if it is plain; whether it did.

    Parameters
    ----------
    ds : xarray.Dataset
        Already encoded by :mod:`xsweep.netcdf` (complex split, attributes
        made native).
    path : str or os.PathLike
        A temporary path (the caller renames it into place once flushed).
    """
    variables = plain_variables(ds)
    if variables is None:
        return False
    import netCDF4

    with _xarray_locks():
        nc = netCDF4.Dataset(os.fspath(path), mode="w", format="NETCDF4")
        try:
            for key, value in ds.attrs.items():
                nc.setncattr(key, value)
            for _, dims, values, _ in variables:
                for dim, size in zip(dims, values.shape, strict=True):
                    if dim not in nc.dimensions:
                        nc.createDimension(dim, size)
            for name, dims, values, attrs in variables:
                _write_variable(nc, name, dims, values, attrs)
        finally:
            nc.close()
    return True


def _write_variable(nc: Any, name: str, dims: Any, values: np.ndarray, attrs: dict):
    """One variable, with xarray's defaults for its type."""
    kind = values.dtype.kind
    fill = None
    if kind == "b":
        values = values.astype(np.int8)
        attrs = {**attrs, "dtype": "bool"}
    elif kind == "f":
        fill = values.dtype.type(np.nan)
    datatype = str if kind in "OU" else values.dtype
    var = nc.createVariable(
        varname=name, datatype=datatype, dimensions=dims, zlib=False,
        complevel=4, shuffle=True, fletcher32=False, contiguous=False,
        chunksizes=None, endian="native", least_significant_digit=None,
        fill_value=fill,
    )  # fmt: skip
    var.setncatts(attrs)
    var.set_auto_maskandscale(False)
    var.set_auto_chartostring(False)
    var[...] = values

"""Save and load datasets on disk: atomically, losslessly, with clear errors.

Merging saved and new results is :mod:`xsweep.merging`.

Every file goes through :func:`xsweep.atomic.atomic_path`: a process killed while
saving leaves the previous complete file (or none), never a truncated one.

netCDF cannot hold everything a sweep produces, so :func:`save_dataset` encodes
and :func:`load_dataset` decodes:

- complex variables become float variables with a trailing dimension
  ``xsweep_complex`` of length 2 (real, imaginary) and the attribute
  ``xsweep_complex = 1``;
- booleans are stored by xarray as ``int8`` and come back as ``bool``;
- attributes that netCDF cannot store (``bool``, ``None``, lists, dicts, ...)
  are stored as JSON strings, their names listed in the attribute
  ``xsweep_json_attrs``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import provenance_record
from .atomic import PathLike, atomic_path
from .errors import FileFormatError
from .file_engines import PICKLE_ENGINE, check_engine, load_pickled, save_pickled
from .ncwrite import write_plain

if TYPE_CHECKING:
    import xarray as xr

DEFAULT_ENGINE = "netcdf4"
COMPLEX_DIM = "xsweep_complex"
COMPLEX_ATTR = "xsweep_complex"
JSON_ATTRS = "xsweep_json_attrs"
FAILURES_ATTR = "xsweep_failures"
CONSTANTS_ATTR = "xsweep_constants"
NONE_ATTR = "xsweep_none_at"  # flat indices of None in a string variable


# ----------------------------------------------------------------- encoding --


def _native_attr(value: Any) -> bool:
    """Whether netCDF stores ``value`` as an attribute and gives it back as is."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return True
    return (
        isinstance(value, np.ndarray)
        and value.ndim == 1
        and value.size > 1
        and value.dtype.kind in "iuf"
    )


def _encode_attrs(attrs: dict) -> dict:
    out, as_json = {}, []
    for key, value in attrs.items():
        if key == JSON_ATTRS:
            continue
        if _native_attr(value):
            out[key] = value
        else:
            out[key] = json.dumps(_jsonable(value))
            as_json.append(key)
    if as_json:
        out[JSON_ATTRS] = json.dumps(as_json)
    return out


def _decode_attrs(attrs: dict) -> dict:
    out = dict(attrs)
    for key in json.loads(out.pop(JSON_ATTRS, "[]")):
        if key in out:
            out[key] = json.loads(out[key])
    return out


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (numpy scalars and arrays unwrapped)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, complex):
        return repr(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return repr(value)


def _encode(ds: xr.Dataset) -> xr.Dataset:
    import xarray as xr

    if COMPLEX_DIM in ds.dims:
        raise FileFormatError(
            f"the dimension name {COMPLEX_DIM!r} is reserved by xsweep for complex "
            "numbers; rename that dimension before saving"
        )
    ds = ds.copy(deep=False)
    for name in list(ds.variables):
        var = ds.variables[name]
        if var.dtype.kind == "c":
            if name in ds.dims:
                raise FileFormatError(
                    f"coordinate {name!r} is complex: netCDF cannot store a complex "
                    "dimension coordinate; use real values or strings"
                )
            parts = xr.Variable.concat([var.real, var.imag], dim=COMPLEX_DIM)
            parts = parts.transpose(*var.dims, COMPLEX_DIM)
            parts.attrs = {**var.attrs, COMPLEX_ATTR: 1}
            ds[name] = parts
        elif var.dtype.kind == "O":
            _check_strings(name, var.values)
            gaps = [i for i, v in enumerate(var.values.ravel()) if _gap(v)]
            if gaps:  # strings with gaps (None / NaN): keep where they were
                values = var.values.copy()
                values.flat[gaps] = ""
                ds[name] = (
                    var.dims,
                    values,
                    {**var.attrs, NONE_ATTR: json.dumps(gaps)},
                )
    for var in ds.variables.values():  # (not ds[name]: a DataArray each, ms)
        var.attrs = _encode_attrs(var.attrs)
    ds.attrs = _encode_attrs(provenance_record.to_attrs(ds))
    ds.encoding = {
        k: v for k, v in ds.encoding.items() if k != provenance_record.PROVENANCE_KEY
    }  # now an attribute
    return ds


def _gap(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _check_strings(name: str, values: np.ndarray) -> None:
    flat = values.ravel()
    bad = next((v for v in flat if not (isinstance(v, str) or _gap(v))), None)
    if bad is not None:
        raise FileFormatError(
            f"variable {name!r} holds Python objects (e.g. {type(bad).__name__}) "
            "that netCDF cannot store; return numbers, strings or arrays from the "
            "function, or convert the variable before saving"
        )


def _decode(ds: xr.Dataset) -> xr.Dataset:
    for name in list(ds.variables):
        var = ds.variables[name]
        attrs = _decode_attrs(var.attrs)
        if attrs.pop(COMPLEX_ATTR, 0) and COMPLEX_DIM in var.dims:
            da = ds[name]
            values = da.isel({COMPLEX_DIM: 0}) + 1j * da.isel({COMPLEX_DIM: 1})
            ds[name] = values.variable
        gaps = attrs.pop(NONE_ATTR, None)
        if gaps:
            values = ds[name].values.astype(object)
            values.flat[json.loads(gaps)] = None
            ds[name] = (ds[name].dims, values)
        ds[name].attrs = attrs
    if COMPLEX_DIM in ds.dims:
        ds = ds.drop_dims(COMPLEX_DIM)
    ds.attrs = _decode_attrs(ds.attrs)
    return provenance_record.pop_from_attrs(ds)


# -------------------------------------------------------------- save / load --


def save_dataset(
    ds: xr.Dataset, path: PathLike, *, engine: str = DEFAULT_ENGINE
) -> None:
    """Write ``ds`` to ``path`` atomically (temporary file, fsync, rename).

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset; complex values, booleans and any attributes are kept.
    path : str or os.PathLike
        Destination; its directory is created if missing.
    engine : str, optional
        ``"netcdf4"`` (default), ``"h5netcdf"``, ``"scipy"`` or ``"joblib"``
        (see :mod:`xsweep.file_engines`).
    """
    import xarray as xr

    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset()
    engine = check_engine(engine)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine == PICKLE_ENGINE:
        return save_pickled(ds, path)
    encoded = _encode(ds)
    with atomic_path(path) as tmp:
        # numbers and strings in memory: written directly (no dask imports)
        if engine != "netcdf4" or not write_plain(encoded, tmp):
            encoded.to_netcdf(tmp, engine=engine)


def load_dataset(
    path: PathLike, *, engine: str = DEFAULT_ENGINE, chunks: Any = None
) -> xr.Dataset:
    """Read a dataset saved by :func:`save_dataset`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    engine : str, optional
        xarray netCDF engine, ``"netcdf4"`` by default.
    chunks : int, dict or None, optional
        ``None`` (default) loads everything into memory and closes the file;
        otherwise the variables are lazy dask arrays with these chunks.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    FileFormatError
        If the file is not a readable netCDF file.
    """
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}")
    engine = check_engine(engine)
    try:
        if engine == PICKLE_ENGINE:
            ds = load_pickled(path)
            return ds if chunks is None else ds.chunk(chunks)
        if chunks is None:
            with xr.open_dataset(path, engine=engine) as ds:
                ds = ds.load()
        else:
            ds = xr.open_dataset(path, engine=engine, chunks=chunks)
    except (OSError, ValueError, RuntimeError, EOFError) as exc:
        raise FileFormatError(
            f"{path} is not a readable netCDF file ({type(exc).__name__}: {exc}); "
            "move it away or delete it, then run again"
        ) from exc
    return _decode(ds)

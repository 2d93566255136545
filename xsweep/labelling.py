"""Turn filled output buffers into labelled :class:`xarray.Dataset` objects.

Conventions (the same as xyzpy's, so datasets look alike):

- each combo dimension becomes a dimension coordinate, in the order given;
- ``var_dims`` names each output's internal dimensions; their values come from
  ``var_coords``, or from ``constants`` (then saved as coordinates), or default
  to ``0..n-1``;
- other ``constants`` are saved as attributes, ``resources`` are not saved;
- what produced the dataset (xsweep's version, the function, when) is its
  provenance record, in ``ds.encoding`` (see :func:`xsweep.provenance`), so
  that two runs of one sweep are ``identical``;
- explicit cases are laid out on the smallest grid covering them (each
  argument's distinct values, sorted when sortable); cells no case reaches are
  missing.

Missing values (failed combos, cells no case reaches): NaN for floats and
complex numbers; integer and boolean outputs with any missing entry become
``float64`` (booleans as 1.0 / 0.0), so NaN can mark the gap. The names of
the constants saved as attributes are listed in the provenance record
(``xsweep_constants``), so merging results computed with other
constant values is refused (see :func:`xsweep.merging.merge_datasets`). With
``on_error="record"`` the failures are listed in ``ds.attrs["xsweep_failures"]``
as a JSON string (one record per failed combo: combo, exception type, message,
traceback, host, pid, start, duration), which survives a netCDF round trip.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._version import __version__
from .errors import OutputMismatchError
from .netcdf import CONSTANTS_ATTR, FAILURES_ATTR, _jsonable
from .provenance_record import set_provenance

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "arrays_to_dataset",
    "buffer_to_dataset",
    "failures_from_attrs",
    "provenance_attrs",
    "unpack_xarray_results",
]


# --------------------------------------------------------------- provenance --


def utc_now() -> str:
    """The current time, ISO 8601 UTC, to the second."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.isoformat(timespec="seconds")


def fn_name(fn: Any) -> str:
    """The qualified name of ``fn`` (``module.qualname``)."""
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:
        return repr(fn)
    return f"{module}.{name}" if module else name


def provenance_attrs(fn: Any, start: str, end: str) -> dict[str, str]:
    """The attributes recording who made a dataset, and when."""
    return {
        "xsweep_version": __version__,
        "xsweep_function": fn_name(fn),
        "xsweep_run_start": start,
        "xsweep_run_end": end,
    }


def failures_to_attr(failures: Sequence[Any]) -> str:
    """Failure records as the JSON string saved in ``ds.attrs``."""
    records = []
    for f in failures:
        record = f if isinstance(f, Mapping) else vars(f)
        records.append({k: _jsonable(v) for k, v in record.items()})
    return json.dumps(records)


def failures_from_attrs(ds: xr.Dataset) -> list[dict]:
    """The failure records of a dataset (empty when nothing failed)."""
    text = ds.attrs.get(FAILURES_ATTR)
    if not text:
        return []
    return list(json.loads(text) if isinstance(text, str) else text)


# --------------------------------------------------------------- datasets --


def _nan_capable(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "biu":
        return values.astype(np.float64)
    if values.dtype.kind in "US":  # strings: None marks a gap, never "nan"
        return values.astype(object)
    return values


def _fill_missing(values: np.ndarray, flat_missing: np.ndarray, n: int) -> np.ndarray:
    """``values`` (``n`` combos, then internal axes) with missing combos NaN."""
    if flat_missing.size == 0:
        return values
    values = _nan_capable(values).copy()
    values[flat_missing] = None if values.dtype.kind == "O" else np.nan
    return values


def _internal_coords(
    var: str,
    dims: tuple[str, ...],
    shape: tuple[int, ...],
    var_coords: Mapping[str, Any],
    constants: Mapping[str, Any],
) -> dict[str, Any]:
    if len(dims) != len(shape):
        raise OutputMismatchError(
            f"output {var!r} has {len(shape)} internal dimension(s) (shape "
            f"{shape}) but var_dims names {len(dims)}: {list(dims)}."
        )
    coords = {}
    for dim, size in zip(dims, shape, strict=True):
        values = var_coords.get(dim, constants.get(dim))
        values = np.arange(size) if values is None else np.asarray(values)
        if values.shape != (size,):
            raise OutputMismatchError(
                f"output {var!r} has length {size} along {dim!r}, but the "
                f"coordinate values given for {dim!r} have shape {values.shape}."
            )
        coords[dim] = values
    return coords


def _case_layout(names: tuple[str, ...], cases: list[tuple]):
    """The covering grid of ``cases`` and each case's flat position in it."""
    axes = []
    for column in zip(*cases, strict=True):
        distinct = list(dict.fromkeys(column))
        with contextlib.suppress(TypeError):
            distinct = sorted(distinct)
        axes.append(distinct)
    shape = tuple(len(a) for a in axes)
    lookups = [{v: i for i, v in enumerate(a)} for a in axes]
    index = [[lk[v] for lk, v in zip(lookups, c, strict=True)] for c in cases]
    positions = np.ravel_multi_index(np.array(index, dtype=np.intp).T, shape)
    return axes, shape, positions


def _scatter(values: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    """Place per-case rows at ``positions`` of a grid of ``size`` cells."""
    inner = values.shape[1:]
    covered = np.unique(positions).size == size
    out_dtype = values.dtype if covered else _nan_capable(values[:0]).dtype
    if out_dtype.kind == "O":
        out = np.full((size, *inner), None, dtype=object)
    elif covered:
        out = np.empty((size, *inner), dtype=out_dtype)
    else:
        out = np.full((size, *inner), np.nan, dtype=out_dtype)
    out[positions] = values
    return out


def arrays_to_dataset(
    arrays: Mapping[str, np.ndarray],
    combos: Any,
    *,
    var_dims: Mapping[str, tuple[str, ...]] | None = None,
    var_coords: Mapping[str, Any] | None = None,
    constants: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    missing: Sequence[int] = (),
    provenance: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Label numpy arrays whose leading axes follow ``combos``.

    Parameters
    ----------
    arrays : mapping of str to numpy.ndarray
        One array per output, shape ``combos.shape + internal_shape``.
    combos : Grid or Cases
        What was run.
    var_dims, var_coords, constants, attrs, provenance
        As for :func:`buffer_to_dataset`.
    missing : sequence of int
        Flat indices of combos without a result (failed or not run).
    """
    import xarray as xr

    var_dims = dict(var_dims or {})
    var_coords = dict(var_coords or {})
    constants = dict(constants or {})
    n = combos.size
    flat_missing = np.unique(np.asarray(missing, dtype=np.intp))
    is_cases = hasattr(combos, "cases")
    if is_cases:
        axes, grid_shape, positions = _case_layout(combos.names, combos.cases)
        coords: dict[str, Any] = dict(zip(combos.names, axes, strict=True))
        if flat_missing.size:
            keep = np.setdiff1d(np.arange(n), flat_missing)
            positions = positions[keep]
    else:
        grid_shape = tuple(combos.shape)
        coords = dict(zip(combos.names, combos.values, strict=True))
    data_vars = {}
    for var, values in arrays.items():
        values = np.asarray(values)
        inner = values.shape[len(combos.shape) :]
        dims = var_dims.get(var, ())
        coords.update(_internal_coords(var, dims, inner, var_coords, constants))
        if is_cases:
            rows = values.reshape((n, *inner))
            if flat_missing.size:
                rows = rows[keep]
            values = _scatter(rows, positions, int(np.prod(grid_shape)))
        else:
            values = _fill_missing(values.reshape((n, *inner)), flat_missing, n)
        values = values.reshape(grid_shape + inner)
        data_vars[var] = _variable((*combos.names, *dims), values)
    for name in list(coords):
        coords[name] = _coord(name, _coord_array(coords[name]))
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(attrs or {})
    saved = [key for key in constants if key not in ds.dims]
    for key in saved:  # (the others label internal dimensions)
        ds.attrs[key] = constants[key]
    record = dict(provenance or {})
    if saved:
        record[CONSTANTS_ATTR] = saved
    return set_provenance(ds, record)


def _variable(dims: tuple, values: np.ndarray) -> Any:
    """A data variable: numbers as a ready ``xarray.Variable``.

    xarray checks every other array it is given, and that check imports
    ``dask.array`` whenever dask is installed (0.1 to 0.3 s in a fresh
    process); a numpy array of numbers needs none of it.
    """
    if values.dtype.kind in "biufc":
        import xarray as xr

        return xr.Variable(dims, values, fastpath=True)
    return (dims, values)


def _coord(name: str, values: np.ndarray) -> Any:
    """A dimension coordinate: numbers as the ``pandas.Index`` xarray makes.

    (Given an array, xarray builds the same index after asking dask whether
    the array is a dask collection, which imports dask.)
    """
    if values.dtype.kind in "iuf" and values.dtype.itemsize >= 4:
        import pandas as pd

        return pd.Index(values, name=name)
    return values


def _coord_array(values: Any) -> np.ndarray:
    values = list(values) if not isinstance(values, np.ndarray) else values
    arr = np.asarray(values)
    if arr.ndim != 1:  # tuples or lists as labels: keep them as objects
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
    return arr


def buffer_to_dataset(
    buffer: Any,
    combos: Any,
    *,
    var_names: Sequence[str] | None,
    var_dims: Mapping[str, tuple[str, ...]] | None,
    var_coords: Mapping[str, Any] | None,
    constants: Mapping[str, Any] | None,
    attrs: Mapping[str, Any] | None,
    provenance: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Label a filled :class:`~xsweep.engine.OutputBuffer` as a dataset.

    Parameters
    ----------
    buffer : OutputBuffer
        Arrays of every output, shape ``combos.shape + internal_shape``, with
        its ``missing`` and ``failures`` lists.
    combos : Grid or Cases
        What was run; gives the leading dimensions and their coordinates.
    var_names : sequence of str or None
        The outputs to keep, in order (``None``: all of the buffer's).
    var_dims : mapping of str to tuple of str, or None
        Internal dimension names of each output.
    var_coords : mapping, or None
        Values of internal dimensions.
    constants : mapping, or None
        Saved as attributes, or as coordinates when they label a ``var_dims``.
    attrs : mapping, or None
        Extra attributes (the user's).
    provenance : mapping, or None
        The provenance record (:func:`xsweep.provenance`), kept in
        ``ds.encoding`` so that it never makes ``identical`` fail.

    Returns
    -------
    xarray.Dataset
        With ``attrs["xsweep_failures"]`` (JSON) when some combos failed.
    """
    arrays = dict(buffer.arrays)
    failures = list(getattr(buffer, "failures", ()))
    missing = [f.index for f in failures]
    missing += list(getattr(buffer, "missing", ()))
    var_dims, var_coords = dict(var_dims or {}), dict(var_coords or {})
    if var_names is None:
        arrays, dims, coords = unpack_xarray_results(arrays[None], missing)
        var_dims.update(dims)
        var_coords.update(coords)
    else:
        arrays = {name: arrays[name] for name in var_names}
    ds = arrays_to_dataset(
        arrays,
        combos,
        var_dims=var_dims,
        var_coords=var_coords,
        constants=constants,
        attrs=attrs,
        missing=missing,
        provenance=provenance,
    )
    if failures:
        ds.attrs[FAILURES_ATTR] = failures_to_attr(failures)
    return ds


def unpack_xarray_results(
    objects: np.ndarray, missing: Sequence[int] = ()
) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]], dict[str, Any]]:
    """Split an object array of per-combo Datasets / DataArrays into arrays.

    Returns ``(arrays, var_dims, var_coords)`` for :func:`arrays_to_dataset`.
    Every result must have the variables, dimensions and shapes of the first.
    """
    import xarray as xr

    flat = objects.reshape(-1)
    skip = set(np.asarray(missing, dtype=np.intp).tolist())
    template = next(
        (x for i, x in enumerate(flat) if i not in skip and x is not None), None
    )
    if template is None:  # every combo failed: nothing to label
        return {}, {}, {}
    xarray_types = (xr.Dataset, xr.DataArray)
    if isinstance(template, Mapping) and not isinstance(template, xarray_types):
        # {name: value} per call, as xyzpy takes
        return _unpack_dicts(flat, skip, objects.shape, template)
    if not isinstance(template, (xr.Dataset, xr.DataArray)):
        raise OutputMismatchError(
            "var_names=None means the function returns an xarray Dataset, "
            "DataArray or a dict of outputs, but it returned "
            f"{type(template).__name__}: {template!r:.80}. Give var_names to "
            "label plain results."
        )

    def as_ds(x: Any) -> xr.Dataset:
        if isinstance(x, xr.DataArray):
            return x.to_dataset(name=x.name if x.name is not None else "result")
        return x

    template = as_ds(template)
    arrays, var_dims = {}, {}
    for name, var in template.data_vars.items():
        dtype = var.dtype if not skip else _nan_capable(var.values[...]).dtype
        if dtype.kind in "fcO":
            fill = None if dtype.kind == "O" else np.nan
            array = np.full((flat.size, *var.shape), fill, dtype=dtype)
        else:  # every entry is written below
            array = np.empty((flat.size, *var.shape), dtype=dtype)
        arrays[name], var_dims[name] = array, tuple(var.dims)
    for i, x in enumerate(flat):
        if i in skip or x is None:
            continue
        x = as_ds(x)
        for name, array in arrays.items():
            if name not in x.data_vars or x[name].shape != array.shape[1:]:
                raise OutputMismatchError(
                    f"result {i} differs from the first result: variable {name!r} "
                    "is missing or has another shape; every call must return the "
                    "same variables with the same dimensions."
                )
            array[i] = x[name].values
    arrays = {k: a.reshape(objects.shape + a.shape[1:]) for k, a in arrays.items()}
    coords = {d: template[d].values for d in template.dims if d in template.coords}
    return arrays, var_dims, coords


def _unpack_dicts(
    flat: np.ndarray, skip: set, shape: tuple, template: Mapping
) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]], dict[str, Any]]:
    """Per-combo ``{name: value}`` results as one array per name."""
    arrays, var_dims = {}, {}
    for name, first in template.items():
        first = np.asarray(first)
        values = []
        for i, x in enumerate(flat):
            if i in skip or x is None:
                values.append(np.full(first.shape, np.nan))
                continue
            if not isinstance(x, Mapping) or set(x) != set(template):
                raise OutputMismatchError(
                    f"result {i} is not a dict with the keys {sorted(template)} of "
                    "the first result; every call must return the same keys."
                )
            values.append(x[name])
        array = np.asarray(values)
        arrays[name] = array.reshape(tuple(shape) + array.shape[1:])
        var_dims[name] = tuple(f"{name}_{k}" for k in range(array.ndim - 1))
    return arrays, var_dims, {}

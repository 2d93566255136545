"""Merge new results into saved ones: over the union of their coordinates,
refusing clashing values and constants unless told which side wins, keeping the
failure records of combos still without a value. :func:`merge_into` does the
read-merge-write cycle on a file under a lock, atomically."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import provenance_record
from .atomic import PathLike
from .errors import MergeConflictError
from .netcdf import (
    CONSTANTS_ATTR,
    DEFAULT_ENGINE,
    FAILURES_ATTR,
    _jsonable,
    load_dataset,
    save_dataset,
)

if TYPE_CHECKING:
    import xarray as xr


def merge_datasets(
    old: xr.Dataset, new: xr.Dataset, overwrite: bool | None = None
) -> xr.Dataset:
    """Combine two datasets over the union of their coordinates.

    Parameters
    ----------
    old, new : xarray.Dataset
        Saved results and new results.
    overwrite : {None, True, False}, optional
        Where both hold a non-missing value that differs: ``None`` raises
        :class:`~xsweep.errors.MergeConflictError`, ``True`` keeps the new
        value, ``False`` keeps the old one. Missing values (NaN) never clash.

    Returns
    -------
    xarray.Dataset
        The merged dataset; attributes of ``new`` win, failure records of both
        are kept unless the combo they name now has a value.
    """
    import xarray as xr

    if isinstance(new, xr.DataArray):
        new = new.to_dataset()
    if overwrite is None:
        check_no_conflicts(old, new)
    first, second = (old, new) if overwrite is False else (new, old)
    merged = _restore_dtypes(first.combine_first(second), old, new)
    attrs = {**second.attrs, **first.attrs}
    failures = _failure_records(old) + _failure_records(new)
    attrs.pop(FAILURES_ATTR, None)
    merged.attrs = attrs
    record = provenance_record.merged(
        provenance_record.record_of(old), provenance_record.record_of(new)
    )
    provenance_record.set_provenance(merged, record)
    failures = _prune_failures(merged, failures)
    if failures:
        merged.attrs[FAILURES_ATTR] = json.dumps(failures)
    return merged


def _restore_dtypes(merged: xr.Dataset, old: xr.Dataset, new: xr.Dataset) -> Any:
    """Integer and boolean variables back to their type where the merge made
    them float only to align (NaN while aligning) and no value is missing.

    ``combine_first`` aligns both datasets over the union of coordinates,
    which makes every integer variable float, even where the union is
    complete; a missing value stays NaN (and the variable float).
    """
    for name, var in merged.data_vars.items():
        kinds = {ds[name].dtype for ds in (old, new) if name in ds.data_vars}
        if (
            var.dtype.kind != "f"
            or not kinds
            or any(k.kind not in "iub" for k in kinds)
        ):
            continue
        if bool(var.isnull().any()):
            continue
        merged[name] = var.astype(np.result_type(*kinds))
    return merged


def check_no_conflicts(old: xr.Dataset, new: xr.Dataset, where: str = "") -> None:
    """Raise :class:`~xsweep.errors.MergeConflictError` if values clash.

    A clash is a variable and a coordinate where both datasets hold a
    non-missing value and the values differ, or a constant (listed in the
    provenance records of both, :func:`xsweep.provenance`) with different
    values.
    """
    import xarray as xr

    _check_constants(old, new, where)

    for name in set(old.data_vars) & set(new.data_vars):
        a, b = xr.align(old[name], new[name], join="inner")
        if a.size == 0:
            continue
        clash = (a.notnull() & b.notnull() & (a != b)).values
        count = int(np.count_nonzero(clash))
        if count:
            first = np.unravel_index(int(np.flatnonzero(clash)[0]), clash.shape)
            place = ", ".join(
                f"{d}={_plain(a[d].values[i])!r}"
                for d, i in zip(a.dims, first, strict=True)
                if d in a.coords
            )
            raise MergeConflictError(
                f"variable {name!r}: {count} new value(s) differ from values "
                f"already saved{where}, e.g. at {place}: saved "
                f"{_plain(a.values[first])!r}, new {_plain(b.values[first])!r}. "
                "Pass overwrite=True to keep the new values or overwrite=False "
                "to keep the saved ones."
            )


def _constant_names(ds: xr.Dataset) -> list[str]:
    names = provenance_record.record_of(ds).get(CONSTANTS_ATTR)
    if names is None:  # a file written before provenance left ds.attrs
        names = ds.attrs.get(CONSTANTS_ATTR) or "[]"
    return list(json.loads(names) if isinstance(names, str) else names)


def _check_constants(old_ds: xr.Dataset, new_ds: xr.Dataset, where: str) -> None:
    shared = set(_constant_names(old_ds)) & set(_constant_names(new_ds))
    old, new = old_ds.attrs, new_ds.attrs
    for name in sorted(shared):
        if name not in old or name not in new:
            continue
        a, b = (json.dumps(_jsonable(d[name]), sort_keys=True) for d in (old, new))
        if a != b:
            raise MergeConflictError(
                f"constant {name!r} is {a:.60} in the results already saved{where} "
                f"but {b:.60} in the new results, so they cannot share one set of "
                f"labels. Make {name!r} a combo dimension (add it to combos with "
                "both values), save to another file, or pass overwrite=True / "
                "overwrite=False to keep the new / saved attributes anyway."
            )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _failure_records(ds: xr.Dataset) -> list[dict]:
    text = ds.attrs.get(FAILURES_ATTR)
    if not text:
        return []
    return list(json.loads(text) if isinstance(text, str) else text)


def _prune_failures(ds: xr.Dataset, failures: list[dict]) -> list[dict]:
    """Keep the last record per combo, and only for combos still without value."""
    latest: dict[str, dict] = {}
    for record in failures:
        latest[json.dumps(record.get("combo"), sort_keys=True)] = record
    kept = []
    for record in latest.values():
        combo = record.get("combo") or {}
        where = {k: v for k, v in combo.items() if k in ds.dims}
        try:
            sub = ds.sel(where)
        except (KeyError, ValueError, TypeError):
            kept.append(record)
            continue
        if not any(bool(sub[v].notnull().any()) for v in sub.data_vars):
            kept.append(record)
    return kept


@contextlib.contextmanager
def merge_lock(path: Path) -> Iterator[None]:
    """Serialise read-merge-write cycles on one file between processes."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def merge_into(
    path: PathLike,
    ds: xr.Dataset,
    overwrite: bool | None = None,
    *,
    engine: str = DEFAULT_ENGINE,
) -> xr.Dataset:
    """Merge ``ds`` into the dataset saved at ``path`` and save atomically.

    If ``path`` does not exist, ``ds`` is saved as is. Concurrent callers on the
    same file are serialised with a lock file beside it; a crash at any moment
    leaves either the old or the merged file.

    Parameters
    ----------
    path : str or os.PathLike
        The netCDF file.
    ds : xarray.Dataset
        New results.
    overwrite : {None, True, False}, optional
        See :func:`merge_datasets`.
    engine : str, optional
        xarray netCDF engine, ``"netcdf4"`` by default.

    Returns
    -------
    xarray.Dataset
        The merged dataset, as saved.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with merge_lock(path):
        if path.exists():
            old = load_dataset(path, engine=engine)
            if overwrite is None:
                check_no_conflicts(old, ds, where=f" in {path}")
            keep_new = overwrite is None or overwrite
            merged = merge_datasets(old, ds, overwrite=keep_new)
        else:
            merged = ds
        save_dataset(merged, path, engine=engine)
    return merged

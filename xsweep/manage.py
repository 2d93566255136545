"""Saving and loading results by hand, under xyzpy's names.

``save_ds`` / ``load_ds`` / ``save_merge_ds`` / ``load_merge_ds`` for
datasets and ``save_df`` / ``load_df`` for DataFrames take xyzpy's arguments.
Datasets go through :mod:`xsweep.netcdf`: written atomically, complex numbers
and any attributes kept, and the provenance record
(:func:`xsweep.provenance`, defined here) saved in the file and restored on
load.

As in xyzpy, a dataset file name without a known extension gets the engine's
(``.h5`` for ``"h5netcdf"``, ``.nc`` for ``"netcdf4"``, ``.dmp`` for
``"joblib"``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import merging, netcdf, provenance_record
from .atomic import atomic_open
from .file_engines import check_engine

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = [
    "load_df",
    "load_ds",
    "load_merge_ds",
    "provenance",
    "save_df",
    "save_ds",
    "save_merge_ds",
]

_EXTENSIONS = {"h5netcdf": ".h5", "netcdf4": ".nc", "joblib": ".dmp", "scipy": ".nc"}


def _file_name(file_name: Any, engine: str | None) -> Path:
    """``file_name``, with the engine's extension if it has no known one."""
    name = str(file_name)
    if any(ext in name for ext in (*_EXTENSIONS.values(), ".zarr")):
        return Path(name)
    return Path(name + _EXTENSIONS.get(engine or "h5netcdf", ".h5"))


def save_ds(ds: xr.Dataset, file_name: Any, engine: str | None = None) -> None:
    """Save ``ds`` to ``file_name`` atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        Any attributes, complex values and booleans are kept; so is its
        provenance record.
    file_name : str or os.PathLike
        Given the engine's extension if it has no known one.
    engine : {None, "netcdf4", "h5netcdf", "scipy", "joblib"}, optional
        ``None`` (default) and ``"h5netcdf"`` write netCDF-4 files (with
        ``netCDF4`` when ``h5netcdf`` is not installed).
    """
    path = _file_name(file_name, engine)
    netcdf.save_dataset(ds, path, engine=check_engine(engine))


def load_ds(
    file_name: Any,
    engine: str | None = None,
    load_to_mem: bool | None = None,
    create_new: bool = False,
    chunks: Any = None,
) -> xr.Dataset:
    """Load a dataset saved by :func:`save_ds` (or any netCDF file).

    Parameters
    ----------
    file_name : str or os.PathLike
        As for :func:`save_ds`.
    engine : str, optional
        As for :func:`save_ds`.
    load_to_mem : bool, optional
        Read everything into memory and close the file (the default unless
        ``chunks`` is given).
    create_new : bool, optional
        Give an empty dataset when there is no file (else
        ``FileNotFoundError``).
    chunks : int or dict, optional
        Open lazily, as dask arrays with these chunks.

    Returns
    -------
    xarray.Dataset
        With its provenance record in ``encoding`` (:func:`xsweep.provenance`).
    """
    import xarray as xr

    if load_to_mem and chunks is not None:
        raise ValueError("give load_to_mem=True or chunks, not both")
    path = _file_name(file_name, engine)
    if not path.exists() and create_new:
        return xr.Dataset()
    if load_to_mem is False and chunks is None:
        chunks = {}
    return netcdf.load_dataset(path, engine=check_engine(engine), chunks=chunks)


def save_merge_ds(
    ds: xr.Dataset,
    fname: Any,
    overwrite: bool | None = None,
    engine: str | None = None,
) -> xr.Dataset:
    """Merge ``ds`` into the dataset saved at ``fname`` (or save it there).

    Parameters
    ----------
    ds : xarray.Dataset
        New results.
    fname : str or os.PathLike
        The file; created if missing.
    overwrite : {None, False, True}, optional
        Where both hold a different non-missing value: ``None`` raises
        :class:`~xsweep.errors.MergeConflictError` (the file is untouched),
        ``True`` keeps the new values, ``False`` the saved ones.
    engine : str, optional
        As for :func:`save_ds`.

    Returns
    -------
    xarray.Dataset
        The merged dataset, as saved.
    """
    return merging.merge_into(fname, ds, overwrite, engine=check_engine(engine))


def load_merge_ds(
    file_names: Sequence[Any],
    combine_first: bool = False,
    engine: str | None = None,
) -> xr.Dataset:
    """Load several saved datasets and merge them into one.

    ``combine_first=True`` lets earlier files win where values differ;
    otherwise differing values raise
    :class:`~xsweep.errors.MergeConflictError`.
    """
    out = None
    for name in file_names:
        ds = load_ds(name, engine=engine)
        if out is None:
            out = ds
        else:
            out = merging.merge_datasets(
                out, ds, overwrite=False if combine_first else None
            )
    if out is None:
        raise ValueError("load_merge_ds needs at least one file name")
    return out


def save_df(
    df: pd.DataFrame, name: Any, engine: str = "pickle", key: str = "df", **kwargs
) -> None:
    """Save a DataFrame atomically (``engine``: ``"pickle"``, ``"csv"``, ``"hdf"``).

    ``"csv"`` leaves out the index (as xyzpy does) and, like any CSV, keeps no
    ``attrs`` (so no provenance record). ``"hdf"`` needs PyTables and writes
    in place.
    """
    if engine == "hdf":
        df.to_hdf(name, key=key, **kwargs)
        return
    if engine not in ("pickle", "csv"):
        raise ValueError(
            f"save_df engine must be 'pickle', 'csv' or 'hdf', not {engine!r}"
        )
    with atomic_open(name, "wb") as f:
        if engine == "pickle":
            df.to_pickle(f, **kwargs)
        else:
            kwargs.setdefault("index", False)
            f.write(df.to_csv(**kwargs).encode())


def load_df(
    name: Any, engine: str = "pickle", key: str = "df", **kwargs
) -> pd.DataFrame:
    """Load a DataFrame saved by :func:`save_df` (or a Sampler)."""
    import pandas as pd

    if engine == "hdf":
        return pd.read_hdf(name, key=key, **kwargs)
    if engine == "pickle":
        return pd.read_pickle(name, **kwargs)
    if engine == "csv":
        return pd.read_csv(name, **kwargs)
    raise ValueError(f"load_df engine must be 'pickle', 'csv' or 'hdf', not {engine!r}")


def provenance(obj: Any) -> dict[str, Any]:
    """What produced a result: the provenance record of ``obj``.

    Parameters
    ----------
    obj : xarray.Dataset, xarray.DataArray, pandas.DataFrame, str or os.PathLike
        A result returned by xsweep (a Runner, Harvester, Sampler, crop reap,
        or :func:`xsweep.load_ds`), or the path of a netCDF file saved by
        xsweep. A file opened with plain ``xarray.open_dataset`` works too.

    Returns
    -------
    dict
        A copy of the record (empty when nothing is recorded). Keys:
        ``xsweep_version``, ``xsweep_function``, ``xsweep_run_start``,
        ``xsweep_run_end``, ``xsweep_constants`` (names of the constants
        saved as attributes); a reaped crop adds ``crop_*`` keys (hosts,
        processes, scheduler jobs, function fingerprint, batches); a
        Harvester's file adds ``runs``, the records of every run merged into
        it, oldest first.

    Examples
    --------
    >>> ds = runner.run_combos(combos)  # doctest: +SKIP
    >>> xsweep.provenance(ds)["xsweep_function"]  # doctest: +SKIP
    '__main__.decay'
    """
    if isinstance(obj, (str, os.PathLike)):
        obj = netcdf.load_dataset(Path(obj))
    return provenance_record.record_of(obj)

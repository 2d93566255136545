"""Which storage engines a dataset file can use, and the non-netCDF one.

xyzpy users name an engine for their files: ``"h5netcdf"`` (xyzpy's default),
``"netcdf4"``, ``"joblib"`` or ``"zarr"``. xsweep accepts the same names:

- ``"netcdf4"`` (xsweep's default) and ``"h5netcdf"`` write the same
  netCDF-4 / HDF5 files; when the ``h5netcdf`` package is not installed,
  ``"h5netcdf"`` reads and writes them with ``netCDF4``;
- ``"scipy"`` writes netCDF-3 files (xarray's engine of that name);
- ``"joblib"`` pickles the dataset with joblib (any Python values kept);
- ``"zarr"`` is refused with a clear message: xsweep writes every file
  atomically (temporary name, then rename), which a zarr directory store
  cannot do; use ``"netcdf4"``.

Every write goes through :mod:`xsweep.atomic`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["PICKLE_ENGINE", "check_engine", "load_pickled", "save_pickled"]

NETCDF_ENGINES = ("netcdf4", "h5netcdf", "scipy")
PICKLE_ENGINE = "joblib"


def check_engine(engine: str | None, default: str = "netcdf4") -> str:
    """The engine to use for ``engine`` (``None``: ``default``), or raise.

    Raises
    ------
    ValueError
        For an unknown engine or ``"zarr"``, saying what to use instead.
    """
    if engine is None:
        return default
    if engine == "h5netcdf" and importlib.util.find_spec("h5netcdf") is None:
        return "netcdf4"  # the same file format
    if engine in NETCDF_ENGINES or engine == PICKLE_ENGINE:
        return engine
    if engine == "zarr":
        raise ValueError(
            "engine='zarr' is not supported: xsweep writes every results file "
            "atomically (temporary name, then rename) so that a crash never "
            "leaves a half-written file, which a zarr directory store cannot "
            "do. Use engine='netcdf4' (the default) or 'h5netcdf'."
        )
    raise ValueError(
        f"unknown file engine {engine!r}: use one of "
        f"{', '.join(repr(e) for e in (*NETCDF_ENGINES, PICKLE_ENGINE))}"
    )


def save_pickled(ds: Any, path: Path) -> None:
    """Pickle ``ds`` with joblib to ``path``, atomically."""
    import joblib

    from .atomic import atomic_open

    with atomic_open(path, "wb") as f:
        joblib.dump(ds, f)


def load_pickled(path: Path) -> Any:
    """What :func:`save_pickled` wrote."""
    import joblib

    with open(path, "rb") as f:
        return joblib.load(f)

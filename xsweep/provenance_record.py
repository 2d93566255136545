"""Where a result's provenance lives: one record, out of ``ds.attrs``.

What produced a result (xsweep's version, the function, when it ran, and for a
crop the hosts, processes, scheduler jobs and the function's fingerprint) is
one plain JSON-able dict, the *provenance record*:

- on an :class:`xarray.Dataset` in memory: ``ds.encoding["xsweep_provenance"]``.
  ``identical`` and ``equals`` ignore ``encoding``, so two runs of the same
  sweep compare equal, as xyzpy's results do; xarray keeps it through
  ``sel``, ``isel``, arithmetic, ``copy`` and pickling;
- on a :class:`pandas.DataFrame` (a Sampler's rows):
  ``df.attrs["xsweep_provenance"]`` (pandas has no ``encoding``; frame
  comparisons ignore ``attrs``);
- in a netCDF file written by xsweep: the attribute ``xsweep_provenance``
  (JSON), moved back into ``encoding`` when xsweep loads the file.

Read it with :func:`provenance`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["PROVENANCE_KEY", "provenance", "set_provenance"]

#: the key of the record in ``encoding`` / ``attrs`` / the file's attributes
PROVENANCE_KEY = "xsweep_provenance"


def _as_record(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, dict) else {}


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
        from .netcdf import load_dataset

        obj = load_dataset(Path(obj))
    encoding = getattr(obj, "encoding", None)
    if isinstance(encoding, dict) and PROVENANCE_KEY in encoding:
        return json.loads(json.dumps(encoding[PROVENANCE_KEY], default=str))
    attrs = getattr(obj, "attrs", None) or {}
    return _as_record(attrs.get(PROVENANCE_KEY))


def set_provenance(obj: Any, record: dict[str, Any]) -> Any:
    """Attach ``record`` to ``obj`` (in place) and return ``obj``.

    A Dataset or DataArray keeps it in ``encoding``, a DataFrame in ``attrs``.
    An empty record removes it.
    """
    store = obj.encoding if hasattr(obj, "encoding") else obj.attrs
    if record:
        store[PROVENANCE_KEY] = dict(record)
    else:
        store.pop(PROVENANCE_KEY, None)
    return obj


def pop_from_attrs(ds: Any) -> Any:
    """Move a record found in ``ds.attrs`` (a loaded file) into ``encoding``."""
    if PROVENANCE_KEY in ds.attrs:
        record = _as_record(ds.attrs.pop(PROVENANCE_KEY))
        if record:
            ds.encoding[PROVENANCE_KEY] = record
    return ds


def to_attrs(ds: Any) -> dict[str, Any]:
    """``ds.attrs`` plus the record as one JSON attribute, for writing a file."""
    attrs = dict(ds.attrs)
    record = ds.encoding.get(PROVENANCE_KEY)
    if record:
        attrs[PROVENANCE_KEY] = json.dumps(record, default=str)
    return attrs


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The record of a file holding ``old`` results and now ``new`` ones too."""
    if not old:
        return dict(new)
    if not new:
        return dict(old)
    runs = list(old.get("runs") or [{k: v for k, v in old.items() if k != "runs"}])
    runs += list(new.get("runs") or [{k: v for k, v in new.items() if k != "runs"}])
    out = {k: v for k, v in new.items() if k != "runs"}
    names = set(old.get("xsweep_constants") or ()) | set(
        new.get("xsweep_constants") or ()
    )
    if names:
        out["xsweep_constants"] = sorted(names)
    out["runs"] = runs
    return out

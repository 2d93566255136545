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

Read it with :func:`xsweep.provenance` (:mod:`xsweep.manage`: it also reads a
saved file); the writers and mergers of files use :func:`record_of`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["PROVENANCE_KEY", "record_of", "set_provenance"]

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


def record_of(obj: Any) -> dict[str, Any]:
    """The provenance record of a result in memory (a copy; empty when none).

    :func:`xsweep.provenance` (in :mod:`xsweep.manage`) is the public reader:
    it also takes the path of a saved file.
    """
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

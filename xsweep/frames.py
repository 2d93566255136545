"""Turn filled output buffers into rows: the :class:`pandas.DataFrame` a Sampler keeps.

One row per combo or case, in order: the argument columns, then one column per
output (an output with internal dimensions gives a column of arrays). Failed
and missing entries are NaN, as in a dataset; the failures are listed (JSON) in
``df.attrs["xsweep_failures"]``. Both the in-memory Sampler and a Sampler's
crop build their rows here, so the two give the same frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .labelling import failures_to_attr
from .netcdf import FAILURES_ATTR
from .provenance_record import set_provenance

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["buffer_to_frame"]


def buffer_to_frame(
    buffer: Any,
    combos: Any,
    *,
    var_names: Sequence[str],
    attrs: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A filled :class:`~xsweep.engine.OutputBuffer` as one row per combo.

    Parameters
    ----------
    buffer : OutputBuffer
        One entry per combo or case; failed and missing ones read as NaN.
    combos : Grid or Cases
        What was run: one row each, in order (C order for a grid).
    var_names : sequence of str
        The outputs, one column each after the argument columns.
    attrs : mapping, optional
        The frame's ``attrs``.
    provenance : mapping, optional
        The provenance record, kept as ``attrs["xsweep_provenance"]``.
    constants : mapping, optional
        Constants with a single (scalar) value get a column each, after the
        outputs (as in xyzpy), so rows sampled with other constants stay
        distinguishable.

    Returns
    -------
    pandas.DataFrame
        With ``attrs["xsweep_failures"]`` (JSON) when some combos failed.
    """
    import pandas as pd

    rows = list(combos.iter_range(0, combos.size))
    data: dict[str, Any] = {}
    for k, name in enumerate(combos.names):
        data[name] = column([row[k] for row in rows])
    outer = len(combos.shape)
    for name in var_names:
        values = buffer.arrays[name]
        values = values.reshape(combos.size, *values.shape[outer:])
        data[name] = values if values.ndim == 1 else column(list(values))
    for name, value in (constants or {}).items():
        if name not in data and np.ndim(value) == 0:
            data[name] = np.full(len(rows), value)
    df = pd.DataFrame(data)
    df.attrs.update(attrs or {})
    set_provenance(df, dict(provenance or {}))
    failures = list(getattr(buffer, "failures", ()))
    if failures:
        df.attrs[FAILURES_ATTR] = failures_to_attr(failures)
    return df


def column(values: list) -> np.ndarray:
    """A column for ``values``: numeric when they are numbers, else objects."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    with contextlib.suppress(ValueError, TypeError):
        arr = np.asarray(values)
        if arr.ndim == 1:
            return arr
    return out

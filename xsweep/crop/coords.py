"""Combo values that can label a dataset: checked when a crop is sown.

A crop reaped into a dataset makes a coordinate of each argument swept. A
value that is a container (tuple, list, dict, array) cannot be one
coordinate value, and values of different kinds in one dimension (numbers and
strings) would silently all become strings. Both are refused at sow time,
with the fix, rather than failing every reap after the whole crop was grown.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

from ..errors import InvalidCombosError

_CONTAINERS = (tuple, list, dict, set, frozenset, np.ndarray)


def _kind(value: Any) -> str:
    if isinstance(value, (bool, int, float, complex, np.bool_, np.number)):
        return "number"
    if isinstance(value, (str, np.str_)):
        return "string"
    if isinstance(value, (bytes, np.bytes_)):
        return "bytes"
    if isinstance(value, (datetime.date, datetime.timedelta, np.datetime64)):
        return "time"
    if isinstance(value, np.timedelta64):
        return "time"
    return "object"


def _columns(combos: Any) -> list[tuple[str, Any]]:
    if hasattr(combos, "cases"):
        return [
            (name, [case[i] for case in combos.cases])
            for i, name in enumerate(combos.names)
        ]
    return list(zip(combos.names, combos.values, strict=True))


def check_coordinates(combos: Any) -> None:
    """Raise :class:`InvalidCombosError` unless every value can be a coordinate.

    Parameters
    ----------
    combos : Grid or Cases
        What is being sown into a crop whose results are labelled.
    """
    for name, values in _columns(combos):
        if isinstance(values, np.ndarray) and values.dtype.kind in "biufcUSMm":
            continue  # one plain dtype
        kinds: dict[str, Any] = {}
        for value in values:
            if isinstance(value, _CONTAINERS):
                raise InvalidCombosError(
                    f"the values of {name!r} include {value!r:.60} (a "
                    f"{type(value).__name__}), which cannot be one coordinate of "
                    "the reaped dataset. Sweep a number or name standing for "
                    f"each, e.g. {name}_index=range(n), and look the "
                    f"{type(value).__name__} up in your function; or sow with a "
                    "plain Crop (no var_names) to reap raw results."
                )
            kinds.setdefault(_kind(value), value)
        if len(kinds) > 1:
            shown = ", ".join(f"{v!r:.20} ({k})" for k, v in kinds.items())
            raise InvalidCombosError(
                f"the values of {name!r} mix kinds: {shown}; as one coordinate "
                "they would all become strings (or objects netCDF cannot save). "
                f"Make them one kind, e.g. all strings: {name}="
                f"{[str(v) for v in list(values)[:3]]!r}..."
            )

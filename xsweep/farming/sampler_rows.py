"""How a Sampler's rows are merged: appended, or replacing a sowing's rows.

``full_df.attrs`` records which rows each crop sowing added, so reaping a
sowing again replaces its rows, and rows already present (the same samples
sown and grown again) are not added twice.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import provenance_record
from ..netcdf import FAILURES_ATTR

if TYPE_CHECKING:
    import pandas as pd

#: ``full_df.attrs`` key: the rows each crop sowing merged, JSON ``{id: [start, stop]}``
CROP_ROWS_ATTR = "xsweep_crop_rows"
#: the key tagging a failure record with the crop sowing it came from
SOWING_KEY = "crop_sowing"


def _append(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` then ``new`` rows, renumbered, with the attributes of both."""
    import pandas as pd

    if old is None:
        return new.reset_index(drop=True)
    # pandas keeps attrs through concat only when they are equal: merge by hand
    full = pd.concat([old, new]).reset_index(drop=True)
    full.attrs = _merged_attrs(old, new)
    shifted = {k: [a + len(old), b + len(old)] for k, (a, b) in _spans(new).items()}
    _set_attrs(full, _records(old) + _records(new), {**_spans(old), **shifted})
    return full


def _merge_sowing(
    old: pd.DataFrame | None, new: pd.DataFrame, source: str, inputs: list[str]
) -> pd.DataFrame:
    """``old`` with the rows of crop sowing ``source`` replaced by ``new``.

    Appended when ``old`` has no rows from that sowing, or when they no longer
    hold the same cases (the frame was changed since: warned).
    """
    import pandas as pd

    spans = _spans(old)
    span = spans.get(source)
    if span is not None and not _holds(old, new, span, inputs):
        warnings.warn(
            f"the rows that crop sowing {source} added to the Sampler's frame "
            f"(rows {span[0]} to {span[1] - 1}) were changed since; its reaped rows "
            "are appended again, not replaced.",
            stacklevel=4,
        )
        span = None
    if span is None and (same := _same_rows_at(old, new)) is not None:
        warnings.warn(
            f"the {len(new)} reaped rows are already in the Sampler's frame (rows "
            f"{same} to {same + len(new) - 1}, same arguments and results: the same "
            "samples sown and grown again, e.g. a script run twice with one seed); "
            "they are not added twice. Sow with another seed for new samples.",
            stacklevel=4,
        )
        full = old.copy()
        full.attrs = dict(old.attrs)
        _set_attrs(full, _records(old), {**spans, source: [same, same + len(new)]})
        return full
    if span is None:
        full = _append(old, new)
        start = 0 if old is None else len(old)
        span, kept = [start, start + len(new)], _records(old)
    else:
        a, b = span
        full = pd.concat([old.iloc[:a], new, old.iloc[b:]]).reset_index(drop=True)
        full.attrs = _merged_attrs(old, new)
        kept = [r for r in _records(old) if r.get(SOWING_KEY) != source]
    tagged = [{**r, SOWING_KEY: source} for r in _records(new)]
    _set_attrs(full, kept + tagged, {**spans, source: span})
    return full


def _same_rows_at(old: pd.DataFrame | None, new: pd.DataFrame) -> int | None:
    """Where ``old`` already holds exactly ``new``'s rows, in order (or None)."""
    if old is None or not len(new) or len(new) > len(old):
        return None
    if list(old.columns) != list(new.columns):
        return None
    key = [_cell(v) for v in new.iloc[0]]
    for start in range(len(old) - len(new) + 1):
        if [_cell(v) for v in old.iloc[start]] != key:
            continue
        part = old.iloc[start : start + len(new)].reset_index(drop=True)
        with contextlib.suppress(ValueError, TypeError):
            if part.equals(new.reset_index(drop=True)):
                return start
    return None


def _cell(value: Any) -> Any:
    return repr(value) if isinstance(value, (np.ndarray, list)) else value


def _holds(old: Any, new: pd.DataFrame, span: list[int], inputs: list[str]) -> bool:
    """Whether rows ``span`` of ``old`` hold the cases of ``new``, in order."""
    a, b = span
    if b - a != len(new) or b > len(old):
        return False
    try:
        part = old.iloc[a:b]
        return all(part[c].tolist() == new[c].tolist() for c in inputs)
    except (KeyError, ValueError, TypeError):  # a column gone, or arrays
        return False


def _merged_attrs(old: pd.DataFrame, new: pd.DataFrame) -> dict:
    """The attrs of both; their provenance records kept as runs of one."""
    attrs = {**old.attrs, **new.attrs}
    record = provenance_record.merged(
        provenance_record.record_of(old), provenance_record.record_of(new)
    )
    if record:
        attrs[provenance_record.PROVENANCE_KEY] = record
    return attrs


def _spans(df: pd.DataFrame | None) -> dict[str, list[int]]:
    text = None if df is None else df.attrs.get(CROP_ROWS_ATTR)
    return json.loads(text) if text else {}


def _records(df: pd.DataFrame | None) -> list:
    text = None if df is None else df.attrs.get(FAILURES_ATTR)
    return json.loads(text) if text else []


def _set_attrs(df: pd.DataFrame, failures: list, spans: dict) -> None:
    """Set (or drop) the failure records and crop row spans of ``df``."""
    for key, value in ((FAILURES_ATTR, failures), (CROP_ROWS_ATTR, spans)):
        if value:
            df.attrs[key] = json.dumps(value)
        else:
            df.attrs.pop(key, None)

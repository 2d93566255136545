"""What to do about failed combos, in the words that reap, status and retry share.

Standard library only: the status pictures and the grow path use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: the type name of a failure caused by the labels, not by the function
LABELS_MISMATCH = "OutputMismatchError"

#: why a retry cannot fix failures caused by the labels, and what does
LABELS_DO_NOT_FIT = (
    "A retry would fail the same way: the labels (var_names, var_dims, "
    "var_coords) do not fit what the function returns. Sow the same "
    "combos again with labels that fit: every result is kept and only "
    "the failed combos are computed again"
)


def exc_type(failure: Any) -> str | None:
    """The type name of a failure: a :class:`~xsweep.engine.Failure` or its dict."""
    if isinstance(failure, Mapping):
        return failure.get("exc_type")
    return getattr(failure, "exc_type", None)


def labels_do_not_fit(failures: Iterable[Any]) -> bool:
    """Whether there are failures and each is a label mismatch
    (``OutputMismatchError``): a retry would fail them the same way."""
    types = [exc_type(f) for f in failures]
    return bool(types) and all(t == LABELS_MISMATCH for t in types)


def what_next(failures: Iterable[Any] | None, location: str | None) -> str:
    """What to do about failed combos, in parentheses: rerun them, or, when
    the labels do not fit the outputs, sow them again. ``location``: the
    crop's directory, for the command line's words (None: Python's)."""
    if labels_do_not_fit(failures or ()):
        return f"({LABELS_DO_NOT_FIT[0].lower()}{LABELS_DO_NOT_FIT[1:]})"
    if location is None:
        return "(rerun them with: crop.retry_failed())"
    return f"(rerun them with: xsweep retry {location})"

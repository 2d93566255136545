"""What is kept about a combo that raised, and the error raised for it."""

from __future__ import annotations

import dataclasses
import os
import socket
import traceback
from typing import Any

from ..errors import ComboFailedError

_HOST = socket.gethostname()


@dataclasses.dataclass(frozen=True)
class Failure:
    """One combo that raised.

    Plain data (no exception object), so it pickles anywhere and can be saved
    next to results.

    Attributes
    ----------
    index : int
        Flat index of the combo in its grid or cases.
    combo : dict
        The combo's arguments ``{name: value}`` (constants not included).
    exc_type : str
        The exception's class name, e.g. ``"ValueError"``.
    message : str
        ``str(exception)``.
    traceback : str
        The formatted traceback.
    host, pid : str, int
        Where it ran.
    start : float
        When the call started (epoch seconds).
    duration : float
        Seconds from the call's start to the exception.
    """

    index: int
    combo: dict[str, Any]
    exc_type: str
    message: str
    traceback: str
    host: str
    pid: int
    start: float
    duration: float

    def describe(self) -> str:
        """One line: the combo and what it raised."""
        return f"combo {shown(self.combo)} raised {self.exc_type}: {self.message}"


def shown(combo: dict[str, Any]) -> dict[str, Any]:
    """``combo`` for a message: numpy scalars as plain Python values, so that
    it reads ``{'x': 7}``, not ``{'x': np.int64(7)}``."""
    return {
        k: v.item() if getattr(v, "ndim", None) == 0 and hasattr(v, "item") else v
        for k, v in combo.items()
    }


def make_failure(
    index: int, combo: dict[str, Any], exc: BaseException, start: float, end: float
) -> Failure:
    """Build a :class:`Failure` from a caught exception."""
    return Failure(
        index=int(index),
        combo=combo,
        exc_type=type(exc).__name__,
        message=str(exc),
        traceback="".join(traceback.format_exception(exc)),
        host=_HOST,
        pid=os.getpid(),
        start=start,
        duration=max(end - start, 0.0),
    )


def combo_failed_message(
    index: int, combo: dict[str, Any], size: int, what: str
) -> str:
    """The message of :class:`ComboFailedError` for combo ``index``."""
    return (
        f"the function raised {what} for combo {shown(combo)} (flat index {index} of "
        f"{size}). The original exception is chained above. Pass "
        "on_error='record' to keep going: failed combos become NaN and are "
        "listed as failures."
    )


class RemoteTraceback(Exception):
    """The traceback text of an exception raised in another process."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


def raise_combo_failed(failure: Failure, size: int, exc: BaseException | None) -> None:
    """Raise :class:`ComboFailedError` for ``failure``, chained to ``exc``.

    ``exc`` is the original exception when it is available (same process, or
    unpickled from a worker); otherwise a :class:`RemoteTraceback` holding the
    worker's traceback text is chained instead.
    """
    if exc is None:
        exc = RemoteTraceback(failure.traceback)
    elif exc.__cause__ is None and failure.pid != os.getpid():
        exc.__cause__ = RemoteTraceback(failure.traceback)
    what = f"{failure.exc_type}: {failure.message}"
    message = combo_failed_message(failure.index, failure.combo, size, what)
    raise ComboFailedError(message) from exc

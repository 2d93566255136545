"""Turning SIGTERM into :class:`~xsweep.errors.Terminated` while growing.

A scheduler ends a task that reaches its time limit (or is cancelled) with
SIGTERM, and SIGKILL a little later. By default SIGTERM kills Python at once,
leaving the claims of the batches being grown: a grower on another host then
waits for the heartbeat timeout before taking them over. Raised as an
exception instead, SIGTERM lets the grower write what it computed and release
its claims, so the batches are free again at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from ..errors import Terminated


def _raise(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one: finish cleaning up
    raise Terminated(signum)


@contextlib.contextmanager
def released_on_sigterm() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread.

    Only where SIGTERM has its default action (killing the process): a handler
    the program installed itself, or an ignored SIGTERM, is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

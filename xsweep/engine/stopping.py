"""Stopping local workers when this process is told to stop.

SIGTERM (a scheduler's time limit, ``kill``) ends a Python process at once by
default, and its worker processes would go on computing, orphaned; Ctrl-C
would wait for them. Inside :func:`stopping_workers`, either first calls
``stop`` (kill the workers, write what is finished, release claims), then
takes its course: SIGTERM ends this process as it would have (status 143 in a
shell), Ctrl-C raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator

from ..errors import Terminated


def _raise(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one: finish stopping
    raise Terminated(signum)


@contextlib.contextmanager
def stopping_workers(stop: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGTERM and Ctrl-C call ``stop()`` before taking effect.

    SIGTERM is caught only where it has its default action, in the main
    thread (a handler the program installed, e.g. ``xsweep grow``'s, raises
    its own exception, which calls ``stop()`` all the same).
    """
    ours = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    )
    if ours:
        signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    except BaseException as exc:
        stop()
        if ours and isinstance(exc, Terminated):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)  # end as SIGTERM would have
        raise
    finally:
        if ours:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

"""A daemon thread that writes a grower's waiting results on time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


class Flusher:
    """A daemon thread calling ``flush`` every ``interval`` seconds until stopped."""

    def __init__(self, flush: Callable[[], None], interval: float) -> None:
        self._flush = flush
        self._interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="xsweep-flush", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            with contextlib.suppress(Exception):  # the grower meets it again
                self._flush()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()

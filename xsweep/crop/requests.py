"""A request sent to a supervised child and not collected yet.

The grower keeps up to two requests in its child at once
(:meth:`~xsweep.crop.supervised.Supervisor.start`); what the pipe cannot take
at once is written by a thread, so that a child blocked writing a large answer
and a grower writing a large request never wait on each other.
"""

from __future__ import annotations

import os
import threading

from .child import framed, send_bytes


class Request:
    """A request sent to the child (``Supervisor.start``), not collected yet."""

    def __init__(self, todo: list, t0: float) -> None:
        self.todo = todo
        self.t0 = t0
        self.alive = True  # False: the write failed (the child is dead)
        #: True: not (or no longer) in the child's pipe: its child died
        #: first, or one sent before it was: it is sent when collected
        self.orphan = False
        self.writer: threading.Thread | None = None

    def write(self, fd: int, data: bytes | memoryview, raw: bool = False) -> None:
        """Write the message ``data`` (``raw``: bytes already framed); a failed
        write (the child is dead) leaves :attr:`alive` False."""
        try:
            if raw:
                while data:
                    data = data[os.write(fd, data) :]
            else:
                send_bytes(fd, data)
        except OSError:
            self.alive = False

    def write_or_hand_over(self, fd: int, data: bytes) -> None:
        """Write what the pipe takes at once; a thread writes the rest."""
        left = memoryview(framed(data))
        os.set_blocking(fd, False)
        try:
            left = left[os.write(fd, left) :]
        except BlockingIOError:
            pass
        except OSError:
            self.alive = False
            return
        finally:
            os.set_blocking(fd, True)
        if left:
            self.writer = threading.Thread(
                target=self.write, args=(fd, left, True), daemon=True
            )
            self.writer.start()

    def finish(self) -> None:
        """Wait for the write (a dead child's pipe fails it at once)."""
        if self.writer is not None:
            self.writer.join(timeout=5.0)
            if not self.writer.is_alive():
                self.writer = None


def normalised(batches: list) -> list[tuple[list[tuple[int, int]], str]]:
    """``(runs, what)`` pairs with the runs as lists of plain int pairs."""
    return [([(int(a), int(b)) for a, b in runs], what) for runs, what in batches]

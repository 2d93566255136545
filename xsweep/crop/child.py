"""The child process of a supervised grower: it runs the function, nothing else.

Forked by :class:`~xsweep.crop.supervised.Supervisor`; talks to it through two
pipes, each message a pickle with an 8-byte length in front. It answers each
request (flat index runs) with the runs' blocks, or with the exception that
stopped them, and exits at EOF. Once the scheduler's warning signal has
reached the supervisor, the child starts no further batch of a request (it
answers None for each; the supervisor releases their claims). It never
returns into the code that forked it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import time
from collections.abc import Callable
from typing import Any

from ..engine.forked import die_with_parent
from ..errors import WorkerError
from .deadline import stop_requested
from .placement import Placement
from .provenance import resource_usage

_HEADER = struct.Struct("!Q")
#: signals the child ignores (a no-op handler: reset to default for programs
#: it starts, unlike SIG_IGN): a scheduler or a terminal signals the whole
#: process group, and the supervisor decides
SHIELDED = ("SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2")
#: exit status of a child whose own set-up failed
SETUP_FAILED = 70


def dumps(obj: Any) -> bytes:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle

        return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def send(fd: int, obj: Any) -> None:
    """Send ``obj`` (pickled) through the pipe ``fd``."""
    send_bytes(fd, dumps(obj))


def framed(data: bytes) -> bytes:
    """An already pickled message as it goes through a pipe (length first)."""
    return _HEADER.pack(len(data)) + data


def send_bytes(fd: int, data: bytes) -> None:
    """Send an already pickled message."""
    view = memoryview(framed(data))
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int) -> Any:
    """The next message, or :data:`EOF` when the other end is closed."""
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return EOF
    data = _read_exact(fd, _HEADER.unpack(head)[0])
    return EOF if data is None else pickle.loads(data)


EOF = object()


def run_child(
    rfd: int, wfd: int, run: Callable, placement: Placement, fault_fd: int
) -> None:
    """The child's life: set up, then answer run requests until EOF; never returns."""
    code = 0
    try:
        for name in SHIELDED:
            signal.signal(getattr(signal, name), _ignore)
        die_with_parent()
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")  # under memory pressure, this process dies first
        import faulthandler

        faulthandler.enable(file=fault_fd, all_threads=False)
        try:
            placement.apply()
        except BaseException as exc:
            send(wfd, ("error", _portable(exc)))
            recv(rfd)  # the request this answers
            raise
        while True:
            batches = recv(rfd)
            if batches is EOF:
                break
            done = []  # one answer for the request: each batch's blocks,
            try:  # end time and cost (cpu seconds, peak memory)
                for runs in batches:
                    if stop_requested():  # the warning signal: start no other
                        done.append(None)  # batch (its claim is released)
                        continue
                    before = resource_usage()
                    blocks = [run(start, stop) for start, stop in runs]
                    after = resource_usage()
                    cost = (after[0] - before[0], after[1])
                    done.append((blocks, time.time(), cost))
                reply: tuple = ("ok", done)
            except BaseException as exc:
                reply = ("error", _portable(exc))
            try:
                data = dumps(reply)
            except Exception as exc:
                data = dumps(("unpicklable", f"{type(exc).__name__}: {exc}"))
            send_bytes(wfd, data)
    except BaseException:
        code = SETUP_FAILED
    finally:
        os._exit(code)


def _ignore(signum: int, frame: object) -> None:
    return None


def _portable(exc: BaseException) -> Any:
    """``exc`` if it pickles, else a WorkerError carrying its traceback text."""
    import traceback

    try:
        pickle.loads(dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception(exc))
        return WorkerError(f"the grow child process raised:\n{text}")


def fault_file() -> int:
    """An anonymous file for the child's faulthandler output."""
    try:
        return os.memfd_create("xsweep-fault", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        import tempfile

        return os.dup(tempfile.TemporaryFile().fileno())

"""How a supervised child process died, and the failures that records.

A combo that kills the process running it (a signal, ``os._exit``, the
out-of-memory killer, a time limit) becomes a failure of that combo naming how
the process died, on which host, its peak memory and the faulthandler
traceback; combos a batch never ran after too many deaths become ``NotRun``
failures. Standard library and the engine's records only: this is on the grow
path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
from typing import Any

from ..engine.block import Block
from ..engine.failures import Failure, make_failure


@dataclasses.dataclass
class Death:
    """How a child process ended without answering."""

    pid: int
    status: int
    peak_rss_kib: int
    seconds: float
    limit: float | None = None  # killed by us: the combo passed this time limit

    def describe(self) -> str:
        """E.g. "was killed by signal 11 (SIGSEGV)"."""
        if self.limit is not None:
            return f"ran longer than the time limit of {self.limit:g} s and was killed"
        if os.WIFSIGNALED(self.status):
            num = os.WTERMSIG(self.status)
            try:
                name = signal.Signals(num).name
            except ValueError:
                name = f"signal {num}"
            text = f"was killed by signal {num} ({name})"
            if num == signal.SIGKILL:
                text += " (the out-of-memory killer, or kill -9)"
            return text
        code = os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else -1
        return (
            f"exited with status {code} without returning (os._exit, or a "
            "library calling exit())"
        )

    @property
    def exc_type(self) -> str:
        """The failure's type name."""
        return "TimeLimitExceeded" if self.limit is not None else "ProcessDied"


def death_block(combos: Any, index: int, death: Death, fault_text: str) -> Block:
    """A block holding the failure of combo ``index`` that ``death`` ended
    (``fault_text``: what faulthandler wrote, if anything)."""
    now = time.time()
    combo = combos.combo(index)
    mib = death.peak_rss_kib / 1024
    failure = make_failure(index, combo, RuntimeError(), now - death.seconds, now)
    message = (
        f"the process running this combo {death.describe()} (pid "
        f"{death.pid} on {failure.host}, peak memory {mib:.0f} MiB, after "
        f"{death.seconds:.3g} s)"
    )
    failure = dataclasses.replace(
        failure,
        exc_type=death.exc_type,
        message=message,
        traceback=fault_text or message + "\n",
        pid=death.pid,
    )
    return failed_block(index, [failure])


def not_run_blocks(
    combos: Any, indices: list[int], deaths: int, max_deaths: int
) -> list[Block]:
    """Blocks failing ``indices`` unrun: the batch killed too many processes."""
    message = (
        f"not run: this batch killed its process {deaths} times "
        f"(max_deaths={max_deaths}); the other combos of the "
        "batch are kept. Fix the function, then `xsweep retry` reruns these"
    )
    now = time.time()
    out = []
    for i in indices:
        f = make_failure(i, combos.combo(i), RuntimeError(message), now, now)
        out.append(failed_block(i, [dataclasses.replace(f, exc_type="NotRun")]))
    return out


def failed_block(index: int, failures: list[Failure]) -> Block:
    """A block of one combo, ``index``, holding only its failures."""
    return Block(index, index + 1, "empty", [], (0,), failures)


def reap_child(pid: int, grace: float) -> tuple[int, int]:
    """Wait for ``pid`` (SIGKILL after ``grace`` s): its status and peak RSS (KiB)."""
    deadline = time.monotonic() + grace
    delay = 0.0005
    while True:
        try:
            got, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return 0, 0
        if got == pid:
            return status, int(usage.ru_maxrss)
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return status, int(usage.ru_maxrss)
        time.sleep(delay)
        delay = min(delay * 2, 0.02)

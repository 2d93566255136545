"""When a grower must stop: a deadline, and the scheduler's warning signal.

A grower on a cluster node has an allocation that ends. Given a deadline
(``deadline=`` seconds, or read from the scheduler), it claims a batch only if
the batch's expected duration fits before the deadline with a margin, so it
never starts what it cannot finish; at the deadline itself a batch that ran
longer than expected is interrupted and its claim released. The expected
duration is the longest batch measured so far: by this grower, and in the
results already in the crop (read once, when the grower starts).

On the scheduler's warning signal (SLURM ``--signal=B:USR2@N``, or SIGUSR2 sent
by hand) a grower finishes the batch it is computing, claims no other and
stops; the command line then exits with :data:`EXIT_STOPPED` when batches are
left, so that a job script can requeue itself.

Standard library only: this is on the grow path. A scheduler is asked (one
``squeue`` or ``qstat`` call) only when running under it with no deadline in
the environment.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import Terminated
from .provenance import process_start_ticks

#: exit code of a grower that stopped early (deadline or warning signal) with
#: batches left to grow: grow again (a job script requeues itself on it).
#: 75 is ``EX_TEMPFAIL`` of ``sysexits.h``: "try again later".
EXIT_STOPPED = 75

#: seconds kept free before a deadline, on top of a quarter of the expected
#: duration of a batch (its result must be written before the allocation ends)
MARGIN_SECONDS = 1.0
MARGIN_FRACTION = 0.25

#: the scheduler's warning signal
WARNING_SIGNAL = signal.SIGUSR2


class DeadlineReached(Terminated):
    """The deadline passed while a batch was being computed (it is released)."""

    def __init__(self) -> None:
        super().__init__(signal.SIGALRM)
        self.args = ("the deadline passed while a batch was being grown",)


#: one byte, shared with the supervised child processes forked after import
#: (an anonymous shared mapping): 1 once the warning signal arrived, so that a
#: child given several batches in one request starts none after it
_stop_flag = mmap.mmap(-1, 1)


def stop_requested() -> bool:
    """Whether the warning signal arrived (claim no more batches, start none)."""
    return _stop_flag[0] == 1


class Deadline:
    """A grower's deadline and what it has measured of batch durations.

    Parameters
    ----------
    end : float or None
        Epoch seconds at which the grower must have stopped (None: no
        deadline, only the warning signal stops it).
    source : str
        Where ``end`` came from, for messages (``"deadline="``,
        ``"SLURM_JOB_END_TIME"``, ...).
    """

    def __init__(self, end: float | None, source: str = "deadline=") -> None:
        self.end = end
        self.source = source
        self.longest = 0.0
        self.reason: str | None = None

    def record(self, seconds: float) -> None:
        """A batch took ``seconds``."""
        self.longest = max(self.longest, float(seconds))

    def margin(self) -> float:
        """Seconds kept free before the deadline."""
        return MARGIN_SECONDS + MARGIN_FRACTION * self.longest

    def allows_another(self, now: float | None = None, queued: int = 0) -> bool:
        """Whether a batch may be claimed now, ``queued`` batches being claimed
        already and not computed yet (False: stop, ``reason`` says why)."""
        if stop_requested():
            self.reason = "the scheduler's warning signal arrived"
            return False
        if self.end is None:
            return True
        now = time.time() if now is None else now
        if now + self.longest * (queued + 1) + self.margin() <= self.end:
            return True
        left = self.end - now
        self.reason = (
            f"{max(left, 0):.1f} s left before the deadline ({self.source}) and "
            f"a batch takes up to {self.longest:.3g} s (+ {self.margin():.2g} s "
            "margin)"
        )
        return False

    @contextlib.contextmanager
    def enforced(self) -> Iterator[None]:
        """While inside, the deadline interrupts a batch that runs past it.

        Raises :class:`DeadlineReached` in the main thread at the deadline
        (SIGALRM); elsewhere, or where SIGALRM is in use, nothing is armed.
        """
        if (
            self.end is None
            or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
        ):
            yield
            return

        def _raise(signum: int, frame: object) -> None:
            raise DeadlineReached

        signal.signal(signal.SIGALRM, _raise)
        try:
            signal.setitimer(signal.ITIMER_REAL, max(self.end - time.time(), 1e-3))
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)


_asked: dict[int, tuple[float | None, str]] = {}


def resolve(deadline: Any) -> Deadline:
    """The :class:`Deadline` for ``deadline=``: seconds from now, a
    ``datetime``, or None (then the scheduler's end time, if knowable: asked
    once per process)."""
    if isinstance(deadline, Deadline):  # one end passed on (to workers, ...)
        return Deadline(deadline.end, deadline.source)
    if deadline is None:
        pid = os.getpid()
        if pid not in _asked:
            _asked.clear()
            _asked[pid] = scheduler_end_time()
        return Deadline(*_asked[pid])
    if hasattr(deadline, "timestamp"):  # a datetime
        return Deadline(deadline.timestamp(), f"deadline={deadline.isoformat()}")
    if isinstance(deadline, bool) or not isinstance(deadline, int | float):
        raise TypeError(
            f"deadline must be seconds from now (a number) or a datetime, not "
            f"{deadline!r}"
        )
    if not deadline > 0:
        raise ValueError(f"deadline must be > 0 seconds from now, got {deadline}")
    return Deadline(time.time() + float(deadline), f"deadline={deadline:g} s")


def scheduler_end_time(
    environ: Mapping[str, str] | None = None,
) -> tuple[float | None, str]:
    """When this job's allocation ends (epoch seconds), if the scheduler says.

    SLURM: ``SLURM_JOB_END_TIME``, else one ``squeue`` query. Grid Engine:
    the job's ``h_rt`` (one ``qstat -j`` query) from this process's start.
    PBS/Torque: ``PBS_WALLTIME`` from this process's start. Otherwise None.
    """
    env = os.environ if environ is None else environ
    if env.get("SLURM_JOB_END_TIME", "").isdigit():
        return float(env["SLURM_JOB_END_TIME"]), "SLURM_JOB_END_TIME"
    job = env.get("SLURM_JOB_ID")
    if job:
        out = _ask(["squeue", "--noheader", "--format=%A %e", f"--jobs={job}"])
        return squeue_end_time(out, job), f"squeue EndTime of job {job}"
    if env.get("PBS_WALLTIME", "").isdigit():
        return _started() + float(env["PBS_WALLTIME"]), "PBS_WALLTIME"
    job = env.get("JOB_ID")
    if job and ("SGE_TASK_ID" in env or "SGE_ROOT" in env):
        out = _ask(["qstat", "-j", job])
        m = re.search(r"h_rt=(\d+)", out)
        if m:
            return _started() + float(m.group(1)), f"h_rt of Grid Engine job {job}"
    return None, "no deadline"


def squeue_end_time(out: str, job: str) -> float | None:
    """The end time of job ``job`` in ``squeue --format="%A %e"`` output.

    Only the line of ``job`` itself counts: the last task of an array runs
    under the array's own job id, and ``squeue --jobs=<that id>`` lists every
    task of the array still known, a sibling that has just finished
    (COMPLETING, its end time now) possibly first. Taking that line made the
    task believe its allocation had ended and stop with its batch ungrown.
    """
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == job:
            return _parse_time(fields[1])
    return None


def _ask(argv: list[str]) -> str:
    """What a scheduler command prints ('' if it fails): asked once per grower."""
    import subprocess

    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def _parse_time(text: str) -> float | None:
    """``2026-11-30T21:00:00`` (the scheduler's local time) as epoch seconds."""
    import datetime

    try:
        return datetime.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return None  # "N/A", "Unknown": no time limit


def _started() -> float:
    """When this process started (epoch seconds): a task's start, near enough."""
    ticks = process_start_ticks(os.getpid())
    try:
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return time.time()
    if ticks is None:
        return time.time()
    return time.time() - uptime + ticks / hz


@contextlib.contextmanager
def stop_on_warning() -> Iterator[None]:
    """While inside, the warning signal (SIGUSR2) asks the grower to stop.

    It finishes the batch it is computing, claims no other and returns; only
    in the main thread, and only where SIGUSR2 has its default action.
    """
    _stop_flag[0] = 0
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(WARNING_SIGNAL) is not signal.SIG_DFL
    ):
        yield
        return

    def _note(signum: int, frame: object) -> None:
        _stop_flag[0] = 1

    signal.signal(WARNING_SIGNAL, _note)
    try:
        yield
    finally:
        signal.signal(WARNING_SIGNAL, signal.SIG_DFL)

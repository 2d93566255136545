"""The shape every scheduler back end shares: :class:`Scheduler`.

A back end says how to write its header (``#SBATCH`` lines, ``#$`` lines, ...),
which environment variable holds the array index and where indices start,
which index lists it accepts, and how to submit, poll and cancel. Everything
else (the script body, the task-to-batch mapping, option checking) is common.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from ..errors import SchedulerError
from .options import JobOptions
from .plan import TaskPlan


class Scheduler(ABC):
    """One batch scheduler: its directives, array variables and commands."""

    #: the name users pass: ``'slurm'``, ``'sge'``, ...
    name: ClassVar[str]
    #: directive prefix of header lines, e.g. ``'#SBATCH'``
    directive: ClassVar[str]
    #: environment variable(s) holding the array index, first set one wins
    index_vars: ClassVar[tuple[str, ...]]
    #: first array index
    index_base: ClassVar[int] = 1
    #: largest array index when the scheduler cannot be asked (None: no limit)
    default_max_index: ClassVar[int | None] = None
    #: the submission program, for a clear error when it is missing
    submit_program: ClassVar[str]
    #: programs that list queued jobs / cancel jobs
    poll_program: ClassVar[str] = ""
    cancel_program: ClassVar[str] = ""

    def __init__(self, max_array_size: int | None = None) -> None:
        self._max_array_size = max_array_size

    # --------------------------------------------------------------- script
    @abstractmethod
    def header(self, opts: JobOptions, plan: TaskPlan) -> list[str]:
        """The directive lines (without ``#!``), never containing ``None``."""

    def direct_ok(self, batch_ids: Sequence[int]) -> bool:
        """Whether these (sorted) batch ids can be used as array indices."""
        return True

    def max_index(self) -> int | None:
        """The largest array index allowed (asked from the scheduler if possible)."""
        if self._max_array_size is not None:
            return self.index_base + self._max_array_size - 1
        return self.default_max_index

    def index_expression(self) -> str:
        """Shell expression of the task's array index (fails when not in an array)."""
        expr = f"${{{self.index_vars[-1]}:?not run as an array task}}"
        for var in reversed(self.index_vars[:-1]):
            expr = f"${{{var}:-{expr}}}"
        return expr

    def extra_lines(self, opts: JobOptions) -> list[str]:
        """``header_lines`` with this scheduler's directive prefix added."""
        out = []
        for line in opts.header_lines:
            out.append(line if line.startswith("#") else f"{self.directive} {line}")
        return out

    def requeue_lines(self, opts: JobOptions) -> list[str]:
        """Directives asking for the warning signal and allowing a requeue."""
        raise SchedulerError(
            f"requeue=True is not supported for {self.name}: use slurm, sge, "
            "pbs or lsf, or resubmit the missing batches (grow_cluster again)"
        )

    def requeue_command(self) -> str:
        """Shell line by which a task requeues itself (after its grower exited
        75: stopped early with batches left)."""
        raise NotImplementedError

    def log_name(self, opts: JobOptions, plan: TaskPlan) -> str:
        """Log file path pattern (scheduler placeholders), in ``opts.logs()``."""
        return str(opts.logs() / f"{opts.name}.log")

    # ----------------------------------------------------------- submission
    @abstractmethod
    def submit_command(self, script: Path) -> tuple[list[str], str | None]:
        """The command submitting ``script`` and the text to feed it on stdin."""

    @abstractmethod
    def parse_job_id(self, output: str) -> str:
        """The job id in the submission program's output."""

    def submit(self, script: Path) -> str:
        """Submit ``script``; return the job id.

        Raises
        ------
        SchedulerError
            When the program is missing or refuses the job (its message included).
        """
        argv, stdin = self.submit_command(script)
        out = run_command(argv, stdin=stdin, cwd=script.parent, what="submission")
        try:
            return self.parse_job_id(out)
        except (ValueError, IndexError):
            raise SchedulerError(
                f"{self.name}: could not read a job id from {argv[0]}'s output "
                f"{out!r} for {script}"
            ) from None

    def queued_ids(self, job_id: str) -> list[str]:
        """Ids of this job's tasks still queued or running (empty when done)."""
        raise SchedulerError(f"{self.name}: waiting for jobs is not supported here")

    def cancel(self, job_id: str) -> None:
        """Cancel a job (all its array tasks)."""
        raise SchedulerError(f"{self.name}: cancelling jobs is not supported here")

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.5) -> None:
        """Block until no task of ``job_id`` is queued or running.

        Raises
        ------
        SchedulerError
            If the job is still there after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while self.queued_ids(job_id):
            if time.monotonic() > deadline:
                raise SchedulerError(
                    f"{self.name} job {job_id} still queued or running after "
                    f"{timeout:.0f} s; inspect it with {self.poll_program}"
                )
            time.sleep(poll)


def run_command(
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    cwd: str | os.PathLike | None = None,
    what: str = "command",
    timeout: float = 60.0,
) -> str:
    """Run a scheduler program; return its stdout or raise SchedulerError."""
    if shutil.which(argv[0]) is None:
        raise SchedulerError(
            f"{what} failed: {argv[0]!r} not found on PATH; is this a login node of "
            f"a cluster with that scheduler (or is its environment loaded)?"
        )
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise SchedulerError(
            f"{what} failed: {' '.join(argv)} did not answer in {timeout:.0f} s"
        ) from None
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or "(no message)"
        raise SchedulerError(
            f"{what} refused by {argv[0]} (exit {proc.returncode}): {message}"
        )
    return proc.stdout

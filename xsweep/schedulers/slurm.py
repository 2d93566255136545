"""SLURM: ``#SBATCH`` directives, ``sbatch``, ``squeue``, ``scancel``.

Array indices may be any list (``--array=3,7,9``), from 0 up to
``MaxArraySize - 1``, which is read from ``scontrol show config`` when
available.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import ClassVar

from ..errors import SchedulerError
from .base import Scheduler, run_command
from .options import JobOptions, format_hms
from .plan import TaskPlan, compress_ranges


class Slurm(Scheduler):
    """SLURM back end."""

    name: ClassVar[str] = "slurm"
    directive: ClassVar[str] = "#SBATCH"
    index_vars: ClassVar[tuple[str, ...]] = ("SLURM_ARRAY_TASK_ID",)
    index_base: ClassVar[int] = 0
    default_max_index: ClassVar[int | None] = 1000  # SLURM's default MaxArraySize 1001
    submit_program: ClassVar[str] = "sbatch"
    poll_program: ClassVar[str] = "squeue"
    cancel_program: ClassVar[str] = "scancel"

    def header(self, opts: JobOptions, plan: TaskPlan) -> list[str]:
        d = self.directive
        lines = [f"{d} --job-name={opts.name}"]
        if plan.mode == "array":
            spec = ",".join(compress_ranges(plan.indices))
            cap = f"%{opts.max_running}" if opts.max_running else ""
            lines.append(f"{d} --array={spec}{cap}")
        lines.append(f"{d} --output={self.log_name(opts, plan)}")
        if opts.time is not None:
            lines.append(f"{d} --time={format_hms(opts.time, days=True)}")
        if opts.nodes is not None:
            lines.append(f"{d} --nodes={opts.nodes}")
        lines.append(f"{d} --ntasks={opts.ranks}")
        lines.append(f"{d} --cpus-per-task={opts.cpus}")
        if opts.mem_mb is not None:
            lines.append(f"{d} --mem={opts.mem_mb}M")
        if opts.mem_per_cpu_mb is not None:
            lines.append(f"{d} --mem-per-cpu={opts.mem_per_cpu_mb}M")
        if opts.gpus:
            lines.append(f"{d} --gres=gpu:{opts.gpus}")
        if opts.partition is not None:
            lines.append(f"{d} --partition={opts.partition}")
        if opts.account is not None:
            lines.append(f"{d} --account={opts.account}")
        return lines + self.extra_lines(opts)

    def requeue_lines(self, opts: JobOptions) -> list[str]:
        d = self.directive
        # B: the signal goes to the batch shell, which passes it on to Python;
        # append: a requeued task adds to its log instead of replacing it
        return [
            f"{d} --signal=B:USR2@{opts.warning_time}",
            f"{d} --requeue",
            f"{d} --open-mode=append",
        ]

    def requeue_command(self) -> str:
        return 'scontrol requeue "$SLURM_JOB_ID"'

    def log_name(self, opts: JobOptions, plan: TaskPlan) -> str:
        pattern = "%x-%A_%a.out" if plan.mode == "array" else "%x-%j.out"
        return str(opts.logs() / pattern)

    def max_index(self) -> int | None:
        if self._max_array_size is None:
            self._max_array_size = query_max_array_size()
        return super().max_index()

    def submit_command(self, script: Path) -> tuple[list[str], str | None]:
        return ["sbatch", "--parsable", str(script)], None

    def parse_job_id(self, output: str) -> str:
        # --parsable prints "<jobid>" or "<jobid>;<cluster>"
        job_id = output.strip().splitlines()[-1].split(";")[0].strip()
        if not job_id.isdigit():
            raise ValueError(job_id)
        return job_id

    def queued_ids(self, job_id: str) -> list[str]:
        try:
            out = run_command(
                ["squeue", "--noheader", "--array", "--format=%i", f"--jobs={job_id}"],
                what="squeue",
            )
        except SchedulerError as e:
            if "invalid job id" in str(e).lower():
                return []  # finished long enough ago to be forgotten (MinJobAge)
            raise
        return [line.strip() for line in out.splitlines() if line.strip()]

    def cancel(self, job_id: str) -> None:
        """Cancel job ``"<id>"``, or one array task ``"<id>_<task>"``."""
        run_command(["scancel", job_id], what="scancel")


def query_max_array_size() -> int | None:
    """``MaxArraySize`` from ``scontrol show config``, or None if unavailable."""
    if shutil.which("scontrol") is None:
        return None
    try:
        out = subprocess.run(
            ["scontrol", "show", "config"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"^MaxArraySize\s*=\s*(\d+)", out, re.MULTILINE)
    return int(m.group(1)) if m else None

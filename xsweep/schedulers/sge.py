"""(Son of) Grid Engine: ``#$`` directives, ``qsub``, ``qstat``, ``qdel``.

Array task ids start at 1 and must form one range with a step
(``-t 4-20:2``), so other id lists are mapped through the script. Root cannot
submit (``min_uid``), and ``qsub`` passes no environment: the script sets up
Python itself (absolute interpreter path, ``shell_setup`` lines).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from ..errors import SchedulerError
from .base import Scheduler, run_command
from .options import JobOptions, format_hms
from .plan import TaskPlan, as_range


class GridEngine(Scheduler):
    """Son of Grid Engine / Univa / Altair Grid Engine back end."""

    name: ClassVar[str] = "sge"
    directive: ClassVar[str] = "#$"
    index_vars: ClassVar[tuple[str, ...]] = ("SGE_TASK_ID",)
    index_base: ClassVar[int] = 1
    default_max_index: ClassVar[int | None] = 75000  # stock max_aj_tasks
    submit_program: ClassVar[str] = "qsub"
    poll_program: ClassVar[str] = "qstat"
    cancel_program: ClassVar[str] = "qdel"

    def header(self, opts: JobOptions, plan: TaskPlan) -> list[str]:
        if opts.nodes is not None and opts.nodes > 1:
            raise SchedulerError(
                "sge: Grid Engine has no nodes option; ask for slots with cpus= "
                "(and a parallel environment spanning hosts with pe=)"
            )
        d = self.directive
        lines = [f"{d} -N {opts.name}", f"{d} -S /bin/bash", f"{d} -j y"]
        if plan.mode == "array":
            first, last, step = as_range(plan.indices) or (0, 0, 0)
            if not step:
                raise SchedulerError(f"sge: indices {plan.indices} are not one range")
            lines.append(f"{d} -t {first}-{last}" + (f":{step}" if step > 1 else ""))
            if opts.max_running:
                lines.append(f"{d} -tc {opts.max_running}")
        lines.append(f"{d} -o {self.log_name(opts, plan)}")
        slots = opts.cpus * opts.ranks
        if slots > 1:
            lines.append(f"{d} -pe {opts.pe} {slots}")
        if opts.time is not None:
            lines.append(f"{d} -l h_rt={format_hms(opts.time)}")
        per_slot = opts.mem_per_cpu_mb
        if opts.mem_mb is not None:
            per_slot = -(-opts.mem_mb // slots)  # h_vmem is per slot
        if per_slot is not None:
            lines.append(f"{d} -l h_vmem={per_slot}M")
        if opts.gpus:
            lines.append(f"{d} -l gpu={opts.gpus}")
        if opts.partition is not None:
            lines.append(f"{d} -q {opts.partition}")
        if opts.account is not None:
            lines.append(f"{d} -P {opts.account}")
        return lines + self.extra_lines(opts)

    def requeue_lines(self, opts: JobOptions) -> list[str]:
        # -notify: SIGUSR2 before the kill (the queue's notify time ahead);
        # -r y: rerunnable; a task exiting 99 is put back in the queue
        return [f"{self.directive} -notify", f"{self.directive} -r y"]

    def requeue_command(self) -> str:
        return "exit 99  # Grid Engine: run this task again"

    def log_name(self, opts: JobOptions, plan: TaskPlan) -> str:
        pattern = "$JOB_NAME-$JOB_ID" + (".$TASK_ID" if plan.mode == "array" else "")
        return str(opts.logs() / f"{pattern}.out")

    def direct_ok(self, batch_ids: Sequence[int]) -> bool:
        return as_range(batch_ids) is not None

    def max_index(self) -> int | None:
        if self._max_array_size is None:
            self._max_array_size = _query_max_aj_tasks()
        return super().max_index()

    def submit_command(self, script: Path) -> tuple[list[str], str | None]:
        return ["qsub", "-terse", str(script)], None

    def parse_job_id(self, output: str) -> str:
        # -terse prints "<jobid>" or, for arrays, "<jobid>.<first>-<last>:<step>"
        job_id = output.strip().splitlines()[-1].split(".")[0].strip()
        if not job_id.isdigit():
            raise ValueError(job_id)
        return job_id

    def queued_ids(self, job_id: str) -> list[str]:
        out = run_command(["qstat", "-u", "*", "-g", "d"], what="qstat")
        found = []
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] == job_id:
                found.append(" ".join(parts))
        return found

    def cancel(self, job_id: str) -> None:
        """Cancel job ``"<id>"``, or one array task ``"<id>.<task>"``."""
        job, _, task = job_id.partition(".")
        run_command(["qdel", job, *(["-t", task] if task else [])], what="qdel")


def _query_max_aj_tasks() -> int | None:
    if shutil.which("qconf") is None:
        return None
    try:
        out = subprocess.run(
            ["qconf", "-sconf"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"^max_aj_tasks\s+(\d+)", out, re.MULTILINE)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None

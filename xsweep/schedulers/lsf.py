"""IBM Spectrum LSF: ``#BSUB`` directives, ``bsub < script``.

Arrays are ``-J "name[1-5,9]%cap"`` with the index in ``LSB_JOBINDEX``
(from 1). ``bsub`` reads the directives only from its standard input.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from .base import Scheduler
from .options import JobOptions
from .plan import TaskPlan, compress_ranges


class LSF(Scheduler):
    """LSF back end."""

    name: ClassVar[str] = "lsf"
    directive: ClassVar[str] = "#BSUB"
    index_vars: ClassVar[tuple[str, ...]] = ("LSB_JOBINDEX",)
    index_base: ClassVar[int] = 1
    default_max_index: ClassVar[int | None] = 1000  # default MAX_JOB_ARRAY_SIZE
    submit_program: ClassVar[str] = "bsub"
    poll_program: ClassVar[str] = "bjobs"

    def header(self, opts: JobOptions, plan: TaskPlan) -> list[str]:
        d = self.directive
        name = opts.name
        if plan.mode == "array":
            cap = f"%{opts.max_running}" if opts.max_running else ""
            name = f"{name}[{','.join(compress_ranges(plan.indices))}]{cap}"
        lines = [f'{d} -J "{name}"', f"{d} -o {self.log_name(opts, plan)}"]
        if opts.time is not None:
            minutes = -(-opts.time // 60)
            lines.append(f"{d} -W {minutes // 60}:{minutes % 60:02d}")
        slots = opts.cpus * opts.ranks
        lines.append(f"{d} -n {slots}")
        if opts.nodes is None or opts.nodes == 1:
            lines.append(f'{d} -R "span[hosts=1]"')
        else:
            lines.append(f'{d} -R "span[ptile={-(-slots // opts.nodes)}]"')
        per_slot = opts.mem_per_cpu_mb
        if opts.mem_mb is not None:
            per_slot = -(-opts.mem_mb // slots)
        if per_slot is not None:
            lines.append(f'{d} -R "rusage[mem={per_slot}]"')
            lines.append(f"{d} -M {per_slot}")
        if opts.gpus:
            lines.append(f'{d} -gpu "num={opts.gpus}"')
        if opts.partition is not None:
            lines.append(f"{d} -q {opts.partition}")
        if opts.account is not None:
            lines.append(f"{d} -P {opts.account}")
        return lines + self.extra_lines(opts)

    def requeue_lines(self, opts: JobOptions) -> list[str]:
        # -wa/-wt: the warning action and how long before the limit (minutes);
        # -Q: a task exiting 75 (stopped early, batches left) is requeued
        minutes = max(1, opts.warning_time // 60)
        d = self.directive
        return [f"{d} -wa USR2", f"{d} -wt {minutes}", f'{d} -Q "75"']

    def requeue_command(self) -> str:
        return "exit 75  # LSF requeues it (-Q 75)"

    def log_name(self, opts: JobOptions, plan: TaskPlan) -> str:
        pattern = "%J.%I.out" if plan.mode == "array" else "%J.out"
        return str(opts.logs() / f"{opts.name}-{pattern}")

    def submit_command(self, script: Path) -> tuple[list[str], str | None]:
        return ["bsub"], script.read_text()

    def parse_job_id(self, output: str) -> str:
        m = re.search(r"Job <(\d+)>", output)
        if not m:
            raise ValueError(output)
        return m.group(1)

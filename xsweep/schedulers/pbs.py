"""PBS Pro / OpenPBS and Torque: ``#PBS`` directives, ``qsub``.

PBS Pro arrays are ``-J first-last[:step]`` with the index in
``PBS_ARRAY_INDEX``; Torque arrays are ``-t`` lists with ``PBS_ARRAYID``.
The script reads whichever is set. Choose the dialect with
``pbs_flavor='pro'`` (default) or ``'torque'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from .base import Scheduler
from .options import JobOptions, format_hms
from .plan import TaskPlan, as_range, compress_ranges


class PBS(Scheduler):
    """PBS Pro / OpenPBS / Torque back end."""

    name: ClassVar[str] = "pbs"
    directive: ClassVar[str] = "#PBS"
    index_vars: ClassVar[tuple[str, ...]] = ("PBS_ARRAY_INDEX", "PBS_ARRAYID")
    index_base: ClassVar[int] = 1
    default_max_index: ClassVar[int | None] = 10000  # PBS Pro's max_array_size
    submit_program: ClassVar[str] = "qsub"
    poll_program: ClassVar[str] = "qstat"

    def __init__(self, max_array_size: int | None = None, flavor: str = "pro"):
        super().__init__(max_array_size)
        self.flavor = flavor

    def header(self, opts: JobOptions, plan: TaskPlan) -> list[str]:
        d = self.directive
        torque = opts.pbs_flavor == "torque"
        lines = [f"{d} -N {opts.name}", f"{d} -j oe"]
        cap = f"%{opts.max_running}" if opts.max_running else ""
        if plan.mode == "array":
            if torque:
                lines.append(f"{d} -t {','.join(compress_ranges(plan.indices))}{cap}")
            else:
                first, last, step = as_range(plan.indices) or (0, 0, 1)
                by = f":{step}" if step > 1 else ""
                lines.append(f"{d} -J {first}-{last}{by}{cap}")
        lines.append(f"{d} -o {self.log_name(opts, plan)}")
        nodes = opts.nodes or 1
        cpus = opts.cpus * opts.ranks
        mem = opts.mem_mb
        if opts.mem_per_cpu_mb is not None:
            mem = opts.mem_per_cpu_mb * cpus
        if torque:
            res = f"nodes={nodes}:ppn={cpus}"
            if opts.gpus:
                res += f":gpus={opts.gpus}"
            lines.append(f"{d} -l {res}")
            if mem is not None:
                lines.append(f"{d} -l mem={mem * nodes}mb")
        else:
            chunk = f"select={nodes}:ncpus={cpus}:mpiprocs={opts.ranks}"
            if mem is not None:
                chunk += f":mem={mem}mb"
            if opts.gpus:
                chunk += f":ngpus={opts.gpus}"
            lines.append(f"{d} -l {chunk}")
        if opts.time is not None:
            lines.append(f"{d} -l walltime={format_hms(opts.time)}")
        if opts.partition is not None:
            lines.append(f"{d} -q {opts.partition}")
        if opts.account is not None:
            lines.append(f"{d} -A {opts.account}")
        return lines + self.extra_lines(opts)

    def requeue_lines(self, opts: JobOptions) -> list[str]:
        # PBS sends SIGTERM (then SIGKILL) at the limit: no warning signal;
        # the grower's deadline (PBS_WALLTIME) stops it in time
        return [f"{self.directive} -r y"]

    def requeue_command(self) -> str:
        return 'qrerun "$PBS_JOBID"'

    def log_name(self, opts: JobOptions, plan: TaskPlan) -> str:
        out = opts.logs()
        if plan.mode == "array" and opts.pbs_flavor == "pro":
            return str(out / f"{opts.name}.^array_index^.out")
        return f"{out}/"  # a directory: PBS names the files itself

    def direct_ok(self, batch_ids: Sequence[int]) -> bool:
        return self.flavor == "torque" or as_range(batch_ids) is not None

    def submit_command(self, script: Path) -> tuple[list[str], str | None]:
        return ["qsub", str(script)], None

    def parse_job_id(self, output: str) -> str:
        job_id = output.strip().splitlines()[-1].strip()
        if not job_id:
            raise ValueError(output)
        return job_id

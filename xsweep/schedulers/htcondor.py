"""HTCondor: a submit description kept in the script's header comment.

HTCondor submits a *description* (``condor_submit job.sub``) naming an
executable, not a script with directives. The generated script carries its
description as a comment block (so there is still one readable file);
:meth:`HTCondor.submit` writes it out beside the script as ``<script>.sub``
with ``executable`` filled in. Tasks are numbered ``$(Process)`` = 0..N-1,
passed to the script as ``PROCESS_ID`` (and ``CLUSTER_ID``, the job id).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from ..atomic import write_bytes
from ..errors import SchedulerError
from .base import Scheduler
from .options import JobOptions
from .plan import TaskPlan

#: marks the start of the submit description in the script
BEGIN = "# HTCondor submit description"
#: prefix of each description line in the script
PREFIX = "#   "


class HTCondor(Scheduler):
    """HTCondor back end (vanilla universe)."""

    name: ClassVar[str] = "htcondor"
    directive: ClassVar[str] = PREFIX.rstrip()
    index_vars: ClassVar[tuple[str, ...]] = ("PROCESS_ID",)
    index_base: ClassVar[int] = 0
    default_max_index: ClassVar[int | None] = None
    submit_program: ClassVar[str] = "condor_submit"
    poll_program: ClassVar[str] = "condor_q"

    def header(self, opts: JobOptions, plan: TaskPlan) -> list[str]:
        if opts.partition is not None:
            raise SchedulerError(
                "htcondor: HTCondor has no partitions or queues; select machines "
                "with header_lines=['requirements = ...']"
            )
        if opts.nodes is not None and opts.nodes > 1:
            raise SchedulerError(
                "htcondor: several nodes need the parallel universe; this back end "
                "writes vanilla-universe jobs (one node per task)"
            )
        desc = [
            "universe = vanilla",
            "executable = <this script>",
            'environment = "CLUSTER_ID=$(Cluster) PROCESS_ID=$(Process)"',
            f"request_cpus = {opts.cpus * opts.ranks}",
        ]
        mem = opts.mem_mb
        if opts.mem_per_cpu_mb is not None:
            mem = opts.mem_per_cpu_mb * opts.cpus * opts.ranks
        if mem is not None:
            desc.append(f"request_memory = {mem}MB")
        if opts.gpus:
            desc.append(f"request_gpus = {opts.gpus}")
        if opts.time is not None:
            desc.append(f"allowed_job_duration = {opts.time}")
        if opts.account is not None:
            desc.append(f"accounting_group = {opts.account}")
        if opts.max_running and plan.mode == "array":
            desc.append(f"max_materialize = {opts.max_running}")
        log = self.log_name(opts, plan)
        desc += [f"output = {log}", f"error = {log[:-4]}.err"]
        desc.append(f"log = {opts.logs() / opts.name}.$(Cluster).log")
        desc += [line.lstrip("#").strip() for line in opts.header_lines]
        desc.append(f"queue {plan.num_tasks if plan.mode == 'array' else 1}")
        return [f"{BEGIN} (written to <script>.sub on submit):"] + [
            PREFIX + line for line in desc
        ]

    def log_name(self, opts: JobOptions, plan: TaskPlan) -> str:
        name = f"{opts.name}.$(Cluster).$(Process).out"
        return str(opts.logs() / name)

    def direct_ok(self, batch_ids: Sequence[int]) -> bool:
        return False  # $(Process) always runs 0..N-1

    def index_expression(self) -> str:
        return "${PROCESS_ID:?not run as an HTCondor job (PROCESS_ID unset)}"

    def submit_description(self, script: Path) -> str:
        """The submit description in ``script``'s header, executable filled in."""
        lines, inside = [], False
        for line in script.read_text().splitlines():
            if line.startswith(BEGIN):
                inside = True
            elif inside and line.startswith(PREFIX):
                lines.append(line[len(PREFIX) :])
            elif inside:
                break
        if not lines:
            raise SchedulerError(f"htcondor: no submit description found in {script}")
        text = "\n".join(lines) + "\n"
        return text.replace("<this script>", str(script.resolve()))

    def submit_command(self, script: Path) -> tuple[list[str], str | None]:
        sub = script.with_suffix(".sub")
        write_bytes(sub, self.submit_description(script).encode())
        return ["condor_submit", "-terse", str(sub)], None

    def parse_job_id(self, output: str) -> str:
        # -terse prints "<cluster>.<first proc> - <cluster>.<last proc>"
        m = re.match(r"\s*(\d+)\.", output)
        if not m:
            raise ValueError(output)
        return m.group(1)

"""The real schedulers accept the headers xsweep writes, and refusals surface.

A trivial array (no crop) proves the bring-up and the header of each back end;
a refused submission must raise SchedulerError with the scheduler's message.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from xsweep.errors import SchedulerError
from xsweep.schedulers import get_scheduler, parse_options
from xsweep.schedulers.plan import TaskPlan

from .daemons import CI_USER, sge_queue_usable


def trivial_script(scheduler, out: Path, indices, **options) -> str:
    """A header from ``scheduler`` and a body writing one file per task."""
    opts = parse_options(name="xsweep-trivial", output_dir=str(out), **options)
    plan = TaskPlan("array", "direct", tuple(indices), len(indices), tuple(indices))
    index = scheduler.index_expression()
    return "\n".join(
        [
            "#!/bin/bash",
            *scheduler.header(opts, plan),
            "set -euo pipefail",
            f'echo "$(id -un)" > "{out}/task-{index}.txt"',
            "",
        ]
    )


@pytest.mark.slurm
def test_slurm_runs_array_with_generated_header(slurm, tmp_path):
    backend = get_scheduler("slurm")
    script = tmp_path / "job.sh"
    script.write_text(
        trivial_script(backend, tmp_path, [0, 3, 7], time="0:05:00", mem="100M")
    )
    job_id = backend.submit(script)
    backend.wait(job_id, timeout=60)
    assert sorted(p.name for p in tmp_path.glob("task-*.txt")) == [
        "task-0.txt",
        "task-3.txt",
        "task-7.txt",
    ]


@pytest.mark.slurm
def test_slurm_refusal_raises_with_message(slurm, tmp_path):
    backend = get_scheduler("slurm")
    script = tmp_path / "job.sh"
    script.write_text(trivial_script(backend, tmp_path, [1], partition="nosuchpart"))
    with pytest.raises(SchedulerError, match=r"(?i)invalid partition"):
        backend.submit(script)


@pytest.mark.slurm
def test_slurm_max_array_size_is_read_from_scontrol(slurm):
    # scripts/ci/slurm_up.sh sets MaxArraySize=1001: indices 0..1000
    assert get_scheduler("slurm").max_index() == 1000


def _as_ciuser(argv, cwd):
    env = {**os.environ}
    return subprocess.run(
        ["runuser", "-u", CI_USER, "--", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


@pytest.mark.sge
def test_sge_runs_array_with_generated_header(sge, shared_tmp):
    backend = get_scheduler("sge")
    script = shared_tmp / "job.sh"
    script.write_text(trivial_script(backend, shared_tmp, [1, 2, 3], time="0:05:00"))
    script.chmod(0o755)
    proc = _as_ciuser(["qsub", "-terse", str(script)], cwd=shared_tmp)
    assert proc.returncode == 0, proc.stderr
    job_id = backend.parse_job_id(proc.stdout)
    backend.wait(job_id, timeout=60)
    names = sorted(p.name for p in shared_tmp.glob("task-*.txt"))
    assert names == ["task-1.txt", "task-2.txt", "task-3.txt"]
    assert (shared_tmp / "task-1.txt").read_text().strip() == CI_USER


@pytest.mark.sge
def test_sge_refusal_raises_with_message(sge, shared_tmp):
    # stock Grid Engine knows no `mem` resource: qsub refuses the job
    backend = get_scheduler("sge")
    script = shared_tmp / "job.sh"
    script.write_text(
        trivial_script(backend, shared_tmp, [1], header_lines=["-l mem=2G"])
    )
    with pytest.raises(SchedulerError, match='unknown resource "mem"'):
        backend.submit(script)  # as root: refused too, with a message


QSTAT_HEAD = """\
queuename                      qtype resv/used/tot. load_avg arch          states
---------------------------------------------------------------------------------
"""


def _row(load: str, arch: str, states: str) -> str:
    """A line of ``qstat -f``, spaced as Grid Engine prints it."""
    return f"{'all.q@vm':<31}BIP   0/0/2          {load:<9}{arch:<14}{states}"


@pytest.mark.parametrize(
    ("line", "usable"),
    [
        (_row("0.15", "lx-amd64", ""), True),
        (_row("1.90", "lx-amd64", "a"), True),  # load alarm: still runs jobs
        (_row("-NA-", "-NA-    ", "au"), False),  # its execd does not answer
        (_row("0.15", "lx-amd64", "d"), False),
        (_row("0.15", "lx-amd64", "E"), False),
        ("", False),
    ],
)
def test_an_sge_queue_in_state_unknown_or_error_is_not_running(line, usable):
    assert sge_queue_usable(QSTAT_HEAD + line + "\n") is usable

"""The job script: one readable template shared by every scheduler.

A generated script is the scheduler's header, a comment saying what the job
does, then plain bash: ``set -euo pipefail``, the user's shell set-up, thread
counts, the line(s) choosing this task's batches, and one Python command whose
exit code is the task's (so the scheduler shows a failed task as failed).
"""

from __future__ import annotations

import datetime
import shlex
import string

from .._version import __version__
from .base import Scheduler
from .options import THREAD_VARS, JobOptions
from .plan import TaskPlan

SCRIPT = string.Template(
    """\
#!/bin/bash
$header
#
# xsweep $version job script ($scheduler), generated $date.
# Crop:  $crop
# Tasks: $description
# Safe to edit and submit again: batches already grown are skipped.
set -euo pipefail
$setup$threads
$mapping
XSWEEP_CROP=$crop_q
XSWEEP_PYTHON=$python_q
XSWEEP_CODE=$$(cat <<'XSWEEP_PY'
import sys
$python_setup
from xsweep.schedulers.task import run_task
sys.exit(run_task(sys.argv[1], sys.argv[2:]))
XSWEEP_PY
)

# exit code: 0 grown (or nothing left), 1 some combos failed, 2 bad crop or batch,
# 3 crop not sown or reaped, 4 the file system failed, 75 stopped early (deadline)
$run"""
)

RUN = """XSWEEP_RC=0
$launcher"$$XSWEEP_PYTHON" -c "$$XSWEEP_CODE" "$$XSWEEP_CROP" $$XSWEEP_BATCHES \\
    || XSWEEP_RC=$$?
echo "xsweep task: grower exit code $$XSWEEP_RC"  # read by xsweep status
exit "$$XSWEEP_RC"
"""

REQUEUE = """# 75: stopped early with batches left (the warning signal, or its end
# near): the batch being grown was finished or released; requeue this task.
# The grower runs in the background so that this shell can pass the warning
# signal (SIGUSR2) and SIGTERM on to it.
$launcher"$$XSWEEP_PYTHON" -c "$$XSWEEP_CODE" "$$XSWEEP_CROP" $$XSWEEP_BATCHES &
XSWEEP_PID=$$!
trap 'kill -USR2 $$XSWEEP_PID 2>/dev/null || true' USR2
trap 'kill -TERM $$XSWEEP_PID 2>/dev/null || true' TERM
while kill -0 "$$XSWEEP_PID" 2>/dev/null; do
    wait "$$XSWEEP_PID" || true  # returns early when a signal arrives
done
wait "$$XSWEEP_PID" && XSWEEP_RC=0 || XSWEEP_RC=$$?
echo "xsweep task: grower exit code $$XSWEEP_RC"  # read by xsweep status
if [ "$$XSWEEP_RC" = 75 ]; then
    echo "xsweep task: stopped early with batches left: requeueing"
    $requeue
fi
exit "$$XSWEEP_RC"
"""

DIRECT = """\
# one batch per array task: the array index is the batch id
XSWEEP_BATCHES=$index
"""

MAPPED = """\
# array task $base+k grows batch XSWEEP_ALL[k] (and every ${num_tasks}th after it)
XSWEEP_TASK=$index
XSWEEP_ALL=(
$ids
)
XSWEEP_NUM_TASKS=$num_tasks
XSWEEP_BATCHES=""
for ((i = XSWEEP_TASK - $base; i < $${#XSWEEP_ALL[@]}; i += XSWEEP_NUM_TASKS)); do
    XSWEEP_BATCHES+=" $${XSWEEP_ALL[i]}"
done
"""

PULL = """\
# pull mode: claim and grow missing batches until none is left
XSWEEP_BATCHES=""
"""

LISTED = """\
# the batches this job grows
XSWEEP_BATCHES="$ids"
"""


def render_script(
    backend: Scheduler, opts: JobOptions, plan: TaskPlan, crop_location: str
) -> str:
    """The full job script text.

    Parameters
    ----------
    backend : Scheduler
    opts : JobOptions
        Validated options (``output_dir`` already resolved).
    plan : TaskPlan
    crop_location : str
        The crop directory, absolute.
    """
    setup = ""
    if opts.shell_setup:
        setup = "\n# shell set-up\n" + "\n".join(opts.shell_setup) + "\n"
    threads = (
        "\n# threads per task, set before Python starts\nexport "
        + " ".join(f"{v}={opts.threads}" for v in THREAD_VARS)
        + "\n"
    )
    launcher = f"{opts.launcher} " if opts.launcher else ""
    python_setup = opts.python_setup or "# (no python_setup)"
    header = backend.header(opts, plan)
    if opts.requeue:
        header += backend.requeue_lines(opts)
        run = string.Template(REQUEUE).substitute(
            launcher=launcher, requeue=backend.requeue_command()
        )
    else:
        run = string.Template(RUN).substitute(launcher=launcher)
    return SCRIPT.substitute(
        header="\n".join(header),
        version=__version__,
        scheduler=backend.name,
        date=datetime.datetime.now().isoformat(timespec="seconds"),
        crop=crop_location,
        description=plan.description,
        setup=setup,
        threads=threads,
        mapping=_mapping(backend, plan),
        crop_q=shlex.quote(crop_location),
        python_q=shlex.quote(opts.python),
        python_setup=python_setup,
        run=run,
    )


def _mapping(backend: Scheduler, plan: TaskPlan) -> str:
    if plan.shape == "pull":
        return PULL
    if plan.shape == "listed":
        ids = " ".join(map(str, plan.batch_ids))
        return string.Template(LISTED).substitute(ids=ids)
    index = backend.index_expression()
    if plan.shape == "direct":
        return string.Template(DIRECT).substitute(index=index)
    rows = [plan.batch_ids[i : i + 16] for i in range(0, len(plan.batch_ids), 16)]
    ids = "\n".join("    " + " ".join(map(str, row)) for row in rows)
    return string.Template(MAPPED).substitute(
        index=index, base=backend.index_base, num_tasks=plan.num_tasks, ids=ids
    )

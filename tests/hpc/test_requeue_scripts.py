"""``grow_cluster(..., requeue=True)``: each scheduler's directives for the
warning signal and the requeue, and a body that passes the signals on to the
grower and requeues the task when it stopped early (exit 75). SLURM's runs
for real in tests/schedulers/test_slurm_requeue.py."""

from __future__ import annotations

import pytest

import xsweep
from xsweep.errors import SchedulerError


def square(x):
    return x * x


@pytest.fixture
def crop(tmp_path):
    crop = xsweep.Crop(fn=square, parent_dir=tmp_path)
    crop.sow_combos({"x": [1, 2, 3]})
    return crop


EXPECTED = {
    "slurm": (
        [
            "#SBATCH --signal=B:USR2@300",
            "#SBATCH --requeue",
            "#SBATCH --open-mode=append",
        ],
        'scontrol requeue "$SLURM_JOB_ID"',
    ),
    "sge": (["#$ -notify", "#$ -r y"], "exit 99"),
    "pbs": (["#PBS -r y"], 'qrerun "$PBS_JOBID"'),
    "lsf": (["#BSUB -wa USR2", "#BSUB -wt 5", '#BSUB -Q "75"'], "exit 75"),
}


@pytest.mark.parametrize("scheduler", sorted(EXPECTED))
def test_requeue_scripts_ask_for_the_warning_and_requeue_on_75(crop, scheduler):
    text = crop.gen_cluster_script(
        scheduler, time="1:00:00", requeue=True, warning_time=300
    )
    lines, requeue = EXPECTED[scheduler]
    for line in lines:
        assert line + "\n" in text
    assert "trap 'kill -USR2 $XSWEEP_PID" in text and "trap 'kill -TERM" in text
    assert 'if [ "$XSWEEP_RC" = 75 ]; then' in text and requeue in text
    plain = crop.gen_cluster_script(scheduler, time="1:00:00")
    assert "USR2" not in plain and "XSWEEP_PID" not in plain
    assert "grower exit code" in plain  # every log ends with it


def test_htcondor_refuses_requeue_saying_what_to_do(crop):
    with pytest.raises(SchedulerError, match="requeue=True is not supported"):
        crop.gen_cluster_script("htcondor", requeue=True)


def test_warning_time_takes_seconds_or_hms_and_requeue_a_bool(crop):
    text = crop.gen_cluster_script("slurm", requeue=True, warning_time="0:02:30")
    assert "#SBATCH --signal=B:USR2@150\n" in text
    with pytest.raises(SchedulerError, match="requeue must be True or False"):
        crop.gen_cluster_script("slurm", requeue="yes")

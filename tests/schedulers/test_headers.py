"""Generated scripts: headers parsed back per scheduler; bodies are valid bash.

These use a stand-in crop (the protocol: ``location``, ``layout`` and
``missing_results()``); scripts run against real crops in ``test_run_body.py``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xsweep.crop.layout import CropLayout
from xsweep.errors import SchedulerError
from xsweep.schedulers import SCHEDULERS, gen_cluster_script, get_scheduler

ALL = sorted(SCHEDULERS)


@dataclass
class FakeCrop:
    location: str = "/scratch/me/.xyz-sweep"
    missing: list = field(default_factory=lambda: [1, 2, 3, 5, 7, 8])

    @property
    def layout(self):
        return CropLayout(Path(self.location))

    def missing_results(self):
        return self.missing


FULL = dict(
    time="1-02:03:04",
    mem="6G",
    cpus=3,
    gpus=1,
    partition="short",
    account="proj1",
    max_running=2,
    shell_setup=["module load python/3.11"],
    python_setup="import numpy",
    output_dir="/scratch/me/logs",
)


def directives(text: str, prefix: str) -> list[str]:
    return [
        line[len(prefix) :].strip()
        for line in text.splitlines()
        if line.startswith(prefix + " ")
    ]


@pytest.mark.parametrize("scheduler", ALL)
@pytest.mark.parametrize("options", [{}, FULL], ids=["defaults", "full"])
def test_no_none_and_valid_bash(scheduler, options):
    opts = dict(options)
    if scheduler == "htcondor":
        opts.pop("partition", None)
    text = gen_cluster_script(FakeCrop(), scheduler, **opts)
    assert "None" not in text
    assert text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)


def test_slurm_header():
    text = gen_cluster_script(FakeCrop(), "slurm", **FULL)
    got = directives(text, "#SBATCH")
    assert got == [
        "--job-name=xsweep-sweep",
        "--array=1-3,5,7-8%2",
        "--output=/scratch/me/logs/%x-%A_%a.out",
        "--time=1-02:03:04",
        "--ntasks=1",
        "--cpus-per-task=3",
        "--mem=6144M",
        "--gres=gpu:1",
        "--partition=short",
        "--account=proj1",
    ]
    assert "export OMP_NUM_THREADS=3 MKL_NUM_THREADS=3 OPENBLAS_NUM_THREADS=3" in text
    assert "module load python/3.11" in text
    # the array index is the batch id
    assert "XSWEEP_BATCHES=${SLURM_ARRAY_TASK_ID:?" in text


def test_slurm_time_is_not_misread():
    text = gen_cluster_script(FakeCrop(), "slurm", time="2:00:00")
    assert "#SBATCH --time=02:00:00" in text
    text = gen_cluster_script(FakeCrop(), "slurm", minutes=90, mem_per_cpu="500M")
    assert "#SBATCH --time=01:30:00" in text and "#SBATCH --mem-per-cpu=500M" in text


def test_slurm_extra_header_lines_get_the_prefix():
    text = gen_cluster_script(
        FakeCrop(), "slurm", header_lines=["--qos=debug", "#SBATCH --exclusive"]
    )
    assert "#SBATCH --qos=debug\n#SBATCH --exclusive\n" in text


def test_sge_header_maps_from_one():
    text = gen_cluster_script(FakeCrop(), "sge", **FULL)
    got = directives(text, "#$")
    assert got[:6] == [
        "-N xsweep-sweep",
        "-S /bin/bash",
        "-j y",
        "-t 1-6",
        "-tc 2",
        "-o /scratch/me/logs/$JOB_NAME-$JOB_ID.$TASK_ID.out",
    ]
    assert "-pe smp 3" in got and "-l h_rt=26:03:04" in got
    assert "-l h_vmem=2048M" in got  # per slot: 6G over 3 slots
    assert "-q short" in got and "-P proj1" in got and "-l gpu=1" in got
    assert "XSWEEP_TASK=${SGE_TASK_ID:?" in text
    assert "XSWEEP_ALL=(\n    1 2 3 5 7 8\n)" in text


def test_sge_uses_batch_ids_when_they_form_a_range():
    text = gen_cluster_script(FakeCrop(missing=[4, 5, 6, 7]), "sge")
    assert "#$ -t 4-7\n" in text and "XSWEEP_BATCHES=${SGE_TASK_ID:?" in text
    with pytest.raises(SchedulerError, match="nodes"):
        gen_cluster_script(FakeCrop(), "sge", nodes=2)


def test_pbs_pro_and_torque_headers():
    text = gen_cluster_script(FakeCrop(), "pbs", **FULL)
    got = directives(text, "#PBS")
    assert "-J 1-6%2" in got
    assert "-l select=1:ncpus=3:mpiprocs=1:mem=6144mb:ngpus=1" in got
    assert "-l walltime=26:03:04" in got and "-q short" in got and "-A proj1" in got
    assert "-o /scratch/me/logs/xsweep-sweep.^array_index^.out" in got
    assert "${PBS_ARRAY_INDEX:-${PBS_ARRAYID:?" in text
    text = gen_cluster_script(FakeCrop(), "pbs", pbs_flavor="torque", **FULL)
    got = directives(text, "#PBS")
    assert "-t 1-3,5,7-8%2" in got and "-l nodes=1:ppn=3:gpus=1" in got
    assert "-l mem=6144mb" in got
    assert "XSWEEP_BATCHES=${PBS_ARRAY_INDEX:-${PBS_ARRAYID:?" in text


def test_lsf_header():
    text = gen_cluster_script(FakeCrop(), "lsf", **FULL)
    got = directives(text, "#BSUB")
    assert got[0] == '-J "xsweep-sweep[1-3,5,7-8]%2"'
    assert "-W 26:04" in got  # minutes, rounded up
    assert "-n 3" in got and '-R "rusage[mem=2048]"' in got and "-M 2048" in got
    assert '-gpu "num=1"' in got and "-q short" in got and "-P proj1" in got
    assert "XSWEEP_BATCHES=${LSB_JOBINDEX:?" in text


def test_htcondor_description(tmp_path):
    opts = {k: v for k, v in FULL.items() if k != "partition"}
    text = gen_cluster_script(FakeCrop(), "htcondor", **opts)
    backend = get_scheduler("htcondor")
    script = tmp_path / "job.sh"
    script.write_text(text)
    desc = dict(
        line.split(" = ", 1)
        for line in backend.submit_description(script).splitlines()
        if " = " in line
    )
    assert desc["executable"] == str(script.resolve())
    assert desc["request_cpus"] == "3" and desc["request_memory"] == "6144MB"
    assert desc["request_gpus"] == "1" and desc["allowed_job_duration"] == "93784"
    assert desc["max_materialize"] == "2"
    assert "PROCESS_ID=$(Process)" in desc["environment"]
    assert re.search(r"^queue 6$", backend.submit_description(script), re.M)
    assert "XSWEEP_TASK=${PROCESS_ID:?" in text  # mapped from 0
    with pytest.raises(SchedulerError, match="partitions"):
        gen_cluster_script(FakeCrop(), "htcondor", partition="short")


def test_pull_mode_and_single_mode():
    crop = FakeCrop(missing=list(range(1, 10001)))
    text = gen_cluster_script(crop, "slurm", num_tasks=50)
    assert "#SBATCH --array=0-49\n" in text and 'XSWEEP_BATCHES=""' in text
    # too many for MaxArraySize: pull mode with the largest array allowed
    text = gen_cluster_script(crop, "slurm", max_array_size=100)
    assert "#SBATCH --array=0-99\n" in text and "claim and grow" in text
    text = gen_cluster_script(crop, "slurm", [4, 9], mode="single")
    assert "--array" not in text and 'XSWEEP_BATCHES="4 9"' in text


def test_launcher_and_unknown_scheduler():
    text = gen_cluster_script(FakeCrop(), "slurm", launcher="mpiexec -n 4", ranks=4)
    assert 'mpiexec -n 4 "$XSWEEP_PYTHON" -c' in text and "--ntasks=4" in text
    with pytest.raises(SchedulerError, match="unknown scheduler"):
        gen_cluster_script(FakeCrop(), "torque-ng")

"""Invariant 8: each result records who computed it, and when, under any of the
five schedulers; the reaped dataset's attributes summarise it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from grower_procs import by_value

import xsweep
from xsweep.crop.provenance import SCHEDULER_VARS
from xsweep.crop.store import ResultStore

xr = pytest.importorskip("xarray")

#: what each scheduler sets in a job-array task (HTCondor: the variables that
#: xsweep's submit file passes on), and the job id the summary should show
TASKS = {
    "slurm": (
        {
            "SLURM_JOB_ID": "1007",
            "SLURM_ARRAY_JOB_ID": "1000",
            "SLURM_ARRAY_TASK_ID": "7",
        },
        "SLURM_ARRAY_JOB_ID=1000",
    ),
    "sge": ({"JOB_ID": "2000", "SGE_TASK_ID": "2"}, "JOB_ID=2000"),
    "pbs": (
        {"PBS_JOBID": "3000[3].headnode", "PBS_ARRAY_INDEX": "3"},
        "PBS_JOBID=3000[].headnode",
    ),
    "lsf": ({"LSB_JOBID": "4000", "LSB_JOBINDEX": "4"}, "LSB_JOBID=4000"),
    "htcondor": ({"CLUSTER_ID": "5000", "PROCESS_ID": "4"}, "CLUSTER_ID=5000"),
}

SOURCE = "def square(x):\n    return x * x\n"


def grow_as_task(crop, batch: int, variables: dict[str, str]) -> None:
    """Grow ``batch`` in a fresh process that sees only ``variables`` of all
    the scheduler variables (none leak in from the environment of the tests)."""
    every = {name for names in SCHEDULER_VARS.values() for name in names}
    env = {k: v for k, v in os.environ.items() if k not in every}
    code = f"import xsweep; xsweep.grow({batch}, crop={crop.location!r})"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_every_schedulers_ids_are_recorded_per_result_and_summarised(tmp_path):
    runner = xsweep.Runner(by_value(SOURCE, "square"), var_names="sq")
    crop = runner.Crop(name="prov", parent_dir=tmp_path, batchsize=1)
    crop.sow_combos({"x": [1, 2, 3, 4, 5, 6]})
    before = time.time()
    for batch, (variables, _) in enumerate(TASKS.values(), 1):
        grow_as_task(crop, batch, variables)
    grow_as_task(crop, 6, {})  # a grower outside any scheduler
    after = time.time()

    sow = crop._read_sow()
    store = ResultStore(crop.layout)
    pids = set()
    for batch, (variables, _) in enumerate([*TASKS.values(), ({}, "")], 1):
        (prov,) = store.read(batch, sow.fingerprint(batch))["provenance"]
        assert prov["scheduler"] == variables
        assert prov["host"] == socket.gethostname()
        assert before <= prov["start"] <= prov["end"] <= after
        assert prov["fn_fingerprint"] == sow.fn_fingerprint
        pids.add(prov["pid"])
    assert len(pids) == 6 and os.getpid() not in pids

    ds = crop.reap()
    assert ds["sq"].values.tolist() == [1, 4, 9, 16, 25, 36]
    jobs = xsweep.provenance(ds)["crop_scheduler_jobs"].split(", ")
    assert sorted(jobs) == sorted(job for _, job in TASKS.values())
    assert xsweep.provenance(ds)["crop_hosts"] == socket.gethostname()
    assert xsweep.provenance(ds)["crop_num_processes"] == 6

    def iso(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    assert iso(before) <= xsweep.provenance(ds)["crop_first_start"]
    assert (
        xsweep.provenance(ds)["crop_first_start"]
        <= xsweep.provenance(ds)["crop_last_finish"]
        <= iso(after)
    )
    # the summary survives the netCDF file that a second reap reads back
    again = xsweep.Crop(name="prov", parent_dir=tmp_path).reap()
    assert (
        xsweep.provenance(again)["crop_scheduler_jobs"]
        == xsweep.provenance(ds)["crop_scheduler_jobs"]
    )


def test_one_pbs_array_is_one_job_in_the_summary():
    from xsweep.crop.provenance import summarise

    provs = [
        {"host": "n1", "pid": i, "scheduler": {"PBS_JOBID": f"77[{i}].head"}}
        for i in range(1, 40)
    ]
    assert summarise(provs)["crop_scheduler_jobs"] == "PBS_JOBID=77[].head"

"""A real crop grown by a real SLURM job array, and a cancelled task recovered."""

from __future__ import annotations

import time

import pytest
import xarray as xr

import xsweep
from xsweep.errors import SchedulerError
from xsweep.schedulers import get_scheduler

from ._sweep import assert_all_grown, expected, make_crop, provenance, wait_for

pytestmark = pytest.mark.slurm


def test_slurm_array_grows_crop_and_reap_equals_in_memory(slurm, tmp_path):
    t0 = time.monotonic()
    crop = make_crop(tmp_path)
    job_id = crop.grow_cluster("slurm", time="0:10:00", mem="500M")
    get_scheduler("slurm").wait(job_id, timeout=120)
    assert_all_grown(crop)
    for batch in range(1, 7):  # one batch per array task, index = batch id
        (prov,) = provenance(crop, batch)
        assert prov["scheduler"]["SLURM_ARRAY_JOB_ID"] == job_id
        assert prov["scheduler"]["SLURM_ARRAY_TASK_ID"] == str(batch)
    logs = sorted((tmp_path / ".xyz-sweep" / "logs").glob("*.out"))
    assert len(logs) == 6 and "grew batch(es) 1," in logs[0].read_text()
    ds = crop.reap()
    elapsed = time.monotonic() - t0
    print(f"\n[30-combo crop through SLURM: submit + grow + reap {elapsed:.1f} s]")
    xr.testing.assert_equal(ds, expected())
    assert (
        f"SLURM_ARRAY_JOB_ID={job_id}" in xsweep.provenance(ds)["crop_scheduler_jobs"]
    )


def test_cancelled_task_leaves_its_batch_to_a_second_submission(slurm, tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    crop = make_crop(tmp_path, hold=str(hold))
    slurm_ = get_scheduler("slurm")
    job_id = crop.grow_cluster("slurm", time="0:10:00")
    # batch 3 (x == 2) waits while `hold` exists: cancel its task mid-batch
    wait_for(
        lambda: any(bid == 3 for bid, _ in crop.layout.list_claims()),
        timeout=60,
        what="batch 3 to be claimed",
    )
    slurm_.cancel(f"{job_id}_3")
    slurm_.wait(job_id, timeout=120)
    assert crop.missing_results() == (3,)
    hold.unlink()
    # only the missing batch is submitted again; the dead task's claim is freed
    assert "#SBATCH --array=3\n" in crop.gen_cluster_script("slurm")
    job2 = crop.grow_cluster("slurm", time="0:10:00")
    slurm_.wait(job2, timeout=120)
    assert_all_grown(crop)
    (prov,) = provenance(crop, 3)
    assert prov["scheduler"]["SLURM_ARRAY_JOB_ID"] == job2
    assert crop.layout.list_claims() == {}
    xr.testing.assert_equal(crop.reap(), expected())


def test_array_beyond_the_limit_switches_to_pull_mode(slurm, tmp_path):
    crop = make_crop(tmp_path)
    # 6 missing batches, but an array of at most 3 tasks: 3 pulling tasks drain it
    job_id = crop.grow_cluster("slurm", max_array_size=3, time="0:10:00")
    get_scheduler("slurm").wait(job_id, timeout=120)
    assert_all_grown(crop)
    tasks = {
        provenance(crop, b)[0]["scheduler"]["SLURM_ARRAY_TASK_ID"] for b in range(1, 7)
    }
    assert tasks <= {"0", "1", "2"}
    xr.testing.assert_equal(crop.reap(), expected())


def test_refused_submission_raises_the_schedulers_message(slurm, tmp_path):
    crop = make_crop(tmp_path)
    with pytest.raises(SchedulerError, match=r"(?i)sbatch.*invalid partition"):
        crop.grow_cluster("slurm", partition="nosuchpartition")
    assert crop.missing_results() == (1, 2, 3, 4, 5, 6)

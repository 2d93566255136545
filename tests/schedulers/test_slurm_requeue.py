"""Preemption on a real SLURM: an array task requeued with ``scontrol requeue``
mid-batch, and a task stopped by the warning signal that requeues itself
(``grow_cluster(requeue=True)``), both resume without loss or duplicate."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import xarray as xr

from xsweep.schedulers import get_scheduler

from ._sweep import assert_all_grown, expected, make_crop, provenance, wait_for

pytestmark = pytest.mark.slurm


def logs(crop) -> dict[str, str]:
    """Every scheduler log of the crop, by file name."""
    found = sorted(Path(crop.location).rglob("*.out"))
    return {p.name: p.read_text() for p in found}


def grown_batches(text: str) -> list[int]:
    """Batch ids that task logs say were grown ("grew batch(es) 1, 3")."""
    out = []
    for m in re.finditer(r"grew batch\(es\) ([\d, ]+)", text):
        out += [int(b) for b in m.group(1).replace(" ", "").split(",") if b]
    return out


def state_of(task: str) -> str:
    done = subprocess.run(
        ["squeue", "--noheader", "--array", "--format=%T", f"--jobs={task}"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def start_now(task: str) -> None:
    """Let a requeued task start at once (SLURM delays a requeued job by a
    minute or two). Not within the second of its kill: slurmd refuses a job
    whose credential is as old as the revocation ("credential revoked")."""
    wait_for(lambda: state_of(task) == "PENDING", timeout=60, what=f"{task} queued")
    time.sleep(2)  # a credential newer than the revocation (1 s resolution)
    done = subprocess.run(
        ["scontrol", "update", f"jobid={task}", "starttime=now"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def assert_whole_without_duplicates(crop) -> None:
    assert_all_grown(crop)
    assert crop.layout.list_claims() == {}
    text = "\n".join(logs(crop).values())
    counts = Counter(grown_batches(text))
    assert sorted(counts) == [1, 2, 3, 4, 5, 6], text
    assert set(counts.values()) == {1}, f"a batch grown twice: {counts}\n{text}"
    for batch in range(1, 7):
        assert len(provenance(crop, batch)) == 1  # one growth per result
    xr.testing.assert_equal(crop.reap(), expected())


def test_an_array_task_requeued_mid_batch_resumes_without_loss_or_duplicate(
    slurm, tmp_path
):
    hold = tmp_path / "hold"
    hold.touch()
    crop = make_crop(tmp_path, hold=str(hold))  # batch 3 waits while `hold` exists
    job_id = crop.grow_cluster("slurm", time="0:10:00", requeue=True)
    wait_for(
        lambda: any(bid == 3 for bid, _ in crop.layout.list_claims()),
        timeout=60,
        what="batch 3 to be claimed",
    )
    task = f"{job_id}_3"
    subprocess.run(["scontrol", "requeue", task], check=True, capture_output=True)
    # the running task is ended, its claim released, the task queued again
    wait_for(
        lambda: not any(bid == 3 for bid, _ in crop.layout.list_claims()),
        timeout=60,
        what="the requeued task to release batch 3",
    )
    hold.unlink()
    start_now(task)
    get_scheduler("slurm").wait(job_id, timeout=180)
    (prov,) = provenance(crop, 3)
    assert prov["scheduler"]["SLURM_ARRAY_TASK_ID"] == "3"
    assert prov["scheduler"].get("SLURM_RESTART_COUNT") == "1"  # the second run
    assert_whole_without_duplicates(crop)


def test_the_warning_signal_stops_a_task_which_requeues_itself_and_finishes(
    slurm, tmp_path
):
    hold = tmp_path / "hold"
    hold.touch()
    crop = make_crop(tmp_path, hold=str(hold))
    # one job growing batches 1 to 6 in turn; batch 3 held by `hold`
    job_id = crop.grow_cluster(
        "slurm", [1, 2, 3, 4, 5, 6], mode="single", time="0:10:00", requeue=True,
        warning_time=60,
    )  # fmt: skip
    script = next(Path(crop.location).rglob("*.sh")).read_text()
    assert "#SBATCH --signal=B:USR2@60" in script and "#SBATCH --requeue" in script
    wait_for(
        lambda: any(bid == 3 for bid, _ in crop.layout.list_claims()),
        timeout=60,
        what="batch 3 to be claimed",
    )
    task = job_id
    # what SLURM does N seconds before the time limit (--signal=B:USR2@N)
    subprocess.run(
        ["scancel", "--batch", "--signal=USR2", task], check=True, capture_output=True
    )
    hold.unlink()  # the batch being grown is finished, then no other claimed
    wait_for(
        lambda: "requeueing" in "\n".join(logs(crop).values()),
        timeout=60,
        what="the task to requeue itself",
    )
    start_now(task)
    get_scheduler("slurm").wait(job_id, timeout=180)
    text = "\n".join(logs(crop).values())
    assert "grower exit code 75" in text and "warning signal" in text
    restarts = {
        provenance(crop, b)[0]["scheduler"].get("SLURM_RESTART_COUNT")
        for b in range(1, 7)
    }
    assert "1" in restarts  # batches left were grown by the requeued run
    assert_whole_without_duplicates(crop)

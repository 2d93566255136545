"""Scheduler output files go to the crop's ``logs/`` and nowhere else; ``xsweep
status`` summarises the failed tasks' last lines; ``xsweep clean`` removes them.
Real SLURM and Grid Engine arrays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import xsweep
from xsweep.schedulers import get_scheduler

from ._sweep import BATCHSIZE, COMBOS, fragile, wait_for
from .daemons import CI_USER
from .test_sge_crop import as_ciuser


def status_json(location: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "xsweep", "status", "--json", location],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr  # a successful query exits 0
    return json.loads(done.stdout)


def clean(location: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "xsweep", "clean", location],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def files_under(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


@pytest.mark.slurm
def test_slurm_logs_stay_in_the_crop_failed_tasks_summarised_clean_removes(
    slurm, tmp_path, monkeypatch
):
    work = tmp_path / "cwd"  # where the user submits from: must stay empty
    work.mkdir()
    monkeypatch.chdir(work)
    hold = tmp_path / "hold"
    hold.touch()
    crop = xsweep.Crop(
        fn=fragile, name="frag", parent_dir=tmp_path, batchsize=BATCHSIZE
    )
    crop.sow_combos(COMBOS)  # batch 5 (x == 4) fails every combo
    job_id = crop.grow_cluster("slurm", time="0:10:00")
    get_scheduler("slurm").wait(job_id, timeout=120)
    logs = sorted(Path(crop.layout.logs_dir).iterdir())
    assert [p.name for p in logs] == [
        f"xsweep-frag-{job_id}_{k}.out" for k in range(1, 7)
    ]
    assert files_under(work) == set()  # nothing in the submitting directory
    assert {p.name for p in tmp_path.iterdir()} == {".xyz-frag", "cwd", "hold"}

    data = status_json(crop.location)
    assert data["num_logs"] == 6
    (task,) = data["failed_tasks"]
    assert task["log"].endswith(f"_{5}.out") and task["exit_code"] == 1
    assert "grower exit code 1" in task["last_lines"][-1]
    text = subprocess.run(
        [sys.executable, "-m", "xsweep", "status", crop.location],
        capture_output=True,
        text=True,
    ).stdout
    assert "1 failed task (of 6 scheduler logs)" in text and "exit code 1" in text

    assert "removed 6 scheduler log(s)" in clean(crop.location)
    assert list(Path(crop.layout.logs_dir).iterdir()) == []
    assert status_json(crop.location)["failed_tasks"] == []
    del hold


@pytest.mark.slurm
def test_a_cancelled_slurm_task_shows_as_killed_with_the_schedulers_line(
    slurm, tmp_path
):
    from ._sweep import make_crop

    hold = tmp_path / "hold"
    hold.touch()
    crop = make_crop(tmp_path, hold=str(hold))  # batch 3 waits while `hold` exists
    job_id = crop.grow_cluster("slurm", time="0:10:00")
    wait_for(
        lambda: any(bid == 3 for bid, _ in crop.layout.list_claims()),
        timeout=60,
        what="batch 3 to be claimed",
    )
    running = status_json(crop.location)
    assert running["failed_tasks"] == []  # a running task is not a failed one
    get_scheduler("slurm").cancel(f"{job_id}_3")
    get_scheduler("slurm").wait(job_id, timeout=120)
    (task,) = status_json(crop.location)["failed_tasks"]
    assert task["exit_code"] is None and task["log"].endswith("_3.out")
    assert "CANCELLED" in "\n".join(task["last_lines"])


@pytest.mark.sge
def test_sge_logs_stay_in_the_crop_failed_tasks_summarised_clean_removes(
    ciuser_python, shared_tmp
):
    home = Path(f"/home/{CI_USER}")
    before = files_under(home)
    _, extra = ciuser_python
    code = "\n".join(
        [
            "import xsweep, sched_sweep as s",
            f"parent = {str(shared_tmp)!r}",
            "c = xsweep.Crop(fn=s.fragile, name='frag', parent_dir=parent,"
            " batchsize=s.BATCHSIZE)",
            "c.sow_combos(s.COMBOS)",
            f"setup = ['export PYTHONPATH={extra['PYTHONPATH']}']",
            "print(c.grow_cluster('sge', time='0:10:00', shell_setup=setup))",
        ]
    )
    job_id = as_ciuser(ciuser_python, code, shared_tmp)
    get_scheduler("sge").wait(job_id, timeout=120)
    crop = xsweep.Crop(name="frag", parent_dir=shared_tmp)
    logs = sorted(p.name for p in Path(crop.layout.logs_dir).iterdir())
    assert logs == [f"xsweep-frag-{job_id}.{k}.out" for k in range(1, 7)]
    assert {p.name for p in shared_tmp.iterdir()} == {".xyz-frag"}
    assert files_under(home) == before  # no .o/.e files in the user's home

    data = status_json(crop.location)
    (task,) = data["failed_tasks"]
    assert task["log"].endswith(f"{job_id}.5.out") and task["exit_code"] == 1
    assert (
        "1 failed task"
        in subprocess.run(
            [sys.executable, "-m", "xsweep", "status", crop.location],
            capture_output=True,
            text=True,
        ).stdout
    )
    assert "removed 6 scheduler log(s)" in clean(crop.location)
    assert os.listdir(crop.layout.logs_dir) == []

"""A real crop grown by a real Grid Engine array, submitted by an ordinary user.

Grid Engine refuses root, so ``ciuser`` sows and submits with an interpreter it
can run (see ``daemons.user_python``); ``qsub`` passes no environment, so the
job finds xsweep through ``shell_setup``. The test process (root) reaps.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import xarray as xr

from xsweep.schedulers import get_scheduler

from ._sweep import assert_all_grown, expected, provenance, wait_for
from .daemons import CI_USER, SGE_ENV

pytestmark = pytest.mark.sge


def as_ciuser(python_env, code: str, cwd) -> str:
    """Run Python ``code`` as ``ciuser`` with a clean environment; its stdout."""
    python, extra = python_env
    env = {"HOME": f"/home/{CI_USER}", "PATH": "/usr/bin:/bin", **SGE_ENV, **extra}
    proc = subprocess.run(
        ["runuser", "-u", CI_USER, "--", "env", "-i"]
        + [f"{k}={v}" for k, v in env.items()]
        + [python, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def submit_code(parent, python_env, sow: bool, hold: str = "") -> str:
    _, extra = python_env
    lines = [
        "import xsweep, sched_sweep as s",
        f"parent = {str(parent)!r}",
        f"c = s.make_crop(parent, hold={hold!r})"
        if sow
        else "c = xsweep.Crop(name='sweep', parent_dir=parent)",
        f"setup = ['export PYTHONPATH={extra['PYTHONPATH']}']",
        "print(c.grow_cluster('sge', time='0:10:00', shell_setup=setup))",
    ]
    return "\n".join(lines)


def open_crop(parent):
    import xsweep

    return xsweep.Crop(name="sweep", parent_dir=parent)


def test_sge_array_grows_crop_and_reap_equals_in_memory(ciuser_python, shared_tmp):
    job_id = as_ciuser(
        ciuser_python, submit_code(shared_tmp, ciuser_python, True), shared_tmp
    )
    get_scheduler("sge").wait(job_id, timeout=120)
    crop = open_crop(shared_tmp)
    assert_all_grown(crop)
    for batch in range(1, 7):  # SGE task ids start at 1: index = batch id
        (prov,) = provenance(crop, batch)
        assert prov["scheduler"]["JOB_ID"] == job_id
        assert prov["scheduler"]["SGE_TASK_ID"] == str(batch)
    xr.testing.assert_equal(crop.reap(), expected())


def test_deleted_sge_task_leaves_its_batch_to_a_second_submission(
    ciuser_python, shared_tmp
):
    hold = shared_tmp / "hold"
    hold.touch()
    os.chmod(hold, 0o666)
    code = submit_code(shared_tmp, ciuser_python, True, hold=str(hold))
    job_id = as_ciuser(ciuser_python, code, shared_tmp)
    crop = open_crop(shared_tmp)
    sge = get_scheduler("sge")
    wait_for(
        lambda: any(bid == 3 for bid, _ in crop.layout.list_claims()),
        timeout=60,
        what="batch 3 to be claimed",
    )
    sge.cancel(f"{job_id}.3")
    sge.wait(job_id, timeout=120)
    assert crop.missing_results() == (3,)
    hold.unlink()
    job2 = as_ciuser(
        ciuser_python, submit_code(shared_tmp, ciuser_python, False), shared_tmp
    )
    sge.wait(job2, timeout=120)
    assert_all_grown(crop)
    (prov,) = provenance(crop, 3)
    assert prov["scheduler"]["JOB_ID"] == job2
    xr.testing.assert_equal(crop.reap(), expected())

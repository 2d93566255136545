"""PBS, LSF and HTCondor cannot run here: run their generated scripts with the
scheduler's variables set by hand, on real crops, and check what was grown."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import xarray as xr

from xsweep.crop.crop import Crop
from xsweep.errors import SchedulerError

from ._sweep import (
    SCHEDULER_VARS,
    assert_all_grown,
    expected,
    fragile,
    make_crop,
    provenance,
)


def run_script(text: str, tmp_path, **env) -> subprocess.CompletedProcess:
    """Run a generated script's body with bash, as the scheduler would."""
    script = tmp_path / "job.sh"
    script.write_text(text)
    clean = {k: v for k, v in os.environ.items() if k not in SCHEDULER_VARS}
    return subprocess.run(
        ["bash", str(script)],
        env={**clean, **{k: str(v) for k, v in env.items()}},
        capture_output=True,
        text=True,
        timeout=120,
    )


def grown(crop) -> set[int]:
    return set(crop.completed_results())


@pytest.mark.parametrize(
    "flavor, var, ids, indices",
    [
        # PBS Pro: -J needs a range, so 2, 5, 6 are mapped through indices 1..3
        ("pro", "PBS_ARRAY_INDEX", [2, 5, 6], [1, 2, 3]),
        # Torque: -t takes lists, the index is the batch id
        ("torque", "PBS_ARRAYID", [2, 5, 6], [2, 5, 6]),
    ],
)
def test_pbs_script_grows_the_batch_of_each_index(tmp_path, flavor, var, ids, indices):
    crop = make_crop(tmp_path)
    text = crop.gen_cluster_script("pbs", ids, pbs_flavor=flavor)
    for index, batch in zip(indices, ids, strict=True):
        proc = run_script(text, tmp_path, **{var: index, "PBS_JOBID": "77.server"})
        assert proc.returncode == 0, proc.stderr
        assert batch in grown(crop)
        (prov,) = provenance(crop, batch)
        assert prov["scheduler"][var] == str(index)
        assert prov["scheduler"]["PBS_JOBID"] == "77.server"
    assert grown(crop) == set(ids)


def test_lsf_script_grows_listed_batches(tmp_path):
    crop = make_crop(tmp_path)
    text = crop.gen_cluster_script("lsf", [1, 3, 4])
    assert '#BSUB -J "xsweep-sweep[1,3-4]"' in text
    for index in (1, 3, 4):
        proc = run_script(text, tmp_path, LSB_JOBINDEX=index, LSB_JOBID=12)
        assert proc.returncode == 0, proc.stderr
        (prov,) = provenance(crop, index)
        assert prov["scheduler"]["LSB_JOBINDEX"] == str(index)
    assert grown(crop) == {1, 3, 4}


def test_htcondor_process_numbers_map_to_batches_then_reap(tmp_path):
    crop = make_crop(tmp_path)
    text = crop.gen_cluster_script("htcondor")
    assert "#   queue 6" in text
    for process in range(6):  # $(Process) runs 0..N-1
        proc = run_script(text, tmp_path, PROCESS_ID=process, CLUSTER_ID=5)
        assert proc.returncode == 0, proc.stderr
        assert grown(crop) == set(range(1, process + 2))
    (prov,) = provenance(crop, 4)
    assert prov["scheduler"]["PROCESS_ID"] == "3"
    xr.testing.assert_equal(crop.reap(), expected())


def test_split_array_tasks_grow_every_nth_batch(tmp_path):
    crop = make_crop(tmp_path)
    # an array limit of 2 tasks for 6 explicit batches: task k grows ids[k::2]
    text = crop.gen_cluster_script("sge", [1, 2, 3, 4, 5, 6], max_array_size=2)
    assert "#$ -t 1-2\n" in text
    assert run_script(text, tmp_path, SGE_TASK_ID=2).returncode == 0
    assert grown(crop) == {2, 4, 6}


def test_pull_mode_tasks_drain_the_crop(tmp_path):
    crop = make_crop(tmp_path)
    text = crop.gen_cluster_script("pbs", num_tasks=2)
    assert "#PBS -J 1-2\n" in text
    assert run_script(text, tmp_path, PBS_ARRAY_INDEX=1).returncode == 0
    assert_all_grown(crop)
    proc = run_script(text, tmp_path, PBS_ARRAY_INDEX=2)  # nothing left: still ok
    assert proc.returncode == 0, proc.stderr


def test_failed_combos_make_the_task_fail(tmp_path):
    crop = Crop(fn=fragile, parent_dir=tmp_path, batchsize=5)
    crop.sow_combos({"x": [3, 4], "y": [1, 2, 3, 4, 5]})
    text = crop.gen_cluster_script("lsf")
    assert run_script(text, tmp_path, LSB_JOBINDEX=1).returncode == 0
    proc = run_script(text, tmp_path, LSB_JOBINDEX=2)
    assert proc.returncode == 1  # the scheduler shows this task as failed
    assert "5 failed combo(s)" in proc.stdout


def test_task_outside_an_array_or_on_a_missing_crop_fails(tmp_path):
    crop = make_crop(tmp_path)
    text = crop.gen_cluster_script("lsf")
    proc = run_script(text, tmp_path)  # LSB_JOBINDEX unset
    assert proc.returncode != 0 and "not run as an array task" in proc.stderr
    crop.delete_all()
    proc = run_script(text, tmp_path, LSB_JOBINDEX=1)
    # nothing to do: the same exit code as `xsweep grow` on that crop (3)
    assert proc.returncode == 3 and "not sown" in proc.stderr
    grow = subprocess.run(
        [sys.executable, "-m", "xsweep", "grow", crop.location, "1"],
        capture_output=True,
        text=True,
    )
    assert grow.returncode == proc.returncode


def test_shell_and_python_setup_and_threads_run_before_growing(tmp_path):
    crop = make_crop(tmp_path)
    probe = tmp_path / "probe.txt"
    text = crop.gen_cluster_script(
        "slurm",
        [1],
        cpus=3,
        shell_setup=[f"echo shell-setup > {probe}"],
        python_setup=(
            "import os\n"
            f"with open({str(probe)!r}, 'a') as f:\n"
            "    f.write(os.environ['OMP_NUM_THREADS'])\n"
            "    f.write(os.environ['OPENBLAS_NUM_THREADS'])"
        ),
        python=sys.executable,
    )
    assert run_script(text, tmp_path, SLURM_ARRAY_TASK_ID=1).returncode == 0
    assert probe.read_text() == "shell-setup\n33"
    assert grown(crop) == {1}


def test_unsown_crop_is_refused_before_anything_is_written(tmp_path):
    crop = Crop(fn=fragile, parent_dir=tmp_path)
    with pytest.raises(SchedulerError, match="not sown"):
        crop.grow_cluster("slurm")
    assert not (tmp_path / ".xyz-fragile" / "cluster").exists()

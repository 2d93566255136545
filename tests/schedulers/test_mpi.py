"""MPI ranks from the launcher's variables; ranks share a grow run.

No MPI library is needed: the ranks' variables are set by hand, the way
Open MPI (``OMPI_COMM_WORLD_*``) or a PMI launcher (``PMI_*``, ``PMIX_RANK``)
sets them, and real processes grow a real crop concurrently.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from xsweep import mpi

from ._sweep import SCHEDULER_VARS, make_crop, provenance
from .daemons import CI_SCRIPTS, in_ci

MPI_VARS = [v for pair in mpi.RANK_VARS for v in pair] + list(mpi.SIZE_VARS)


@pytest.mark.parametrize(
    "env, rank, size",
    [
        ({}, 0, 1),
        ({"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "4"}, 2, 4),
        ({"PMI_RANK": "1", "PMI_SIZE": "3"}, 1, 3),
        ({"PMIX_RANK": "0", "PMI_SIZE": "2"}, 0, 2),
        ({"PMIX_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"}, 1, 2),
    ],
)
def test_detect_rank_and_size(env, rank, size):
    world = mpi.detect(env)
    assert (world.rank, world.size) == (rank, size)
    assert world.is_root == (rank == 0)


@pytest.mark.parametrize(
    "env",
    [
        {"PMI_RANK": "3", "PMI_SIZE": "2"},
        {"PMIX_RANK": "0"},
        {"OMPI_COMM_WORLD_RANK": "x", "OMPI_COMM_WORLD_SIZE": "2"},
    ],
)
def test_inconsistent_variables_are_an_error(env):
    with pytest.raises(ValueError):
        mpi.detect(env)


def test_share_is_round_robin():
    items = [1, 2, 3, 4, 5, 6, 7]
    shares = [mpi.share(items, mpi.World(r, 3)) for r in range(3)]
    assert shares == [[1, 4, 7], [2, 5], [3, 6]]


def _start_rank(script, rank, size, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in MPI_VARS and k not in SCHEDULER_VARS
    }
    clean.update(OMPI_COMM_WORLD_RANK=str(rank), OMPI_COMM_WORLD_SIZE=str(size), **env)
    return subprocess.Popen(
        ["bash", str(script)],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ranks_of_one_task_grow_their_own_share(tmp_path):
    crop = make_crop(tmp_path)
    script = tmp_path / "job.sh"
    script.write_text(
        crop.gen_cluster_script("slurm", [1, 2, 3, 4, 5, 6], mode="single")
    )
    rank1 = _start_rank(script, 1, 2)
    out, err = rank1.communicate(timeout=120)
    assert rank1.returncode == 0, err
    assert "[rank 1/2]" in out
    assert crop.completed_results() == (2, 4, 6)
    rank0 = _start_rank(script, 0, 2)
    assert rank0.wait(timeout=120) == 0
    assert crop.missing_results() == ()


def test_ranks_in_pull_mode_split_the_work_without_duplicates(tmp_path):
    crop = make_crop(tmp_path)
    script = tmp_path / "job.sh"
    script.write_text(crop.gen_cluster_script("slurm", mode="single"))
    ranks = [_start_rank(script, r, 3) for r in range(3)]
    for p in ranks:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert crop.missing_results() == ()
    for batch in range(1, 7):
        assert len(provenance(crop, batch)) == 1  # grown once, by one rank


@pytest.fixture(scope="module")
def mpiexec():
    """Open MPI's ``mpiexec`` (installed from Debian's openmpi-bin under CI)."""
    if shutil.which("mpiexec") is None:
        if not in_ci() or os.geteuid() != 0:
            pytest.skip("mpiexec not found; CI=true (as root) installs openmpi-bin")
        subprocess.run(
            ["bash", str(CI_SCRIPTS / "apt_install.sh"), "openmpi-bin"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return shutil.which("mpiexec")


def test_real_mpiexec_ranks_grow_their_shares(tmp_path, mpiexec):
    crop = make_crop(tmp_path)
    script = tmp_path / "job.sh"
    script.write_text(
        crop.gen_cluster_script(
            "slurm",
            [1, 2, 3, 4, 5, 6],
            mode="single",
            ranks=2,
            launcher=f"{mpiexec} -n 2 --oversubscribe",
        )
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in MPI_VARS and k not in SCHEDULER_VARS
    }
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    proc = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[rank 0/2]" in proc.stdout and "[rank 1/2]" in proc.stdout
    assert crop.missing_results() == ()
    pid = {b: provenance(crop, b)[0]["pid"] for b in range(1, 7)}
    assert pid[1] == pid[3] == pid[5] != pid[2] == pid[4] == pid[6]

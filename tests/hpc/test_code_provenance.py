"""A reaped dataset names the code that produced it: the git commit (and
whether the tree was dirty) of the repository holding the function's source,
the Python, xsweep, numpy and xarray versions, and per batch the host, job,
start, duration, peak memory and CPU time. The repository is made here."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xsweep

xr = pytest.importorskip("xarray")
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

MODULE = "def cube(x):\n    return x ** 3\n"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def provenance(ds) -> dict:
    """The dataset's provenance record, wherever this xsweep keeps it."""
    reader = getattr(xsweep, "provenance", None)
    return dict(reader(ds)) if reader is not None else dict(ds.attrs)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository holding the module ``swept`` (committed), importable."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "swept.py").write_text(MODULE)
    git(repo, "init", "-q")
    git(repo, "add", "swept.py")
    git(repo, "commit", "-q", "-m", "the swept function")
    monkeypatch.syspath_prepend(str(repo))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo), *sys.path]))
    sys.modules.pop("swept", None)
    yield repo
    sys.modules.pop("swept", None)


def sow_and_grow(repo: Path, parent: Path, name: str):
    import swept

    runner = xsweep.Runner(swept.cube, var_names="cube")
    crop = runner.Crop(name=name, parent_dir=parent)
    crop.sow_combos({"x": [1, 2, 3]})
    done = subprocess.run(  # a grower of its own, as on a cluster
        [sys.executable, "-m", "xsweep", "grow", "-q", crop.location],
        capture_output=True,
        text=True,
        env={**os.environ, "SLURM_JOB_ID": "77", "SLURM_JOB_END_TIME": "4000000000"},
    )
    assert done.returncode == 0, done.stderr
    return crop


def test_a_reaped_dataset_names_its_git_commit_versions_and_batches(repo, tmp_path):
    commit = git(repo, "rev-parse", "HEAD")
    crop = sow_and_grow(repo, tmp_path, "clean")
    ds = crop.reap()
    np.testing.assert_array_equal(ds["cube"].values, [1, 8, 27])
    prov = provenance(ds)
    assert prov["crop_git_commit"] == commit and prov["crop_git_dirty"] == 0
    assert prov["crop_git_repo"] == str(repo)
    assert prov["crop_fn_source"] == str(repo / "swept.py")
    assert prov["crop_python"] == platform.python_version()
    assert prov["crop_numpy"] == np.__version__
    assert prov["crop_xsweep"] == xsweep.__version__
    assert prov["crop_xarray"] == xr.__version__
    batches = prov["crop_batches"]  # columns, one entry per batch
    assert sorted(batches["batch_id"]) == [1, 2, 3]
    assert set(batches["job"]) == {"SLURM_JOB_ID=77"}
    assert all(d >= 0 for d in batches["duration"])
    assert all(m > 1e6 for m in batches["max_rss"])  # bytes: a Python process
    assert all(c >= 0 for c in batches["cpu_time"])
    assert len(set(batches["host"])) == 1 and len(batches["start"]) == 3


def test_an_edited_tree_is_named_dirty(repo, tmp_path):
    (repo / "swept.py").write_text(MODULE + "# edited, not committed\n")
    crop = sow_and_grow(repo, tmp_path, "dirty")
    prov = provenance(crop.reap())
    assert prov["crop_git_dirty"] == 1
    assert prov["crop_git_commit"] == git(repo, "rev-parse", "HEAD")


def test_a_function_outside_any_repository_has_no_git_fields(tmp_path):
    src = tmp_path / "nogit"
    src.mkdir()
    (src / "loose.py").write_text(MODULE.replace("cube", "loose"))
    sys.path.insert(0, str(src))
    try:
        import loose

        crop = xsweep.Runner(loose.loose, var_names="y").Crop(parent_dir=tmp_path)
        crop.sow_combos({"x": [1, 2]})
        crop.grow()
        prov = provenance(crop.reap())
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("loose", None)
    assert "crop_git_commit" not in prov and prov["crop_fn_source"].endswith("loose.py")

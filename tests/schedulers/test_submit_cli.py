"""``xsweep submit``: options from the command line, exit codes, a real SLURM job."""

from __future__ import annotations

import importlib

import pytest

from xsweep.schedulers import get_scheduler

from ._sweep import assert_all_grown, make_crop

cli_main = getattr(importlib.import_module("xsweep.cli"), "main", None)
pytestmark = pytest.mark.skipif(cli_main is None, reason="xsweep.cli.main not there")


def submit(*args):
    return cli_main(["submit", *map(str, args)])


def test_dry_run_prints_the_script(tmp_path, capsys):
    crop = make_crop(tmp_path)
    code = submit(
        crop.location, "3", "4", "-s", "sge", "--dry-run", "--time", "1:30:00",
        "--mem", "2G", "--cpus", "2", "--queue", "short",
        "--setup", "module load python", "--header=-l h=node1",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "#$ -t 3-4\n" in out and "#$ -l h_rt=01:30:00\n" in out
    assert "#$ -pe smp 2\n" in out and "#$ -l h_vmem=1024M\n" in out
    assert "#$ -q short\n" in out and "#$ -l h=node1\n" in out
    assert "module load python\n" in out


def test_bad_option_is_exit_2_with_the_reason(tmp_path, capsys):
    crop = make_crop(tmp_path)
    assert submit(crop.location, "-s", "slurm", "--time", "2", "--dry-run") == 2
    assert "invalid time '2'" in capsys.readouterr().err


def test_nothing_left_is_exit_3(tmp_path, capsys):
    crop = make_crop(tmp_path)
    crop.grow()
    assert submit(crop.location, "-s", "slurm", "--dry-run") == 3
    assert "nothing to submit" in capsys.readouterr().err


@pytest.mark.slurm
def test_submit_to_real_slurm_in_pull_mode(slurm, tmp_path, capsys):
    crop = make_crop(tmp_path)
    assert submit(crop.location, "-s", "slurm", "--num-tasks", "2", "-q") == 0
    job_id = capsys.readouterr().out.strip()
    get_scheduler("slurm").wait(job_id, timeout=120)
    assert_all_grown(crop)

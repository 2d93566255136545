"""Everyday crop calls that used to go wrong (issue 9.5 and 9.9)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from _functions import ROOT, add, calls, logged_add

import xsweep
from xsweep.crop.crop import Crop
from xsweep.errors import CropError


@pytest.mark.parametrize("fn_args", [None, ["y", "x"]])
def test_sow_cases_takes_dict_cases_as_run_cases_does(tmp_path, fn_args):
    log = str(tmp_path / "log")
    runner = xsweep.Runner(logged_add, var_names="z", constants={"log": log})
    cases = [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"y": 6, "x": 5}]
    crop = runner.Crop(name="dicts", parent_dir=tmp_path)
    crop.sow_cases(fn_args, cases)
    crop.grow_missing()
    assert sorted(calls(log)) == ["1,2", "3,4", "5,6"]  # called by name
    ds = crop.reap()
    expected = runner.run_cases(cases)
    for case in cases:
        assert ds["z"].sel(case).item() == expected["z"].sel(case).item()
        assert ds["z"].sel(case).item() == case["x"] * 10 + case["y"]


def test_sow_cases_with_one_dict_case_calls_with_its_values(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path)
    crop.sow_cases(["x", "y"], [{"x": 2, "y": 7}])
    crop.grow()
    assert np.asarray(crop.reap()).tolist() == [27]


def test_grow_takes_a_batch_number_as_a_string_from_argv(tmp_path):
    crop = Crop(fn=add, parent_dir=tmp_path)
    crop.sow_combos({"x": [1, 2, 3, 4], "y": [0]})
    script = tmp_path / "task.py"
    script.write_text(
        "import sys, xsweep\n"
        f"c = xsweep.Crop(name='add', parent_dir={str(tmp_path)!r})\n"
        "xsweep.grow(sys.argv[1], crop=c)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "crop")}
    subprocess.run([sys.executable, str(script), "3"], check=True, env=env)
    assert crop.completed_results() == (3,)
    xsweep.grow(["1", " 2 "], crop=crop)
    assert crop.completed_results() == (1, 2, 3)
    with pytest.raises(CropError, match="no batch 'first'"):
        xsweep.grow("first", crop=crop)


def test_a_crop_sown_without_a_function_is_refused_at_sow_time(tmp_path):
    crop = Crop(name="nothing", parent_dir=tmp_path)
    with pytest.raises(CropError, match=r"no function to sow with.*Crop\(fn="):
        crop.sow_combos({"x": [1, 2]})
    assert not crop.is_prepared()
    with pytest.raises(CropError, match="no function"):
        crop.sow_cases("x", [1, 2])


def _as_reader(code: str, location: str) -> subprocess.CompletedProcess:
    """Run ``code`` as a user who cannot write ``location``: its directories
    are made read-only, and root runs without the capabilities to override
    that (``setpriv``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "crop")}
    for d, _, _ in os.walk(location):
        os.chmod(d, 0o555)
    cmd = [sys.executable, "-W", "always", "-c", code]
    if os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search,-fowner"
        cmd = ["setpriv", f"--bounding-set={drop}", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


def test_a_user_without_write_access_reaps_a_complete_crop(tmp_path):
    parent = str(tmp_path)
    try:
        runner = xsweep.Runner(add, var_names="z")
        crop = runner.Crop(name="ro", parent_dir=parent)
        crop.sow_combos({"x": [1, 2], "y": [3, 4, 5]})
        crop.grow_missing()
        code = (
            "import xsweep\n"
            f"ds = xsweep.Crop(name='ro', parent_dir={parent!r}).reap()\n"
            "print(ds['z'].values.tolist())\n"
        )
        proc = _as_reader(code, crop.location)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "[[13, 14, 15], [23, 24, 25]]"
        assert "read-only for this user" in proc.stderr
        assert crop.is_prepared() and not crop.layout.reaped_dataset.exists()
        for d, _, _ in os.walk(crop.location):
            os.chmod(d, 0o755)
        assert crop.reap()["z"].values.tolist() == [[13, 14, 15], [23, 24, 25]]
        assert not crop.is_prepared()  # its owner reaps and cleans up
    finally:
        for d, _, _ in os.walk(parent):
            os.chmod(d, 0o755)

"""Each failed combo counts once, with its latest failure, however often it
was retried: reap's error, the provenance record, ``xsweep_failures``,
``crop.failures()``, ``xsweep status`` and the crop's picture all agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grower_procs import by_value, run_cli

import xsweep
from xsweep.errors import IncompleteCropError
from xsweep.labelling import failures_from_attrs

xr = pytest.importorskip("xarray")

SOURCE = """
import os

def response(omega, gamma, count):
    with open(count, "a") as f:
        f.write(f"{omega},{gamma}\\n")  # one line per call: the attempt number
    if gamma == 0.0 and omega in (1.0, 1.5):
        attempt = sum(1 for _ in open(count) if _ == f"{omega},{gamma}\\n")
        raise ZeroDivisionError(f"attempt {attempt} at omega={omega}")
    return 1 / abs(1 - omega**2 + 1j * gamma * omega)
"""
COMBOS = {"omega": [0.5, 1.0, 1.5], "gamma": [0.0, 0.2]}  # 2 of 6 fail


def sow_and_grow(tmp_path: Path, batchsize: int) -> xsweep.Crop:
    runner = xsweep.Runner(by_value(SOURCE, "response"), var_names="amplitude")
    crop = runner.Crop(name="fragile", parent_dir=tmp_path, batchsize=batchsize)
    crop.sow_combos(COMBOS, constants={"count": str(tmp_path / "count")})
    crop.grow()
    return crop


def check_counts(crop: xsweep.Crop, attempt: int) -> None:
    """Two failed combos, each once, with the message of attempt ``attempt``."""
    messages = {f"attempt {attempt} at omega={w}" for w in (1.0, 1.5)}
    assert sorted(f.index for f in crop.failures()) == [2, 4]
    status = crop.status()
    assert status.failed_combos == 2
    with pytest.raises(IncompleteCropError, match=r"^2 combos failed") as error:
        crop.reap()
    assert len(error.value.failures) == 2
    assert {f.message for f in error.value.failures} == messages
    partial = crop.reap(allow_incomplete=True)
    assert xsweep.provenance(partial)["crop_failed_combos"] == 2
    listed = failures_from_attrs(partial)
    assert len(listed) == 2 and {f["message"] for f in listed} == messages
    assert int(partial.amplitude.isnull().sum()) == 2
    picture = crop._repr_html_()
    assert "2 combos failed" in picture or "2 failed" in picture


@pytest.mark.parametrize("batchsize", [1, 6])
def test_retrying_a_combo_that_keeps_failing_counts_it_once(tmp_path, batchsize):
    crop = sow_and_grow(tmp_path, batchsize)
    check_counts(crop, 1)
    for attempt in (2, 3):
        crop.retry_failed()  # still failing
        check_counts(crop, attempt)


def test_xsweep_reap_after_two_cli_retries_names_each_failed_combo_once(tmp_path):
    crop = sow_and_grow(tmp_path, batchsize=6)
    for _ in range(2):
        assert run_cli("retry", crop.location).returncode == 1  # still failing
    reap = run_cli("reap", crop.location)
    assert reap.returncode == 1, reap.stderr
    assert "2 combos failed, e.g." in reap.stderr
    assert "attempt 3 at omega=1.0" in reap.stderr
    status = run_cli("status", "--json", crop.location)
    assert json.loads(status.stdout)["failed_combos"] == 2
    out = tmp_path / "partial.h5"
    reap = run_cli("reap", crop.location, "--allow-incomplete", "-o", str(out))
    assert reap.returncode == 1, reap.stderr  # failed combos: exit 1
    partial = xsweep.load_ds(out)
    assert xsweep.provenance(partial)["crop_failed_combos"] == 2
    assert len(failures_from_attrs(partial)) == 2

"""``xsweep reap`` of a Runner's crop: the netCDF it writes is the in-memory run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xsweep
from xsweep.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

xr = pytest.importorskip("xarray")

SOURCE = """
import numpy as np

def spectrum(x, y):
    if x == 3 and y == 0.5:
        raise ValueError("no spectrum at (3, 0.5)")
    return x * y, np.arange(4) * x + y
"""
COMBOS = {"x": [1, 2, 3], "y": [0.5, 1.5]}


def make_runner() -> Any:
    namespace: dict[str, Any] = {"__name__": "xsweep_test_cli_reap_fns"}
    exec(SOURCE, namespace)
    return xsweep.Runner(
        namespace["spectrum"],
        var_names=["s", "v"],
        var_dims={"v": ["k"]},
        var_coords={"k": [0, 1, 2, 3]},
    )


def data(ds: Any) -> Any:
    """A dataset without its attributes (provenance differs between runs)."""
    return ds.drop_attrs() if hasattr(ds, "drop_attrs") else ds.assign_attrs({})


def grow_in_processes(location: str) -> list[int]:
    """Grow every batch in separate ``python -m xsweep grow`` processes."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "xsweep", "grow", "-q", location],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    return sorted(p.wait(timeout=120) for p in procs)


def test_reap_output_equals_the_in_memory_run_nan_at_the_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    runner = make_runner()
    expected = runner.run_combos(COMBOS, on_error="record")
    crop = runner.Crop(name="spec", parent_dir=str(tmp_path), batchsize=2)
    crop.sow_combos(COMBOS)
    codes = grow_in_processes(crop.location)
    assert EXIT_FAILED in codes and set(codes) <= {EXIT_OK, EXIT_FAILED, 3}
    out = tmp_path / "spec.nc"
    assert main(["reap", crop.location, "-o", str(out)]) == EXIT_FAILED  # failed
    err = capsys.readouterr().err
    assert not out.exists()
    # what to type next, in the command line's words, not Python's
    assert f"xsweep retry {crop.location}" in err and "--allow-incomplete" in err
    assert "crop.retry_failed" not in err and ".." not in err
    assert main(["reap", crop.location, "-o", str(out), "--allow-incomplete"]) == (
        EXIT_FAILED
    )
    from xsweep.netcdf import load_dataset

    ds = load_dataset(out)
    xr.testing.assert_identical(data(ds), data(expected))
    assert (
        np.isnan(ds["s"].sel(x=3, y=0.5))
        and xsweep.provenance(ds)["crop_failed_combos"] == 1
    )


def test_reap_of_a_sampler_crop_merges_its_rows_and_refuses_netcdf_output(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    import pandas as pd

    path = tmp_path / "samples.pkl"
    sampler = xsweep.Sampler(make_runner(), file_name=path)
    crop = sampler.Crop(name="rows", parent_dir=tmp_path)
    crop.sow_samples(4, combos={"x": [1, 2], "y": [1.5]}, seed=0)
    crop.grow()
    out = tmp_path / "rows.nc"
    assert main(["reap", crop.location, "-o", str(out)]) == EXIT_USAGE
    assert "Sampler" in capsys.readouterr().err and not out.exists()
    assert main(["reap", crop.location]) == EXIT_OK
    rows = pd.read_pickle(path)
    _, cases = sampler.gen_cases_fnargs(4, {"x": [1, 2], "y": [1.5]}, seed=0)
    assert list(zip(rows["x"], rows["y"], strict=True)) == cases
    np.testing.assert_allclose(rows["s"], rows["x"] * rows["y"])


def test_reap_with_labels_that_do_not_fit_says_sow_again_not_retry(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    # a new user's first hour: one var_name for a function returning two values
    namespace: dict[str, Any] = {"__name__": "xsweep_test_cli_reap_fns"}
    exec("def both(x, y):\n    return x * y, x + y\n", namespace)
    fn = namespace["both"]
    combos = {"x": [1, 2], "y": [1.5]}
    crop = xsweep.Runner(fn, var_names="s").Crop(name="lab", parent_dir=tmp_path)
    crop.sow_combos(combos)
    crop.grow()
    assert main(["reap", crop.location]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "2 values (tuple) and var_names has one, ['s']" in err
    assert "Sow the same combos again with labels that fit" in err
    assert "xsweep retry" not in err
    # ... and sowing them again with labels that fit computes them again
    right = xsweep.Runner(fn, var_names=["s", "t"]).Crop(
        name="lab", parent_dir=tmp_path
    )
    assert right.sow_combos(combos).to_compute == 2
    right.grow()
    assert main(["reap", crop.location]) == EXIT_OK


def test_reap_of_a_crop_not_grown_yet_names_the_batches_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    crop = make_runner().Crop(name="early", parent_dir=tmp_path, batchsize=2)
    crop.sow_combos({"x": [1, 2], "y": [1.5, 0.5]})
    crop.grow(1)
    assert main(["reap", crop.location]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "1 of 2 batches have no result yet (batches 2)" in err
    assert f"xsweep grow {crop.location}" in err

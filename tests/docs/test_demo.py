"""``scripts/demo.py`` grows a real crop with killed growers and loses nothing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.py"


def _demo_module():
    spec = importlib.util.spec_from_file_location("xsweep_demo", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_reaps_what_an_in_memory_run_gives_and_plots_it(tmp_path):
    result = subprocess.run(
        [sys.executable, str(DEMO), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "killed grower 1" in out and "with SIGKILL" in out
    # `xsweep status` drew the crop after the kill, bars and all.
    after_kill = out.split("$ xsweep status")[1].split("== 3.")[0]
    assert "done     \u2588" in after_kill and "pending" in after_kill
    assert "<xarray.Dataset>" in out
    assert "complete" in out.split("== 4.")[1]

    with xr.open_dataset(tmp_path / "oscillator.nc") as ds:
        ds = ds.load()
    demo = _demo_module()
    combos, constants, _ = demo.settings(quick=True)
    expected = demo.make_runner(constants).run_combos(combos)
    xr.testing.assert_equal(ds.drop_attrs(), expected.drop_attrs())
    assert np.isfinite(ds.amplitude).all()

    png = tmp_path / "oscillator.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

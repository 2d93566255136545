"""``scripts/demo.py`` runs a real sweep end to end and leaves its outputs."""

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


def test_demo_saves_the_swept_dataset_and_a_plot(tmp_path):
    result = subprocess.run(
        [sys.executable, str(DEMO), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "<xarray.Dataset>" in result.stdout

    with xr.open_dataset(tmp_path / "oscillator.nc") as ds:
        ds = ds.load()
    demo = _demo_module()
    steps = int(ds.attrs["steps"])
    for omega in ds.omega.values[::3]:
        for gamma in ds.gamma.values:
            amplitude, phase = demo.oscillator(omega, gamma, steps)
            point = ds.sel(omega=omega, gamma=gamma)
            assert float(point.amplitude) == amplitude
            assert float(point.phase) == phase
    assert np.isfinite(ds.amplitude).all()

    png = tmp_path / "oscillator.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

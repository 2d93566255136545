"""xsweep demo: a real parameter sweep, end to end.

Sweeps a driven, damped oscillator over drive frequency and damping, labels the
result as an ``xarray.Dataset``, saves it to netCDF, and plots it to a PNG.

Run it with ``./scripts/demo`` (which sets up ``.venv`` first), or directly with
``python scripts/demo.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def oscillator(omega: float, gamma: float, steps: int = 2000) -> tuple[float, float]:
    """Integrate x'' + gamma x' + x = cos(omega t) from rest.

    Returns the steady-state amplitude and the phase lag of the response.
    """
    dt = 0.02
    t = np.arange(steps) * dt
    x = v = 0.0
    xs = np.empty(steps)
    for i in range(steps):
        a = np.cos(omega * t[i]) - gamma * v - x
        v += a * dt
        x += v * dt
        xs[i] = x
    tail = xs[steps // 2 :]
    amplitude = float(tail.max() - tail.min()) / 2
    phase = float(np.arctan2(gamma * omega, 1 - omega**2))
    return amplitude, phase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sweep")
    parser.add_argument("--out", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)

    import xarray as xr

    import xsweep

    args.out.mkdir(parents=True, exist_ok=True)
    omegas = np.linspace(0.2, 2.0, 10 if args.quick else 37)
    gammas = [0.1, 0.2, 0.4, 0.8]
    steps = 500 if args.quick else 2000

    print(f"xsweep {xsweep.__version__}: sweeping {len(omegas) * len(gammas)} combos")
    start = time.perf_counter()
    amplitude = np.empty((len(omegas), len(gammas)))
    phase = np.empty_like(amplitude)
    for i, omega in enumerate(omegas):
        for j, gamma in enumerate(gammas):
            amplitude[i, j], phase[i, j] = oscillator(omega, gamma, steps)
    ds = xr.Dataset(
        {
            "amplitude": (("omega", "gamma"), amplitude),
            "phase": (("omega", "gamma"), phase),
        },
        coords={"omega": omegas, "gamma": gammas},
        attrs={"steps": steps},
    )
    print(f"swept in {time.perf_counter() - start:.2f} s\n")
    print(ds, "\n")

    nc = args.out / "oscillator.nc"
    ds.to_netcdf(nc)
    print(f"saved {nc}")

    import matplotlib

    matplotlib.use("Agg")
    fig = xsweep.plot(ds, "amplitude", x="omega", hue="gamma")
    png = args.out / "oscillator.png"
    fig.savefig(png, dpi=100)
    print(f"plotted {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""xsweep demo: a real parameter sweep, grown by independent processes.

1. sows a crop: a driven, damped oscillator over drive frequency and damping;
2. grows it with two ``xsweep grow`` processes in the background, and kills one
   of them (SIGKILL) midway through a batch;
3. finishes what is left with one more grower: nothing is lost, nothing is
   computed twice;
4. reaps the crop into a netCDF file, prints the dataset and the crop's
   status, and plots the result to a PNG.

Run it with ``./scripts/demo`` (which sets up ``.venv`` first), or directly with
``python scripts/demo.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import xsweep
from xsweep.crop.render import render_text
from xsweep.netcdf import save_dataset


def oscillator(omega: float, gamma: float, steps: int) -> tuple[float, float]:
    """Integrate x'' + gamma x' + x = cos(omega t) from rest, step by step.

    Returns the amplitude of the response over the second half of the run, and
    its phase lag behind the drive.
    """
    dt = 0.02
    x = v = 0.0
    low, high = np.inf, -np.inf
    for i in range(steps):
        v += (np.cos(omega * i * dt) - gamma * v - x) * dt
        x += v * dt
        if i >= steps // 2:
            low, high = min(low, x), max(high, x)
    phase = float(np.arctan2(gamma * omega, 1 - omega**2))
    return (high - low) / 2, phase


def settings(quick: bool) -> tuple[dict, dict, int]:
    """The combos, constants and batch size of the demo sweep."""
    omegas = np.round(np.linspace(0.2, 2.0, 16 if quick else 49), 4)
    combos = {"omega": omegas, "gamma": [0.1, 0.2, 0.4, 0.8]}
    constants = {"steps": 20_000 if quick else 100_000}
    return combos, constants, 2 if quick else 4


def make_runner(constants: dict) -> xsweep.Runner:
    """The demo's Runner (also used by the tests to compute it in memory)."""
    return xsweep.Runner(
        oscillator,
        var_names=["amplitude", "phase"],
        constants=constants,
        attrs={"title": "driven damped oscillator"},
    )


def wait_for(condition, timeout: float, what: str) -> None:
    """Poll ``condition()`` until true; fail clearly after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def xsweep_command(*args: str) -> list[str]:
    """The ``xsweep`` command line of this Python (as ``python -m xsweep``)."""
    return [sys.executable, "-m", "xsweep", *args]


def grower(location: str, log: Path) -> subprocess.Popen:
    """Start ``xsweep grow CROP`` in the background, its output going to ``log``.

    With no batch ids it claims missing batches one by one until none is left.
    """
    command = xsweep_command("grow", location)
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sweep")
    parser.add_argument("--out", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    combos, constants, batchsize = settings(args.quick)

    section("1. sow")
    crop = make_runner(constants).Crop(
        name="oscillator", parent_dir=out, batchsize=batchsize
    )
    if crop.is_prepared():
        crop.delete_all()  # a fresh start each time the demo runs
    crop.sow_combos(combos)
    location = str(crop.location)
    print(render_text(crop.status()))

    section("2. grow with two independent processes; kill one midway")
    started = time.perf_counter()
    first = grower(location, out / "grower-1.log")
    second = grower(location, out / "grower-2.log")
    print(f"$ xsweep grow {location} &   # twice: pids {first.pid} and {second.pid}")
    total = crop.status().num_batches
    wait_for(lambda: _grown(crop) >= total // 3, 60, "a third of the batches")
    working = first.poll() is None
    first.send_signal(signal.SIGKILL)
    first.wait()
    print(
        f"killed grower 1 (pid {first.pid}) with SIGKILL"
        + (" while it was working" if working else " (it had already finished)")
    )
    print(f"$ xsweep status {location}", flush=True)
    subprocess.run(xsweep_command("status", location))
    if second.wait(timeout=120) != 0:
        raise SystemExit(f"demo: grower 2 failed, see {out / 'grower-2.log'}")

    section("3. finish what is left")
    missing = crop.missing_results()
    print(f"grower 2 is done; {len(missing)} batch(es) left: {list(missing)}")
    print(f"$ xsweep grow {location}", flush=True)
    code = subprocess.run(xsweep_command("grow", location)).returncode
    if code != 0:
        raise SystemExit(f"demo: the last grower failed with exit code {code}")
    print(f"all grown in {time.perf_counter() - started:.1f} s")

    section("4. reap, save, plot")
    status = crop.status()
    ds = crop.reap()
    nc = out / "oscillator.nc"
    save_dataset(ds, nc)
    print(ds)
    print()
    print(render_text(status))
    lost = int(ds.amplitude.isnull().sum())
    print(f"\n{ds.amplitude.size - lost} of {ds.amplitude.size} combos have a result")
    print(f"saved {nc}")

    import matplotlib

    matplotlib.use("Agg")
    fig = xsweep.plot(ds, "amplitude", x="omega", hue="gamma")
    fig.suptitle("steady-state amplitude of a driven, damped oscillator")
    png = out / "oscillator.png"
    fig.savefig(png, dpi=100)
    print(f"plotted {png}")
    return 0


def _grown(crop) -> int:
    status = crop.status()
    return status.done + status.failed


if __name__ == "__main__":
    raise SystemExit(main())

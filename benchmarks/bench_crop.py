"""Crop benchmarks: ratios against a plain-Python floor, measured in one run.

Usage::

    python benchmarks/bench_crop.py            # the issue's sizes (~1-2 minutes)
    python benchmarks/bench_crop.py --quick    # a small smoke run

Measures (xyzpy 1.3.5 alongside when importable; never a dependency):

1. sow + grow_missing + reap of 1e5 scalar combos, default settings, on tmpfs
   (``/dev/shm``), through a ``Runner`` crop (labelled dataset, saved as
   netCDF), vs a plain nested loop filling a numpy array. xarray is imported
   before timing (a one-off cost the floor does not pay either).
2. peak memory of reaping a 1e6-combo crop in a fresh process (``VmHWM``
   minus that of a process importing the same modules), vs the output size.
3. 8 concurrent ``python -c`` growers over 1e4 batches: combos computed more
   than once, counted from a side-effect log line per call (``O_APPEND``).

Timings use the default (safe) fsync setting unless ``XSWEEP_FSYNC=0`` is set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def trivial(x, y):
    return x + y


def scratch(base: str | None = None) -> Path:
    """A fresh directory under ``base`` (default: tmpfs, ``/dev/shm``)."""
    if base is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return Path(tempfile.mkdtemp(prefix="xsweep-bench-", dir=base))


def file_system(path: str) -> str:
    """The type of the file system holding ``path`` (from /proc/mounts)."""
    best, kind = "", "?"
    with contextlib.suppress(OSError), open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            mount = fields[1]
            if path.startswith(mount) and len(mount) > len(best):
                best, kind = mount, fields[2]
    return kind


def has_xyzpy() -> bool:
    try:
        import xyzpy  # noqa: F401
    except Exception:
        return False
    return True


def floor_loop(xs, ys) -> tuple[float, float]:
    """(wall, CPU) seconds of a plain loop filling a numpy array."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = np.empty((len(xs), len(ys)))
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            out[i, j] = trivial(x, y)
    return time.perf_counter() - t0, time.process_time() - c0


def xsweep_round_trip(
    xs, ys, base: str | None = None, **crop_kwargs
) -> tuple[float, float, int]:
    """(wall, CPU) seconds of sow + grow_missing + reap, and the batch count."""
    import xsweep

    d = scratch(base)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        runner = xsweep.Runner(trivial, var_names="z")
        crop = runner.Crop(name="bench", parent_dir=d, **crop_kwargs)
        crop.sow_combos({"x": xs, "y": ys})
        crop.grow_missing()
        ds = crop.reap()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert ds["z"].shape == (len(xs), len(ys))
        return wall, cpu, crop.num_batches
    finally:
        shutil.rmtree(d, ignore_errors=True)


def xyzpy_round_trip(xs, ys, batchsize=None) -> float:
    import contextlib
    import io

    import xyzpy

    d = scratch()
    try:
        stderr = contextlib.redirect_stderr(io.StringIO())
        stderr.__enter__()
        t0 = time.perf_counter()
        runner = xyzpy.Runner(trivial, var_names="z")
        crop = runner.Crop(name="bench", parent_dir=str(d), batchsize=batchsize)
        crop.sow_combos([("x", xs), ("y", ys)], verbosity=0)
        crop.grow_missing(verbosity=0)
        crop.reap()
        return time.perf_counter() - t0
    finally:
        stderr.__exit__(None, None, None)
        shutil.rmtree(d, ignore_errors=True)


XYZPY_GROWER = """
import xyzpy
xyzpy.Crop(name="conc", parent_dir={parent!r}).grow_missing(verbosity=0)
"""


def xyzpy_concurrent(num_batches: int, num_growers: int) -> dict:
    """Duplicated computations of xyzpy 1.3.5 growers (it has no claims)."""
    import xyzpy

    d = scratch()
    try:
        log = str(d / "calls.log")
        crop = xyzpy.Crop(fn=logged, name="conc", parent_dir=str(d), batchsize=1)
        crop.sow_combos([("x", range(num_batches))], constants={"log": log},
                        verbosity=0)  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        code = XYZPY_GROWER.format(parent=str(d))
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL
            )
            for _ in range(num_growers)
        ]
        [p.wait() for p in procs]
        lines = Path(log).read_text().split()
        return {"calls": len(lines), "duplicated": len(lines) - len(set(lines))}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def best_of(fn, repeats: int) -> float:
    return min(fn() for _ in range(repeats))


REAP_SCRIPT = """
import sys, time
import numpy, xarray, netCDF4, xsweep
from xsweep.crop.crop import Crop
from xsweep.crop import reap

def hwm():  # peak RSS of this process image (ru_maxrss would include the parent's)
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))

base = hwm()
if sys.argv[1] == "reap":
    t0 = time.perf_counter()
    ds = Crop(name="big", parent_dir=sys.argv[2]).reap(clean_up=False)
    took = time.perf_counter() - t0
    assert ds["z"].size == int(sys.argv[3])
else:
    took = 0.0
print(base, hwm(), took)
"""


def reap_memory(n_side: int) -> dict:
    import xsweep

    d = scratch()
    try:
        runner = xsweep.Runner(trivial, var_names="z")
        crop = runner.Crop(name="big", parent_dir=d)
        crop.sow_combos({"x": np.arange(n_side), "y": np.arange(n_side)})
        t0 = time.perf_counter()
        crop.grow_missing()
        grow_s = time.perf_counter() - t0
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        n = n_side * n_side
        out = {}
        for mode in ("baseline", "reap"):
            res = subprocess.run(
                [sys.executable, "-c", REAP_SCRIPT, mode, str(d), str(n)],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            base, peak, took = res.stdout.split()
            out[mode] = (int(base), int(peak), float(took))
        extra_mb = (out["reap"][1] - out["baseline"][1]) / 1024
        output_mb = n * 8 / 2**20
        return {
            "combos": n,
            "batches": crop.num_batches,
            "grow_s": grow_s,
            "reap_s": out["reap"][2],
            "output_mb": output_mb,
            "extra_mb": extra_mb,
            "limit_mb": 3 * output_mb + 100,  # the target of issue 13
            "raw": out,
        }
    finally:
        shutil.rmtree(d, ignore_errors=True)


GROWER = """
import xsweep
xsweep.grow(crop={location!r})
"""


def logged(x, log):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{x}\n".encode())
    finally:
        os.close(fd)
    return x


def concurrent_growers(num_batches: int, num_growers: int) -> dict:
    import cloudpickle

    import xsweep

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    d = scratch()
    try:
        log = str(d / "calls.log")
        crop = xsweep.Crop(fn=logged, name="conc", parent_dir=d, batchsize=1)
        crop.sow_combos({"x": range(num_batches)}, constants={"log": log})
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        code = textwrap.dedent(GROWER.format(location=crop.location))
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen([sys.executable, "-c", code], env=env)
            for _ in range(num_growers)
        ]
        codes = [p.wait() for p in procs]
        took = time.perf_counter() - t0
        lines = Path(log).read_text().split()
        return {
            "growers": num_growers,
            "batches": num_batches,
            "exit_codes": sorted(set(codes)),
            "calls": len(lines),
            "duplicated": len(lines) - len(set(lines)),
            "missing": len(crop.missing_results()),
            "seconds": took,
        }
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--json", action="store_true", help="print JSON too")
    parser.add_argument(
        "--disk", default=str(ROOT), help="a directory on disk for one more round trip"
    )
    args = parser.parse_args()
    import xarray  # noqa: F401  (one-off import, outside every timing)

    side_x, side_y = (100, 100) if args.quick else (500, 200)
    xs, ys = list(range(side_x)), list(range(side_y))
    repeats = 1 if args.quick else 5
    results: dict = {"fsync": os.environ.get("XSWEEP_FSYNC", "1") != "0"}

    xsweep_round_trip(xs, ys)  # warm up (first-use costs of xarray, netCDF)
    floors, trips = [], []
    for _ in range(repeats):  # interleaved, so that both see the same load
        floors.append(floor_loop(xs, ys))
        trips.append(xsweep_round_trip(xs, ys))
    floor, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
    trip, trip_cpu = min(t[0] for t in trips), min(t[1] for t in trips)
    nb = trips[0][2]
    results["round_trip"] = {
        "combos": side_x * side_y, "batches": nb, "floor_s": floor,
        "xsweep_s": trip, "floor_cpu_s": floor_cpu, "xsweep_cpu_s": trip_cpu,
    }  # fmt: skip
    print(f"1. crop round trip, {side_x * side_y:.0e} scalar combos, default settings"
          f" (best of {repeats}; wall and CPU time)")  # fmt: skip
    print(f"   plain loop      {floor * 1e3:9.1f} ms   1.0x   "
          f"cpu {floor_cpu * 1e3:.1f} ms")  # fmt: skip
    print(f"   xsweep          {trip * 1e3:9.1f} ms   {trip / floor:.1f}x  "
          f"cpu {trip_cpu * 1e3:.1f} ms {trip_cpu / floor_cpu:.1f}x  "
          f"({nb} batches)  target <= 15x")  # fmt: skip
    disk = os.path.abspath(args.disk)
    on_disk = min(xsweep_round_trip(xs, ys, base=disk)[0] for _ in range(repeats))
    results["round_trip"]["disk_s"] = on_disk
    print(f"   xsweep on disk  {on_disk * 1e3:9.1f} ms   {on_disk / floor:.1f}x  "
          f"({file_system(disk)} at {disk}, fsync on)")  # fmt: skip
    if has_xyzpy():
        for bs in (None, 1000) if not args.quick else (1000,):
            t = min(xyzpy_round_trip(xs, ys, batchsize=bs)
                    for _ in range(1 if bs is None else min(repeats, 3)))  # fmt: skip
            results[f"xyzpy_batchsize_{bs}"] = t
            print(f"   xyzpy bs={bs!s:5} {t * 1e3:9.1f} ms   {t / floor:.1f}x")

    side = 300 if args.quick else 1000
    mem = reap_memory(side)
    results["reap_memory"] = mem

    print(f"2. reap of a {mem['combos']:.0e}-combo crop ({mem['batches']} batches)")
    print(f"   output {mem['output_mb']:.1f} MB, extra peak RSS "
          f"{mem['extra_mb']:.1f} MB, limit {mem['limit_mb']:.0f} MB; "
          f"reap {mem['reap_s']:.2f} s, grow {mem['grow_s']:.2f} s")  # fmt: skip
    print(f"   (VmHWM KB, base and peak: {mem['raw']})")

    conc = concurrent_growers(2000 if args.quick else 10000, 8)
    results["concurrent"] = conc
    print(f"3. {conc['growers']} concurrent growers, {conc['batches']} batches: "
          f"{conc['calls']} calls, {conc['duplicated']} duplicated, "
          f"{conc['missing']} missing, exit codes {conc['exit_codes']}, "
          f"{conc['seconds']:.1f} s")  # fmt: skip
    if has_xyzpy():
        xyz = xyzpy_concurrent(500 if args.quick else 2000, 2)
        results["xyzpy_concurrent"] = xyz
        print(f"   xyzpy 1.3.5, 2 growers: {xyz['calls']} calls, "
              f"{xyz['duplicated']} duplicated")  # fmt: skip
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Every target of the speed issue, each measured in fresh processes, one table.

Usage::

    python benchmarks/run_all.py                  # the whole table (~5 minutes)
    python benchmarks/run_all.py --quick          # smaller sizes, fewer runs
    python benchmarks/run_all.py --only workers   # one row group
    python benchmarks/run_all.py --xyzpy-python /path/to/venv/bin/python

Each measurement runs in a new ``python`` process, as a user runs a sweep:
the process imports numpy, xarray and pandas (the floor pays for none of
them either), times the plain-Python floor, then the sweep, and prints JSON;
ratios are taken inside one process, so both sides see the same load. Each
row is repeated and reported as the median with the spread (min..max).

Bytecode: the child processes cache compiled bytecode under a temporary
``PYTHONPYCACHEPREFIX`` (one warm-up run fills it), as an installed package
has its ``.pyc`` files; ``PYTHONDONTWRITEBYTECODE`` is ignored for them.

xyzpy 1.3.5 (never a dependency) runs the same work when it is importable by
``--xyzpy-python`` (a separate virtual environment with ``pip install
xyzpy==1.3.5``), or by this python.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir(), f"xsweep-bench-pycache-{os.getuid()}")

# ------------------------------------------------------------ child code --

PRELUDE = """
import json, os, sys, time
import numpy as np
import xarray, pandas  # imported before every timing: the floor pays none

def trivial(x, y):
    return x + y

def floor_loop(xs, ys, clock=time.perf_counter):
    t0 = clock()
    out = np.empty((len(xs), len(ys)))
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            out[i, j] = trivial(x, y)
    return clock() - t0

def nap(x, y):
    time.sleep(0.001)
    return x + y

def spin(x, y):
    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass
    return x + y

def cpu_time():  # this process and its children waited for (a grower's child)
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + usage.ru_utime + usage.ru_stime

def vmhwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM"))
"""

ROUND_TRIP = """
import shutil, tempfile
nx, ny, base, lib = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
xs, ys = list(range(nx)), list(range(ny))
floor = min(floor_loop(xs, ys) for _ in range(3))
out = {"floor": floor, "floor_cpu": min(
    floor_loop(xs, ys, time.process_time) for _ in range(3))}
for key in ("cold", "warm"):
    d = tempfile.mkdtemp(prefix="xsweep-bench-", dir=base)
    try:
        t0, c0 = time.perf_counter(), cpu_time()
        if lib == "xsweep":
            import xsweep
            crop = xsweep.Runner(trivial, var_names="z").Crop(name="b", parent_dir=d)
            crop.sow_combos({"x": xs, "y": ys})
            t1 = time.perf_counter()
            crop.grow_missing()
            t2 = time.perf_counter()
            ds = crop.reap()
        else:
            import contextlib, io, xyzpy
            bs = None if lib == "xyzpy" else 1000
            with contextlib.redirect_stderr(io.StringIO()):
                crop = xyzpy.Runner(trivial, var_names="z").Crop(
                    name="b", parent_dir=d, batchsize=bs)
                crop.sow_combos([("x", xs), ("y", ys)], verbosity=0)
                t1 = time.perf_counter()
                crop.grow_missing(verbosity=0)
                t2 = time.perf_counter()
                ds = crop.reap()
        t3 = time.perf_counter()
        assert ds["z"].shape == (nx, ny)
        out[key] = t3 - t0
        out[key + "_cpu"] = cpu_time() - c0
        out[key + "_phases"] = [t1 - t0, t2 - t1, t3 - t2]
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if lib != "xsweep":
        break  # one xyzpy run is slow enough
print(json.dumps(out))
"""

WORKERS = """
n, kind, lib = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fn = {"nap": nap, "spin": spin}[kind]
side = max(1, int(round(n ** 0.5)))
combos = {"x": list(range(side)), "y": list(range(n // side))}
if lib == "xsweep":
    import xsweep
    runner = xsweep.Runner(fn, var_names="z")
    run = lambda **kw: runner.run_combos(combos, **kw)
else:
    import xyzpy
    runner = xyzpy.Runner(fn, var_names="z")
    run = lambda **kw: runner.run_combos(combos, verbosity=0, **kw)
out = {"combos": (n // side) * side}
run_once = xsweep.Runner(trivial, var_names="z") if lib == "xsweep" else None
if run_once is not None:  # imports and first-use costs, outside the timings
    run_once.run_combos({"x": [1], "y": [2]})
t0 = time.perf_counter(); seq = run(); out["seq"] = time.perf_counter() - t0
t0 = time.perf_counter(); par = run(num_workers=2)
out["cold"] = time.perf_counter() - t0
if lib == "xsweep":  # the pool may still be starting: a sweep all on workers
    run(num_workers=2, in_process_below=0)
t0 = time.perf_counter(); run(num_workers=2); out["warm"] = time.perf_counter() - t0
assert par["z"].equals(seq["z"])
print(json.dumps(out))
"""

STATUS_SOW = """
import xsweep
def ident(x):
    return x
crop = xsweep.Crop(fn=ident, name="st", parent_dir=sys.argv[1], batchsize=1)
n = int(sys.argv[2])
crop.sow_combos({"x": range(n)})
crop.grow(list(range(1, n // 2 + 1)))
print(json.dumps({"location": str(crop.location)}))
"""

REAP_SOW = """
import xsweep
side = int(sys.argv[2])
crop = xsweep.Runner(trivial, var_names="z").Crop(name="big", parent_dir=sys.argv[1])
crop.sow_combos({"x": np.arange(side), "y": np.arange(side)})
t0 = time.perf_counter()
crop.grow_missing()
print(json.dumps({"grow": time.perf_counter() - t0, "batches": crop.num_batches}))
"""

REAP_MEMORY = """
import netCDF4, xsweep
from xsweep.crop.crop import Crop
base = vmhwm()
took = 0.0
if sys.argv[1] == "reap":
    t0 = time.perf_counter()
    ds = Crop(name="big", parent_dir=sys.argv[2]).reap(clean_up=False)
    took = time.perf_counter() - t0
    assert ds["z"].size == int(sys.argv[3])
print(json.dumps({"base": base, "peak": vmhwm(), "took": took}))
"""


def child(code: str, *args: object, python: str | None = None) -> dict:
    """Run ``code`` in a fresh python with ``args``; its JSON output."""
    env = child_env()
    done = subprocess.run(
        [python or sys.executable, "-c", PRELUDE + code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if done.returncode:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


#: the xsweep source tree the children import (``--code``)
CODE = [ROOT]


def child_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(CODE[0]), "PYTHONPYCACHEPREFIX": str(CACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """``median (min..max, n runs)``."""
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    lo, hi = min(values), max(values)
    return f"{fmt.format(med)} ({fmt.format(lo)}..{fmt.format(hi)}, {len(values)} runs)"


def tmpfs() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


# ------------------------------------------------------------------ rows --


def rows_round_trip(args, xyzpy: str | None) -> list[list[str]]:
    nx, ny = (200, 100) if args.quick else (500, 200)
    base = tmpfs() or tempfile.gettempdir()
    runs = [child(ROUND_TRIP, nx, ny, base, "xsweep") for _ in range(args.runs)]
    cold = [r["cold"] / r["floor"] for r in runs]
    warm = [r["warm"] / r["floor"] for r in runs]
    cold_cpu = [r["cold_cpu"] / r["floor_cpu"] for r in runs]
    phases = [statistics.median(r["cold_phases"][i] for r in runs) for i in range(3)]
    floor = statistics.median(r["floor"] for r in runs)
    n = nx * ny
    rows = [
        [
            f"{n:.0e}-combo crop round trip, fresh process, tmpfs / plain loop",
            f"{spread(cold)}x (CPU {spread(cold_cpu)}x); 2nd trip in that "
            f"process {spread(warm)}x",
            "<= 15x (aim 8x)",
            f"floor {floor * 1e3:.1f} ms; sow {phases[0] * 1e3:.0f} ms, grow "
            f"{phases[1] * 1e3:.0f} ms, reap {phases[2] * 1e3:.0f} ms (median)",
        ]
    ]
    if xyzpy and not args.quick:
        for lib in ("xyzpy", "xyzpy-1000"):
            r = child(ROUND_TRIP, nx, ny, base, lib, python=xyzpy)
            label = "default batchsize" if lib == "xyzpy" else "batchsize 1000"
            rows.append(
                [
                    f"  xyzpy 1.3.5 ({label}), same",
                    f"{r['cold'] / r['floor']:.0f}x",
                    "",
                    f"{r['cold']:.2f} s",
                ]
            )
    side = 300 if args.quick else 1000
    disk = args.disk
    runs = [
        child(ROUND_TRIP, side, side, disk, "xsweep") for _ in range(args.disk_runs)
    ]
    cold = [r["cold"] / r["floor"] for r in runs]
    warm = [r["warm"] / r["floor"] for r in runs]
    floor = statistics.median(r["floor"] for r in runs)
    rows.append(
        [
            f"{side * side:.0e}-combo crop round trip, fresh process, disk / loop",
            f"{spread(cold)}x; 2nd trip {spread(warm)}x",
            "<= 4x",
            f"floor {floor:.2f} s; {disk} ({file_system(disk)}, fsync on)",
        ]
    )
    return rows


def rows_workers(args, xyzpy: str | None) -> list[list[str]]:
    sizes = [10, 120, 1000] if args.quick else [10, 30, 120, 400, 1000, 4000]
    rows = []
    for kind in ("nap", "spin"):
        for n in sizes if kind == "nap" else [4000 if not args.quick else 1000]:
            runs = [child(WORKERS, n, kind, "xsweep") for _ in range(args.runs)]
            seq = statistics.median(r["seq"] for r in runs)
            cold = [r["seq"] / r["cold"] for r in runs]
            warm = [r["seq"] / r["warm"] for r in runs]
            what = "sleep" if kind == "nap" else "CPU-bound"
            target = (
                ">= 1.8x"
                if kind == "spin"
                else (">= 1.8x" if seq >= 1.0 else ">= 0.91x (never 1.1x slower)")
            )
            row = [
                f"num_workers=2, {runs[0]['combos']} combos of 1 ms ({what}): speedup",
                f"first call {spread(cold, '{:.2f}')}x, "
                f"again {spread(warm, '{:.2f}')}x",
                target,
                f"sequential {seq:.2f} s",
            ]
            if xyzpy and (kind == "spin" or n in (120, 1000)):
                r = child(WORKERS, n, kind, "xyzpy", python=xyzpy)
                row[3] += (
                    f"; xyzpy first {r['seq'] / r['cold']:.2f}x, "
                    f"again {r['seq'] / r['warm']:.2f}x"
                )
            rows.append(row)
    return rows


def rows_status(args) -> list[list[str]]:
    n = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory(dir=tmpfs()) as d:
        t0 = time.perf_counter()
        location = child(STATUS_SOW, d, n)["location"]
        setup = time.perf_counter() - t0
        times, cpus = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), children_cpu()
            done = subprocess.run(
                [sys.executable, "-m", "xsweep", "status", location],
                capture_output=True,
                text=True,
                env=child_env(),
            )
            times.append(time.perf_counter() - t0)
            cpus.append(children_cpu() - c0)
            assert done.returncode == 0, done.stderr
        bare = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - t0)
    return [
        [
            f"`xsweep status` of a {n:.0e}-batch crop (half grown), whole command",
            f"{spread(times, '{:.2f}')} s wall, {spread(cpus, '{:.2f}')} s CPU",
            "< 1 s",
            f"python -c pass {statistics.median(bare):.3f} s wall; setup {setup:.0f} s",
        ]
    ]


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rows_reap_memory(args) -> list[list[str]]:
    side = 1000 if args.quick else 3163
    with tempfile.TemporaryDirectory(dir=tmpfs()) as d:
        sown = child(REAP_SOW, d, side)
        n = side * side
        results = []
        for _ in range(max(1, args.runs // 2)):
            base = child(REAP_MEMORY, "baseline", d, n)
            reap = child(REAP_MEMORY, "reap", d, n)
            results.append((reap["peak"] - base["peak"], reap["took"]))
    output = n * 8
    limit = 3 * output + 100 * 2**20
    extra = [r[0] / 2**20 for r in results]
    return [
        [
            f"peak memory of reaping a {n:.0e}-combo crop (fresh process)",
            f"{spread(extra)} MB extra for {output / 2**20:.0f} MB of output",
            f"<= 3x output + 100 MB = {limit / 2**20:.0f} MB",
            f"reap {statistics.median(r[1] for r in results):.1f} s; "
            f"{sown['batches']} batches grown in {sown['grow']:.1f} s",
        ]
    ]


def file_system(path: str) -> str:
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                mount, fs = line.split()[1:3]
                if path.startswith(mount) and len(mount) > len(best):
                    best, kind = mount, fs
    except OSError:
        pass
    return kind


def find_xyzpy(given: str | None) -> str | None:
    for python in (given, sys.executable):
        if python and subprocess.run(
            [python, "-c", "import xyzpy"], capture_output=True
        ).returncode == 0:  # fmt: skip
            return python
    return None


GROUPS = ("round_trip", "workers", "status", "reap_memory")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--runs", type=int, default=None, help="fresh runs per row")
    parser.add_argument("--disk-runs", type=int, default=None)
    parser.add_argument("--disk", default=str(ROOT), help="a directory on disk")
    parser.add_argument("--only", choices=GROUPS, action="append")
    parser.add_argument("--xyzpy-python", help="a python that imports xyzpy 1.3.5")
    parser.add_argument(
        "--code", default=str(ROOT), help="xsweep source tree to measure (before/after)"
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    args.disk_runs = args.disk_runs or (1 if args.quick else 3)
    CODE[0] = Path(args.code).resolve()
    xyzpy = find_xyzpy(args.xyzpy_python)
    child("print(json.dumps({}))")  # fill the bytecode cache
    child("import xsweep.farming, xsweep.crop.crop, xsweep.cli; print('{}')")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[list[str]] = []
    for group in args.only or GROUPS:
        if group == "round_trip":
            rows += rows_round_trip(args, xyzpy)
        elif group == "workers":
            rows += rows_workers(args, xyzpy)
        elif group == "status":
            rows += rows_status(args)
        else:
            rows += rows_reap_memory(args)
    load = os.getloadavg()
    print(
        f"started {started}; code {CODE[0]}; {os.cpu_count()} cores; load average "
        f"now {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; xyzpy: {xyzpy or '-'}"
    )
    header = ["measure", "xsweep", "target", "notes"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()

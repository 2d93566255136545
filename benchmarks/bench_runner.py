"""Runner benchmarks: ratios against a plain-Python floor, measured in one run.

Usage::

    python benchmarks/bench_runner.py           # the issue's sizes (~2 minutes)
    python benchmarks/bench_runner.py --quick   # a small smoke run (~15 s)

Measures (xyzpy 1.3.5 alongside when it is importable; it is never a
dependency: ``pip install xyzpy==1.3.5`` to compare):

1. sequential sweep of 1e6 scalar combos vs a plain nested Python loop filling
   a preallocated numpy array (time ratio);
2. peak traced memory of that sweep (tracemalloc, in a fresh subprocess) vs
   the output array's size;
3. 1e7 combos: wall time and peak RSS (``VmHWM``) of a fresh subprocess;
4. 2 workers, a 1 ms function, 4e3 combos: speedup over sequential (with a
   warm worker pool, and cold), for a function that sleeps 1 ms (dispatch
   overhead only) and one that spins the CPU for 1 ms (also needs two idle
   cores: on a shared machine this one measures the load);
5. 2 workers, a trivial function, 1e4 combos: time vs sequential.

xsweep is measured through the public ``xsweep.Runner`` when it exists, else
through the engine's ``xsweep.engine.run``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np


def trivial(x, y):
    return x + y


def spin(x, y, seconds=1e-3):
    """Burn ``seconds`` of CPU (a stand-in for a 1 ms computation)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return x + y


def nap(x, y, seconds=1e-3):
    """Sleep ``seconds``: a 1 ms function that needs no CPU, so that the
    speedup measures dispatch overhead, not how busy the machine is."""
    time.sleep(seconds)
    return x + y


def has_xyzpy() -> bool:
    try:
        import xyzpy  # noqa: F401
    except Exception:
        return False
    return True


def xsweep_sweep(fn, combos, **settings):
    """Run through the public Runner if it has landed, else the engine."""
    import xsweep

    try:
        runner = xsweep.Runner(fn, var_names="z")
    except (AttributeError, ImportError):
        from xsweep.engine import run

        return run(fn, combos, var_names="z", **settings).arrays["z"]
    return runner.run_combos(combos, **settings)


def xyzpy_sweep(fn, combos, **settings):
    import xyzpy

    settings.setdefault("verbosity", 0)
    return xyzpy.Runner(fn, var_names="z").run_combos(combos, **settings)


def best_of(repeats, call, clock=time.perf_counter):
    times = []
    for _ in range(repeats):
        t0 = clock()
        call()
        times.append(clock() - t0)
    return min(times)


def floor_loop(fn, xs, ys):
    out = np.empty((len(xs), len(ys)))
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            out[i, j] = fn(x, y)
    return out


def grid(n):
    side = round(n**0.5)
    return [float(i) for i in range(side)], [float(j) for j in range(n // side)]


SUBPROCESS = """
import json, sys, time, tracemalloc
sys.path.insert(0, {bench_dir!r})
import bench_runner as b
xs, ys = b.grid({n})
combos = {{"x": xs, "y": ys}}
sweep = b.{which}_sweep
sweep(b.trivial, {{"x": xs[:2], "y": ys[:2]}})  # imports and warm-up
base = b.peak_rss()
if {trace}:
    tracemalloc.start()
t0 = time.perf_counter()
sweep(b.trivial, combos)
elapsed = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] if {trace} else 0
print(json.dumps({{"elapsed": elapsed, "peak": peak, "rss": b.peak_rss(),
                  "base": base}}))
"""


def peak_rss():
    """Peak resident memory of this process, in bytes.

    ``VmHWM`` from ``/proc`` where there is one: unlike ``ru_maxrss``, it is
    not inherited from the parent across fork and exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def in_subprocess(which, n, trace):
    code = SUBPROCESS.format(
        bench_dir=os.path.dirname(os.path.abspath(__file__)),
        n=n,
        which=which,
        trace=trace,
    )
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def parallel_speedup(sweep, fn, n, workers):
    xs, ys = grid(n)
    combos = {"x": xs, "y": ys}
    sequential = best_of(1, lambda: sweep(fn, combos))
    cold = best_of(1, lambda: sweep(fn, combos, num_workers=workers))
    warm = best_of(2, lambda: sweep(fn, combos, num_workers=workers))
    return sequential, cold, warm


def shutdown_workers():
    """Stop the reusable worker pool, so that each peer starts cold."""
    from xsweep.engine.parallel import local_executor

    local_executor(2).shutdown(wait=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--xyzpy-1e7", action="store_true", help="also run xyzpy at 1e7 (3.4 GB)"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    n_seq = 10**5 if quick else 10**6
    n_big = 10**6 if quick else 10**7
    n_par = 400 if quick else 4000
    n_triv = 10**3 if quick else 10**4
    peers = ["xsweep"] + (["xyzpy"] if has_xyzpy() else [])
    sweeps = {"xsweep": xsweep_sweep, "xyzpy": xyzpy_sweep}
    rows = []

    xs, ys = grid(n_seq)
    # wall and CPU time (CPU time: what this process spent, immune to other
    # processes taking the cores of a shared machine); best of 5 each
    floor = best_of(5, lambda: floor_loop(trivial, xs, ys))
    floor_cpu = best_of(5, lambda: floor_loop(trivial, xs, ys), time.process_time)
    out_bytes = 8 * len(xs) * len(ys)
    row = {"measure": f"sequential {n_seq:.0e} combos / plain loop", "target": "<= 3x"}
    mem = {"measure": "peak memory growth / output size", "target": "<= 3x"}
    for peer in peers:
        combos = {"x": xs, "y": ys}
        sweep = sweeps[peer]
        repeats = 5 if peer == "xsweep" else 2
        t = best_of(repeats, lambda sweep=sweep, combos=combos: sweep(trivial, combos))
        cpu = best_of(
            repeats,
            lambda sweep=sweep, combos=combos: sweep(trivial, combos),
            time.process_time,
        )
        row[peer] = (
            f"{t / floor:.2f}x wall, {cpu / floor_cpu:.2f}x cpu "
            f"({t:.3f} s vs {floor:.3f} s)"
        )
        peak = in_subprocess(peer, n_seq, trace=True)["peak"]
        mem[peer] = (
            f"{peak / out_bytes:.2f}x ({peak / 1e6:.1f} MB / {out_bytes / 1e6:.0f} MB)"
        )
    rows += [row, mem]

    big = {"measure": f"{n_big:.0e} combos: time, peak RSS", "target": "< 1 GB"}
    for peer in peers:
        if peer == "xyzpy" and n_big > 10**6 and not args.xyzpy_1e7:
            big[peer] = "skipped (--xyzpy-1e7)"
            continue
        r = in_subprocess(peer, n_big, trace=False)
        big[peer] = f"{r['elapsed']:.2f} s, {r['rss'] / 1e6:.0f} MB"
    rows.append(big)

    par = {"measure": f"2 workers, 1 ms sleep, {n_par} combos: speedup"}
    par["target"] = ">= 1.8x"
    cpu = {"measure": f"2 workers, 1 ms CPU spin, {n_par} combos: speedup"}
    cpu["target"] = ">= 1.8x (needs 2 idle cores)"
    triv = {
        "measure": f"2 workers, trivial fn, {n_triv} combos: time / sequential",
        "target": "<= 3x",
    }
    for peer in peers:
        for row, fn in ((par, nap), (cpu, spin)):
            seq, cold, warm = parallel_speedup(sweeps[peer], fn, n_par, 2)
            row[peer] = (
                f"{seq / warm:.2f}x warm, {seq / cold:.2f}x cold ({seq:.2f} s seq)"
            )
        seq, cold, warm = parallel_speedup(sweeps[peer], trivial, n_triv, 2)
        triv[peer] = f"{warm / seq:.2f}x ({warm * 1e3:.1f} ms vs {seq * 1e3:.1f} ms)"
        shutdown_workers()
    rows += [par, cpu, triv]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores: {os.cpu_count()}, load average at the end: {load:.2f}")
    header = ["measure", *peers, "target"]
    widths = [max(len(h), *(len(str(r.get(h, ""))) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        cells = [str(r.get(h, "")) for h in header]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))


if __name__ == "__main__":
    main()

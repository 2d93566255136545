"""Start-up cost of one grow process, against plain-Python floors.

Every task of a job array is a fresh ``python`` process that grows one batch,
so its start-up is paid once per batch. This times (median of ``--runs``,
commands interleaved so that machine noise hits them all alike):

* ``python -c pass``                          the interpreter alone
* ``python -c "import numpy, cloudpickle"``   the floor a grower cannot beat
* ``python -c "import xsweep; ...; xsweep.grow(i, crop=c)"``  one tiny batch
* ``python -m xsweep grow CROP i``            the same through the command line
* xyzpy 1.3.5's ``xyzpy.grow(i, crop=c)``     when xyzpy is importable

and prints each one's ratio to the numpy + cloudpickle floor (target for
xsweep: <= 2x; xyzpy 1.3.5 measured ~5x, ~600 ms).

Run: ``.venv/bin/python benchmarks/bench_grow_startup.py [--runs 15]``.
To see what a grow imports: ``python -X importtime -c "<the grow command>"``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PY = sys.executable


def tiny(x: int) -> int:
    """The function swept: as cheap as can be."""
    return 2 * x


def _by_value(fn: Callable) -> Callable:
    """``fn`` with its module set so that cloudpickle saves it by value."""
    fn.__module__ = "__main__"
    return fn


def sow_xsweep(parent: Path, runs: int) -> str:
    """Sow an xsweep crop with one single-combo batch per run; its directory."""
    import xsweep

    crop = xsweep.Crop(
        fn=_by_value(tiny), name="bench", parent_dir=str(parent), batchsize=1
    )
    crop.sow_combos({"x": list(range(runs))})
    return str(crop.location)


def sow_xyzpy(parent: Path, runs: int) -> str | None:
    """Sow an xyzpy crop the same way, if xyzpy is importable."""
    if importlib.util.find_spec("xyzpy") is None:
        return None
    import xyzpy

    crop = xyzpy.Crop(
        fn=_by_value(tiny), name="bench", parent_dir=str(parent), batchsize=1
    )
    crop.sow_combos({"x": list(range(runs))})
    return str(parent)


def commands(xs_parent: Path, xs_location: str, xyz_parent: str | None):
    """``{label: (function of run number i -> argv)}`` for every timed command."""
    grow = (
        "import xsweep; c = xsweep.Crop(name='bench', parent_dir={d!r}); "
        "xsweep.grow({i}, crop=c)"
    )
    out = {
        "python -c pass": lambda i: [PY, "-c", "pass"],
        "import numpy, cloudpickle": lambda i: [
            PY,
            "-c",
            "import numpy, cloudpickle",
        ],
        "xsweep.grow(i, crop=c)": lambda i: [
            PY,
            "-c",
            grow.format(d=str(xs_parent), i=i),
        ],
        "python -m xsweep grow CROP i": lambda i: [
            PY,
            "-m",
            "xsweep",
            "grow",
            "-q",
            xs_location,
            str(i),
        ],
    }
    if xyz_parent is not None:
        xyz = grow.replace("xsweep", "xyzpy").format(d=xyz_parent, i="{i}")
        out["xyzpy 1.3.5 grow(i, crop=c)"] = lambda i: [PY, "-c", xyz.format(i=i)]
    return out


def time_once(argv: list[str]) -> float:
    """Wall-clock seconds of one process."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    """Time every command; print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        xs_parent, xyz_dir = Path(tmp, "xs"), Path(tmp, "xyz")
        xs_parent.mkdir()
        xyz_dir.mkdir()
        # one fresh batch per run (plus a warm-up), twice over for xsweep:
        # python -c grows 1..n, the command line n+1..2n
        n = args.runs + 1
        xs_location = sow_xsweep(xs_parent, 2 * n)
        xyz_parent = sow_xyzpy(xyz_dir, n)
        cmds = commands(xs_parent, xs_location, xyz_parent)
        times: dict[str, list[float]] = {label: [] for label in cmds}
        for i in range(1, n + 1):  # run 1 warms the caches up
            for label, make in cmds.items():
                batch = i + n if "-m xsweep" in label else i
                elapsed = time_once(make(batch))
                if i > 1:
                    times[label].append(elapsed)
    floor = statistics.median(times["import numpy, cloudpickle"])
    bare = statistics.median(times["python -c pass"])
    print(f"grow start-up, median of {args.runs} runs (lower is better)")
    print(f"{'command':<32} {'ms':>8} {'x numpy+cp':>11} {'x pass':>8}")
    for label, values in times.items():
        med = statistics.median(values)
        print(f"{label:<32} {med * 1e3:8.1f} {med / floor:11.2f} {med / bare:8.2f}")
    ratio = statistics.median(times["xsweep.grow(i, crop=c)"]) / floor
    verdict = "meets" if ratio <= 2 else "MISSES"
    print(f"xsweep grow: {ratio:.2f}x numpy+cloudpickle ({verdict} the 2x target)")


if __name__ == "__main__":
    main()

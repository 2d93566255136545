"""Cluster benchmarks: ratios against a plain-Python floor, measured in one run.

Usage::

    python benchmarks/bench_cluster.py     # SLURM rows need a running SLURM
                                           # (scripts/ci/slurm_up.sh, as root)

Measures:

1. ``crop.status()`` of a 1e4-batch crop (half grown), from a fresh ``Crop``
   opened from the directory alone (no scheduler query), vs the floor of
   listing the result and claim directories (``os.listdir``).
2. ``gen_cluster_script`` for 1e4 missing batches (pull mode), vs the same
   floor.
3. A 30-combo crop (6 batches) through real SLURM: ``grow_cluster`` +
   waiting for the array + ``reap``, vs the in-memory ``Runner`` run; and the
   floor of a trivial 6-task array (``sbatch --wrap true``) on the same
   SLURM, which is what scheduling alone costs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from schedulers._sweep import expected, make_crop  # noqa: E402

from xsweep.crop.crop import Crop  # noqa: E402
from xsweep.schedulers import get_scheduler  # noqa: E402


def ident(x):
    """The swept function of the status benchmark."""
    return x


def best(fn, repeat=5):
    """Best wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_status(tmp: Path) -> list[tuple[str, float, float]]:
    crop = Crop(fn=ident, parent_dir=tmp, batchsize=1)
    crop.sow_combos({"x": range(10_000)})
    crop.grow(list(range(1, 5001)))
    layout = crop.layout

    def floor():
        os.listdir(layout.results_dir)
        os.listdir(layout.claims_dir)

    def status():
        s = Crop(name="ident", parent_dir=tmp).status()
        assert s.done == 5000 and s.pending == 5000

    def script():
        Crop(name="ident", parent_dir=tmp).gen_cluster_script("slurm", num_tasks=50)

    f = best(floor)
    return [
        ("status(), 1e4 batches, from the directory", best(status), f),
        ("gen_cluster_script, 5e3 missing, pull mode", best(script), f),
    ]


def slurm_running() -> bool:
    if shutil.which("sinfo") is None:
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return out.returncode == 0 and "idle" in out.stdout


def bench_slurm(tmp: Path) -> list[tuple[str, float, float]]:
    slurm = get_scheduler("slurm")
    expected()  # import xarray & co. first: the in-memory floor is the run alone
    t = time.perf_counter()
    expected()
    in_memory = time.perf_counter() - t

    t = time.perf_counter()
    job = subprocess.run(
        ["sbatch", "--parsable", "--array=1-6", f"--output={tmp}/t-%a.out",
         "--wrap", "true"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    slurm.wait(job, timeout=300, poll=0.1)
    trivial = time.perf_counter() - t

    t = time.perf_counter()
    crop = make_crop(tmp)
    job = crop.grow_cluster("slurm", time="0:10:00")
    slurm.wait(job, timeout=300, poll=0.1)
    crop.reap()
    through_slurm = time.perf_counter() - t
    return [
        ("30 combos via SLURM: submit, wait, reap / in-memory",
         through_slurm, in_memory),
        ("30 combos via SLURM: submit, wait, reap / trivial array",
         through_slurm, trivial),
    ]  # fmt: skip


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_status(Path(tmp))
    if slurm_running():
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_slurm(Path(tmp))
    else:
        print("(SLURM not running: skipping the SLURM rows)")
    print(f"{'measure':<58} {'xsweep':>9} {'floor':>9} {'ratio':>7}")
    for name, ours, floor in rows:
        print(f"{name:<58} {ours:>8.3f}s {floor:>8.3f}s {ours / floor:>6.1f}x")


if __name__ == "__main__":
    main()

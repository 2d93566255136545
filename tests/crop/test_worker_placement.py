"""What each local worker sees: its CPUs, thread counts and GPUs.

The function reports its own environment, CPU affinity and the thread count
of the BLAS pool numpy loaded, as a worker's process really sees them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from grower_procs import by_value, run_cli

import xsweep
from xsweep.crop.placement import GPU_VARS, THREAD_VARS, default_threads

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import json
import os
import time

def where(x, log):
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    seen = {
        "x": x,
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in VARS},
        "cpus": sorted(os.sched_getaffinity(0)),
        "blas": blas,
    }
    with open(log, "a") as fh:
        fh.write(json.dumps(seen) + "\\n")
    time.sleep(0.05)  # so that both workers get combos
    return x
""".replace("VARS", repr(list(THREAD_VARS + GPU_VARS)))

TWO_CPUS = len(os.sched_getaffinity(0)) >= 2


def sow(tmp_path: Path, n: int = 8):
    log = tmp_path / "log"
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "where"), name="where", parent_dir=str(tmp_path)
    )
    crop.sow_combos({"x": list(range(n))}, constants={"log": str(log)})
    return crop, log


def seen(log: Path) -> dict[int, list[dict]]:
    """What each worker process saw, by pid."""
    out: dict[int, list[dict]] = {}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        out.setdefault(rec["pid"], []).append(rec)
    return out


@pytest.mark.skipif(not TWO_CPUS, reason="needs 2 usable CPUs")
def test_threads_affinities_and_gpus_per_worker(tmp_path):
    crop, log = sow(tmp_path)
    report = crop.grow_missing(num_threads=1, affinities=[0, 1], gpus=[0, 1])
    assert len(report.grown) == 8
    workers = seen(log)
    assert len(workers) == 2 and os.getpid() not in workers
    cpus, gpus = [], []
    for recs in workers.values():
        first = recs[0]
        assert all(
            r["cpus"] == first["cpus"] and r["env"] == first["env"] for r in recs
        )
        assert len(first["cpus"]) == 1
        cpus.append(first["cpus"][0])
        env = first["env"]
        assert {env[k] for k in THREAD_VARS} == {"1"}
        assert first["blas"] and set(first["blas"]) == {1}  # numpy's pool too
        assert len({env[k] for k in GPU_VARS}) == 1
        gpus.append(env["CUDA_VISIBLE_DEVICES"])
    assert sorted(cpus) == [0, 1]  # each its own CPU
    assert sorted(gpus) == ["0", "1"]  # each its own device


def test_fractional_gpus_share_a_device_and_too_many_workers_are_refused(tmp_path):
    crop, log = sow(tmp_path)
    crop.grow_missing(num_workers=2, gpus=[3], gpus_per_task=0.5)
    devices = {r[0]["env"]["ROCR_VISIBLE_DEVICES"] for r in seen(log).values()}
    assert devices == {"3"}
    crop2, _ = sow(tmp_path / "b")
    with pytest.raises(ValueError, match="3 workers but 2 GPU slot"):
        crop2.grow_missing(num_workers=3, gpus=[0, 1])
    with pytest.raises(ValueError, match="affinities"):
        crop2.grow_missing(num_workers=2, affinities=[10**6, 0])


def test_default_threads_keep_workers_times_threads_within_the_cpus(tmp_path):
    crop, log = sow(tmp_path)
    crop.grow_missing(num_workers=2)
    expected = str(default_threads(2))
    assert default_threads(2) * 2 <= len(os.sched_getaffinity(0)) or expected == "1"
    for recs in seen(log).values():
        assert recs[0]["env"]["OMP_NUM_THREADS"] == expected
        assert recs[0]["env"]["CUDA_VISIBLE_DEVICES"] is None  # untouched


@pytest.mark.skipif(not TWO_CPUS, reason="needs 2 usable CPUs")
def test_cli_workers_threads_affinities_gpus(tmp_path):
    crop, log = sow(tmp_path)
    done = run_cli(
        "grow", str(crop.location), "--num-threads", "1", "--affinities", "1,0",
        "--gpus", "4,5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    workers = seen(log)
    pairs = sorted(
        (r[0]["cpus"][0], r[0]["env"]["HIP_VISIBLE_DEVICES"]) for r in workers.values()
    )
    assert pairs == [(0, "5"), (1, "4")]
    bad = run_cli("grow", str(crop.location), "--gpus", "0,x")
    assert bad.returncode == 2 and "--gpus" in bad.stderr

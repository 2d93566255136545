"""A crop grown on a real dask.distributed LocalCluster: workers write results
straight into the crop directory, and the reap equals the in-memory run."""

from __future__ import annotations

import os

import pytest
import xarray as xr
from schedulers._sweep import expected, make_crop, provenance

pytestmark = pytest.mark.dask


def test_grow_missing_on_a_local_dask_cluster(tmp_path, dask_client):
    crop = make_crop(tmp_path)
    worker_pids = set(dask_client.run(os.getpid).values())
    report = crop.grow_missing(executor=dask_client)
    assert sorted(report.grown) == [1, 2, 3, 4, 5, 6]
    assert crop.missing_results() == ()
    writers = {provenance(crop, batch)[0]["pid"] for batch in range(1, 7)}
    assert writers <= worker_pids and os.getpid() not in writers
    xr.testing.assert_equal(crop.reap(), expected())


def test_resources_go_to_dask_a_task_runs_only_where_they_are(tmp_path, dask_client):
    """``resources={"GPU": 1}``: the pull task waits for a worker that has a GPU
    (a real ``dask worker --resources GPU=1`` started here), and runs there."""
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    crop = make_crop(tmp_path)
    plain = set(dask_client.run(os.getpid).values())
    out: dict = {}

    def grow() -> None:
        out["report"] = crop.grow_missing(
            executor=dask_client, resources={"GPU": 1}, num_tasks=1
        )

    grower = threading.Thread(target=grow)
    grower.start()

    def restrictions(dask_scheduler):
        return [
            dict(ts.resource_restrictions or {}) for ts in dask_scheduler.tasks.values()
        ]

    deadline = time.monotonic() + 30
    while {"GPU": 1} not in dask_client.run_on_scheduler(restrictions):
        assert time.monotonic() < deadline, "no task asking for a GPU"
        time.sleep(0.05)
    assert len(crop.missing_results()) == 6  # no worker with a GPU yet
    address = dask_client.scheduler.address
    dask = Path(sys.executable).with_name("dask")
    worker = subprocess.Popen(
        [str(dask), "worker", address, "--nthreads", "1", "--resources", "GPU=1",
         "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        grower.join(90)
        assert not grower.is_alive()
        assert sorted(out["report"].grown) == [1, 2, 3, 4, 5, 6]
        writers = {provenance(crop, batch)[0]["pid"] for batch in range(1, 7)}
        assert writers and not writers & plain  # only the worker with a GPU
        assert os.getpid() not in writers
    finally:
        worker.terminate()
        worker.wait(30)

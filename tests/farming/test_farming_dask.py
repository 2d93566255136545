"""Runner on a real dask.distributed LocalCluster (2 worker processes)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from xsweep import Runner

if os.environ.get("CI"):
    import distributed
else:
    distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.dask


def work(x, n):
    return np.sin(x) * n, os.getpid()


def test_dask_client_equals_sequential():
    runner = Runner(work, ["y", "pid"])
    combos = {"x": np.linspace(0, 3, 30), "n": range(20)}
    sequential = runner.run_combos(combos)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # None still binds 8787 (its http server)
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = runner.run_combos(
            combos, executor=client, in_process_below=0, chunksize=50
        )
        worker_pids = set(client.run(os.getpid).values())
    xr.testing.assert_identical(on_dask.y, sequential.y)
    used = set(np.unique(on_dask.pid.values).tolist())
    assert used <= worker_pids and os.getpid() not in used

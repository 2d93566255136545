"""Runner on a real dask.distributed LocalCluster (2 worker processes)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from xsweep import Runner

pytestmark = pytest.mark.dask


def work(x, n):
    return np.sin(x) * n, os.getpid()


def test_dask_client_equals_sequential(dask_client):
    runner = Runner(work, ["y", "pid"])
    combos = {"x": np.linspace(0, 3, 30), "n": range(20)}
    sequential = runner.run_combos(combos)
    on_dask = runner.run_combos(
        combos, executor=dask_client, in_process_below=0, chunksize=50
    )
    worker_pids = set(dask_client.run(os.getpid).values())
    xr.testing.assert_identical(on_dask.y, sequential.y)
    used = set(np.unique(on_dask.pid.values).tolist())
    assert used <= worker_pids and os.getpid() not in used

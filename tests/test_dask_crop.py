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

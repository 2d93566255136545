"""Fixtures shared by tests in several directories."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def dask_client():
    """A Client to a real dask LocalCluster of 2 single-thread worker processes.

    Skipped where dask.distributed is not installed, but never under ``CI``:
    there a missing dask fails the test.
    """
    if os.environ.get("CI"):
        import distributed
    else:
        distributed = pytest.importorskip("dask.distributed")
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
        yield client

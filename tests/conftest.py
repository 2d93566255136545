"""Fixtures shared by tests in several directories."""

from __future__ import annotations

import os
import signal

import pytest

# A shell starts background jobs (``./scripts/test &``, some CI runners) with
# SIGINT ignored, and an ignored signal stays ignored across exec: every
# process a test starts would then shrug off Ctrl-C, and the tests that send
# SIGINT to a real grower would see it run to its end. Give this process the
# dispositions a terminal gives; handled signals reset to default at exec.
signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


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

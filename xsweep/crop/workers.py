"""Growing a crop on many workers: local processes or any ``submit`` executor.

Each worker is a *puller*: it opens the crop from its directory and claims and
grows missing batches until none is left, writing results straight into the
crop directory. Claims keep pullers from computing a batch twice, so the
number of tasks need not match the number of batches.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from .grow import GrowReport


def pull_task(
    location: str,
    fn_blob: bytes | None,
    heartbeat_timeout: float | None,
    nonce: str,
    deadline: Any = None,
) -> dict[str, Any]:
    """Grow missing batches of the crop at ``location`` (run in a worker).

    ``nonce`` makes every submission unique (dask would merge identical tasks);
    ``deadline`` is the :class:`~xsweep.crop.deadline.Deadline` of every
    worker (None: each asks the scheduler, if any).
    """
    del nonce
    from .crop import Crop, CropLayout

    fn = None
    if fn_blob is not None:
        import pickle

        import cloudpickle  # noqa: F401

        fn = pickle.loads(fn_blob)
    name = CropLayout.name_of(location)
    crop = Crop(
        fn=fn,
        name=name,
        parent_dir=os.path.dirname(os.path.abspath(location)),
        heartbeat_timeout=heartbeat_timeout,
    )
    report = crop.grow(deadline=deadline)
    return report.__dict__


def executor_width(executor: Any) -> int:
    """How many tasks an executor runs at once (a guess when it will not say)."""
    width = getattr(executor, "_max_workers", None)
    if isinstance(width, int) and width > 0:
        return width
    info = getattr(executor, "scheduler_info", None)  # dask.distributed.Client
    if callable(info):
        try:
            workers = info().get("workers", {})
            n = sum(int(w.get("nthreads", 1)) for w in workers.values())
            if n > 0:
                return n
        except Exception:
            pass
    return os.cpu_count() or 1


def grow_on(
    executor: Any,
    location: str,
    fn_blob: bytes | None,
    heartbeat_timeout: float | None,
    num_tasks: int,
    deadline: float | None = None,
) -> GrowReport:
    """Submit ``num_tasks`` pullers to ``executor`` and wait for them."""
    futures = [
        executor.submit(
            pull_task,
            location,
            fn_blob,
            heartbeat_timeout,
            uuid.uuid4().hex,
            deadline,
        )
        for _ in range(num_tasks)
    ]
    report = GrowReport()
    for fut in futures:
        report.merge(GrowReport(**fut.result()))
    return report


def grow_on_processes(
    num_workers: int,
    location: str,
    fn_blob: bytes | None,
    heartbeat_timeout: float | None,
    deadline: float | None = None,
) -> GrowReport:
    """Grow with ``num_workers`` local worker processes.

    The engine's loky pool: unlike a ``spawn`` pool, it never re-runs the
    user's ``__main__``, so a script without an ``if __name__ == "__main__"``
    guard can call ``grow_missing(num_workers=...)``.
    """
    from ..engine.parallel import local_executor

    pool = local_executor(num_workers)
    return grow_on(pool, location, fn_blob, heartbeat_timeout, num_workers, deadline)


def grow_missing(
    crop: Any,
    num_workers: int | None,
    executor: Any,
    num_tasks: int | None,
    deadline: Any = None,
) -> GrowReport:
    """What :meth:`Crop.grow_missing <xsweep.crop.crop.Crop.grow_missing>` does."""
    if executor is None and not num_workers:
        return crop.grow(deadline=deadline)
    end = None
    if deadline is not None:  # one end for every worker, however late it starts
        from .deadline import resolve

        end = resolve(deadline)
    crop._grower()  # check the function before starting workers
    blob = None
    if not crop._read_sow().fn_saved and crop._fn is not None:
        import cloudpickle

        blob = cloudpickle.dumps(crop._fn)
    timeout = crop.heartbeat_timeout
    if executor is None:
        return grow_on_processes(num_workers, crop.location, blob, timeout, end)
    n = num_tasks or num_workers or executor_width(executor)
    return grow_on(executor, crop.location, blob, timeout, n, end)

"""Growing a crop on many workers: local processes or any ``submit`` executor.

Each worker is a *puller*: it opens the crop from its directory and claims and
grows missing batches until none is left, writing results straight into the
crop directory. Claims keep pullers from computing a batch twice, so the
number of tasks need not match the number of batches.

A puller opens the crop with the crop's own class, passed in (``crop_type``):
this module sits below :mod:`.crop`, which imports it, and never imports it
back.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from .grow import GrowReport


def pull_task(
    crop_type: type,
    location: str,
    fn_blob: bytes | None,
    heartbeat_timeout: float | None,
    nonce: str,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Grow missing batches of the crop at ``location`` (run in a worker).

    ``crop_type`` is the crop's class (:class:`~xsweep.crop.crop.Crop`);
    ``nonce`` makes every submission unique (dask would merge identical tasks).
    ``options`` are :meth:`Crop.grow <xsweep.crop.crop.Crop.grow>`'s.
    """
    del nonce
    from .layout import CropLayout

    fn = None
    if fn_blob is not None:
        import pickle

        import cloudpickle  # noqa: F401

        fn = pickle.loads(fn_blob)
    name = CropLayout.name_of(location)
    crop = crop_type(
        fn=fn,
        name=name,
        parent_dir=os.path.dirname(os.path.abspath(location)),
        heartbeat_timeout=heartbeat_timeout,
    )
    report = crop.grow(**(options or {}))
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
    crop_type: type,
    location: str,
    fn_blob: bytes | None,
    heartbeat_timeout: float | None,
    num_tasks: int,
    options: dict[str, Any] | None = None,
    resources: dict | None = None,
) -> GrowReport:
    """Submit ``num_tasks`` pullers to ``executor`` and wait for them."""
    extra = {} if resources is None else {"resources": resources}
    if resources is not None and not callable(
        getattr(executor, "scheduler_info", None)
    ):
        raise ValueError(
            "resources= is for a dask.distributed Client (worker resources); "
            f"{type(executor).__name__} has none"
        )
    futures = [
        executor.submit(
            pull_task,
            crop_type,
            location,
            fn_blob,
            heartbeat_timeout,
            uuid.uuid4().hex,
            options,
            **extra,
        )
        for _ in range(num_tasks)
    ]
    report = GrowReport()
    for fut in futures:
        report.merge(GrowReport(**fut.result()))
    return report


def grow_on_processes(
    num_workers: int,
    crop_type: type,
    location: str,
    fn_blob: bytes | None,
    heartbeat_timeout: float | None,
    deadline: Any = None,
) -> GrowReport:
    """Grow with ``num_workers`` local worker processes, unsupervised.

    The engine's loky pool: unlike a ``spawn`` pool, it never re-runs the
    user's ``__main__``, so a script without an ``if __name__ == "__main__"``
    guard can call ``grow_missing(num_workers=..., supervise=False)``.
    """
    from ..engine.parallel import local_executor

    pool = local_executor(num_workers)
    options = None if deadline is None else {"deadline": deadline}
    return grow_on(
        pool, crop_type, location, fn_blob, heartbeat_timeout, num_workers, options
    )


def grow_missing(
    crop: Any,
    num_workers: int | None,
    executor: Any,
    num_tasks: int | None,
    resources: dict | None = None,
    **options: Any,
) -> GrowReport:
    """What :meth:`Crop.grow_missing <xsweep.crop.crop.Crop.grow_missing>` does."""
    from .grow_options import supervisions

    if options.get("deadline") is not None:  # one end for every worker
        from .deadline import resolve

        options["deadline"] = resolve(options["deadline"])

    if executor is not None:
        if options.get("affinities") is not None or options.get("gpus") is not None:
            raise ValueError(
                "affinities= and gpus= place local workers; with executor=, ask "
                'the executor for them (a dask Client: resources={"GPU": 1})'
            )
        options.pop("gpus_per_task", None)
        crop._grower()  # check the function before starting workers
        n = num_tasks or num_workers or executor_width(executor)
        return grow_on(
            executor,
            type(crop),
            crop.location,
            _blob(crop),
            crop.heartbeat_timeout,
            n,
            options,
            resources,
        )
    if resources is not None:
        raise ValueError("resources= goes with executor= (a dask Client)")
    placed = any(options.get(k) is not None for k in ("affinities", "gpus"))
    if not num_workers and not placed:
        options.pop("gpus_per_task", None)
        return crop.grow(**options)
    deadline = options.pop("deadline", None)
    sups = supervisions(num_workers, **options)
    if sups[0] is None:  # supervise=False: a plain process pool
        crop._grower()
        return grow_on_processes(
            len(sups),
            type(crop),
            crop.location,
            _blob(crop),
            crop.heartbeat_timeout,
            deadline,
        )
    from .local_workers import grow_locally

    return grow_locally(crop, sups, deadline)


def _blob(crop: Any) -> bytes | None:
    """The function, cloudpickled, if workers cannot load it from the crop."""
    if not crop._read_sow().fn_saved and crop._fn is not None:
        import cloudpickle

        return cloudpickle.dumps(crop._fn)
    return None

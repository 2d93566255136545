"""A Ray cluster as an engine: :class:`RayExecutor` (xyzpy's name and API).

Usable wherever an ``executor=`` is taken (``Runner.run_combos``,
``combo_runner``, ``Crop.grow_missing``): ``submit`` returns a
:class:`concurrent.futures.Future`, so the engine waits on Ray tasks as on
any pool. Ray is imported only when a :class:`RayExecutor` is made; install
it with the ``ray`` extra (``pip install xsweep[ray]``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "RayExecutor needs Ray: pip install 'xsweep[ray]' (or pip install ray)"
        ) from e
    return ray


def _call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run on a Ray worker: call ``fn`` (any callable, pickled by Ray)."""
    return fn(*args, **kwargs)


class RayExecutor:
    """Run tasks on a Ray cluster, with the ``concurrent.futures`` interface.

    Parameters
    ----------
    *args, **kwargs
        Passed to ``ray.init`` when Ray is not initialised yet (e.g.
        ``address="auto"`` to join a running cluster, or ``num_cpus=4`` for a
        local one); ignored, with a warning, when it already is.
    default_remote_opts : dict, optional
        Options of every task (``ray.remote``'s: ``num_cpus``, ``num_gpus``,
        ``resources``, ``memory``, ...), which ``submit(remote_opts=...)``
        overrides key by key.

    Examples
    --------
    >>> pool = xsweep.RayExecutor(num_cpus=4)  # doctest: +SKIP
    >>> crop.grow_missing(executor=pool)  # doctest: +SKIP
    """

    def __init__(
        self, *args: Any, default_remote_opts: dict | None = None, **kwargs: Any
    ) -> None:
        ray = _ray()
        if not ray.is_initialized():
            kwargs.setdefault("include_dashboard", False)
            ray.init(*args, **kwargs)
        elif args or kwargs:
            warnings.warn(
                "Ray is already initialised: RayExecutor ignores the arguments "
                f"{args or ''}{kwargs or ''} (call ray.shutdown() first to change "
                "them)",
                stacklevel=2,
            )
        self.default_remote_opts = dict(default_remote_opts or {})
        self._remote = ray.remote(_call)

    def _options(self, remote_opts: dict | None) -> dict:
        return {**self.default_remote_opts, **(remote_opts or {})}

    def submit(
        self,
        fn: Callable,
        *args: Any,
        pure: bool = False,
        remote_opts: dict | None = None,
        **kwargs: Any,
    ) -> Future:
        """Run ``fn(*args, **kwargs)`` as a Ray task; its future.

        ``pure`` is accepted for xyzpy's signature (and ignored); a
        ``remote_opts`` dict sets this task's Ray options.
        """
        del pure
        opts = self._options(remote_opts)
        remote = self._remote.options(**opts) if opts else self._remote
        return remote.remote(fn, *args, **kwargs).future()

    def map(
        self, fn: Callable, *iterables: Iterable, remote_opts: dict | None = None
    ) -> Iterator[Any]:
        """``fn`` over ``iterables`` as Ray tasks; results in order."""
        calls = zip(*iterables, strict=False)
        futures = [self.submit(fn, *args, remote_opts=remote_opts) for args in calls]
        return (f.result() for f in futures)

    def scatter(self, data: Any) -> Any:
        """Put ``data`` in Ray's object store once; a reference to pass to tasks."""
        return _ray().put(data)

    @property
    def _max_workers(self) -> int:
        """Tasks the cluster runs at once: its CPUs over each task's share."""
        cpus = _ray().cluster_resources().get("CPU", 1)
        per_task = self.default_remote_opts.get("num_cpus", 1) or 1
        return max(1, int(cpus // per_task))

    def shutdown(self, wait: bool = True) -> None:
        """Shut Ray down in this process (a cluster joined keeps running)."""
        del wait
        _ray().shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class RayGPUExecutor(RayExecutor):
    """A :class:`RayExecutor` whose tasks each ask for ``gpus_per_task`` GPUs.

    Ray gives each task its own device(s) through ``CUDA_VISIBLE_DEVICES``; a
    fraction (``gpus_per_task=0.5``) lets tasks share one.
    """

    def __init__(self, *args: Any, gpus_per_task: float = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_remote_opts.setdefault("num_gpus", gpus_per_task)

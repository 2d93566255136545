"""Sending chunks of combos to workers: local processes or any executor.

A task is tiny: a key, the cloudpickled ``(fn, combos, extra, mode)`` payload
and a flat index range. Each worker unpickles a payload once (cached by key)
and rebuilds its combos from the grid itself. A big payload (large constants,
say) only goes with the first round of tasks; a worker that gets a task
without it and has not seen it answers so, and that task is sent again with
the payload. Results come back as
:class:`~xsweep.engine.block.Block` objects (numpy columns).

Executors understood:

- anything with ``submit(fn, *args)`` returning futures with ``.result()``
  (``concurrent.futures``, ``dask.distributed.Client``, ipyparallel
  executors, loky);
- ``multiprocessing.Pool`` and ipyparallel views (``apply_async``; results
  through ``.get()``).

Thread pools get the objects themselves: nothing is pickled.
"""

from __future__ import annotations

import collections
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .block import Block
from .sequential import run_range
from .validate import pickle_payload

#: Unpickled payloads in this worker, by key (a few sweeps at most).
_PAYLOADS: collections.OrderedDict[str, tuple] = collections.OrderedDict()
_MAX_PAYLOADS = 4


def _load_payload(key: str, payload: bytes) -> tuple:
    found = _PAYLOADS.get(key)
    if found is None:
        import cloudpickle

        found = cloudpickle.loads(payload)
        _PAYLOADS[key] = found
        while len(_PAYLOADS) > _MAX_PAYLOADS:
            _PAYLOADS.popitem(last=False)
    return found


#: What a worker answers to a task whose payload it has not seen.
NEED_PAYLOAD = "xsweep:need-payload"
#: Payloads up to this size (bytes) go with every task.
SMALL_PAYLOAD = 1 << 16


def run_chunk(key: str, payload: bytes | None, start: int, stop: int) -> tuple:
    """Worker side: run one chunk of a pickled sweep.

    Returns ``(block, exception_bytes)``; the second is the pickled exception
    that stopped the block (``"stop"`` mode), when it pickles, else ``None``.
    Without ``payload`` and no cached payload for ``key``, returns
    ``(None, NEED_PAYLOAD)``.
    """
    if payload is None and key not in _PAYLOADS:
        return None, NEED_PAYLOAD
    fn, combos, extra, mode = _load_payload(key, payload)  # type: ignore[arg-type]
    block, exc = run_range(fn, combos, start, stop, extra, mode)
    return block, dump_exception(exc)


def run_chunk_local(
    fn: Callable, combos: Any, extra: Mapping, mode: str, start: int, stop: int
) -> tuple:
    """Thread side: run one chunk with the objects themselves."""
    return run_range(fn, combos, start, stop, extra, mode)


def dump_exception(exc: BaseException | None) -> bytes | None:
    """``exc`` cloudpickled, if it pickles and unpickles (else None)."""
    if exc is None:
        return None
    import cloudpickle

    try:
        data = cloudpickle.dumps(exc)
        cloudpickle.loads(data)
    except Exception:
        return None
    return data


def load_exception(data: Any) -> BaseException | None:
    """The exception returned by a task (pickled or not), if any."""
    if data is None or isinstance(data, BaseException):
        return data
    import cloudpickle

    return cloudpickle.loads(data)


#: environment variables setting the number of threads of numerical libraries
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def default_threads(num_workers: int) -> int:
    """Threads per worker so that ``num_workers`` x threads fits the usable CPUs.

    ``max(1, usable CPUs // num_workers)``.
    """
    return max(1, default_num_workers() // max(1, num_workers))


def thread_env(num_threads: int | None, num_workers: int) -> dict[str, str]:
    """The :data:`THREAD_VARS` of a worker: ``num_threads`` each, or by default
    :func:`default_threads`, but then not those already set in this process."""
    if num_threads is not None:
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        return dict.fromkeys(THREAD_VARS, str(num_threads))
    value = str(default_threads(num_workers))
    return {k: value for k in THREAD_VARS if k not in os.environ}


#: Seconds an idle local worker waits for work before it exits (loky's own
#: default, 10 s, would make most sweeps of an interactive session start cold).
WORKER_IDLE_TIMEOUT = 300.0


class _LocalPool:
    """What this process knows of the local pool: is it up, and since when idle."""

    executor: Any = None
    answered = False
    last_used = 0.0
    hello: Any = None  # a first task not answered before the last sweep ended
    env: dict | None = None  # the thread settings its workers started with


def local_executor(num_workers: int, num_threads: int | None = None) -> Any:
    """A warm, reusable pool of ``num_workers`` local worker processes (loky).

    Loky pickles with cloudpickle (functions defined in ``__main__`` or a
    notebook work) and keeps its workers alive between sweeps, here for
    :data:`WORKER_IDLE_TIMEOUT` seconds after their last task. Each worker's
    numerical libraries get :func:`thread_env` threads (set before they load;
    other thread counts start a new pool).
    """
    try:  # the package itself: its workers start faster (they import no joblib)
        from loky import get_reusable_executor
    except ImportError:  # the copy inside joblib
        from joblib.externals.loky import get_reusable_executor

    env = thread_env(num_threads, num_workers)
    executor = get_reusable_executor(
        max_workers=num_workers,
        reuse="auto",  # the same settings (threads): the same warm workers
        timeout=WORKER_IDLE_TIMEOUT,
        env=env,
    )
    if executor is not _LocalPool.executor:  # new (or replaced after a crash)
        _LocalPool.executor, _LocalPool.answered = executor, False
        _LocalPool.hello, _LocalPool.env = None, env
    return executor


def local_pool_is_warm(num_workers: int, num_threads: int | None = None) -> bool:
    """Whether local workers answered lately: a sweep sent to them starts at once.

    Not a promise (a worker may have been killed since); a sweep that finds
    the pool cold still starts: this process computes until workers answer.
    """
    executor, hello = _LocalPool.executor, _LocalPool.hello
    if hello is not None and _is_done(hello):  # it came up after the last sweep
        note_pool_answered(executor)
    return (
        executor is not None
        and _LocalPool.answered
        and getattr(executor, "_max_workers", 0) >= num_workers
        and _LocalPool.env == thread_env(num_threads, num_workers)
        and time.monotonic() - _LocalPool.last_used < WORKER_IDLE_TIMEOUT / 2
    )


def note_pool_answered(executor: Any, hello: Any = None) -> None:
    """Record that ``executor`` (the local pool) ran tasks just now.

    With ``hello``, the first task of a sweep that the pool had not answered
    by the end: it is answered once the pool is up.
    """
    if executor is not _LocalPool.executor:
        return
    if hello is not None:
        _LocalPool.hello = hello
        return
    _LocalPool.answered, _LocalPool.hello = True, None
    _LocalPool.last_used = time.monotonic()


def stop_local_executor(executor: Any, grace: float = 5.0) -> None:
    """Kill the workers of a local pool now and wait for them (at most ``grace``
    seconds); the next run starts a new pool."""
    workers = list(getattr(executor, "_processes", {}).values())
    if executor is _LocalPool.executor:
        _LocalPool.executor, _LocalPool.answered, _LocalPool.hello = None, False, None
    with contextlib.suppress(Exception):
        executor.shutdown(wait=False, kill_workers=True)
    for worker in workers:  # the pool's manager thread kills them too, later
        with contextlib.suppress(Exception):
            worker.kill()
    for worker in workers:
        with contextlib.suppress(Exception):
            worker.join(grace)


def default_num_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def is_thread_executor(executor: Any) -> bool:
    """Whether ``executor`` runs tasks in this process (no pickling needed)."""
    from concurrent.futures import ThreadPoolExecutor
    from multiprocessing.pool import ThreadPool

    return isinstance(executor, (ThreadPoolExecutor, ThreadPool))


def executor_size(executor: Any) -> int:
    """A best guess of how many tasks ``executor`` runs at once."""
    for attr in ("_max_workers", "_processes"):
        value = getattr(executor, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    nthreads = getattr(executor, "nthreads", None)  # dask.distributed.Client
    if callable(nthreads):
        try:
            return max(1, sum(nthreads().values()))
        except Exception:
            pass
    return default_num_workers()


class Dispatch:
    """Submit chunk tasks to ``executor`` and yield their results.

    Parameters
    ----------
    executor : object
        See the module docstring.
    fn, combos, extra, mode
        The sweep (``mode`` as in :func:`~xsweep.engine.sequential.run_range`).
    """

    def __init__(
        self, executor: Any, fn: Callable, combos: Any, extra: Mapping, mode: str
    ) -> None:
        self.executor = executor
        self.threads = is_thread_executor(executor)
        self.local_args = (fn, combos, dict(extra), mode)
        self.key = uuid.uuid4().hex
        self.payload = None if self.threads else pickle_payload(self.local_args, fn)
        self.live: list[Any] = []
        #: whether the executor has answered a task (its workers are up)
        self.answered = False
        #: the first task, if the sweep ended before the executor answered it
        self.hello: Any = None

    def _call(self, task: Callable, args: tuple) -> Any:
        executor = self.executor
        if hasattr(executor, "submit"):
            return executor.submit(task, *args)
        from multiprocessing.pool import Pool

        if isinstance(executor, Pool):
            return executor.apply_async(task, args)
        if hasattr(executor, "apply_async"):  # ipyparallel views
            return executor.apply_async(task, *args)
        raise TypeError(
            f"executor {executor!r} has neither submit() nor apply_async(): pass a "
            "concurrent.futures executor, a dask Client, a multiprocessing Pool "
            "or an ipyparallel view."
        )

    def _submit(self, start: int, stop: int, with_payload: bool = True) -> Any:
        if self.threads:
            return self._call(run_chunk_local, (*self.local_args, start, stop))
        payload = self.payload if with_payload else None
        return self._call(run_chunk, (self.key, payload, start, stop))

    def run(
        self,
        chunks: list[tuple[int, int]],
        in_flight: int,
        helper: Callable[[int, int], tuple[Block, Any]] | None = None,
        keep_helping: bool = False,
    ) -> Iterator[tuple[Block | None, Any, tuple[int, int]]]:
        """Yield ``(block, exception, (start, stop))`` per chunk as they finish.

        ``block`` is ``None`` when the task itself failed (a worker died, its
        result could not be sent back...): ``exception`` says why.

        At most ``in_flight`` tasks are submitted at a time. With ``helper``,
        nothing is submitted until the executor has answered a first trivial
        task: meanwhile this process runs chunks from the end of the queue
        itself. A cold pool of workers takes a few hundred milliseconds to
        start; this way that time is spent computing, no work waits in a pool
        that is still starting, and a sweep that finishes before the pool is
        up never waits for it. With ``keep_helping`` too, this process goes on
        running chunks from the end of the queue whenever no task has
        finished, instead of waiting (for a function that mostly waits, or
        when a core is free).
        """
        pending = collections.deque(chunks)
        spans: dict[int, tuple[int, int]] = {}
        submitted, small = 0, len(self.payload or b"") <= SMALL_PAYLOAD
        hello = self._call(os.getpid, ()) if helper and len(pending) > 1 else None
        while pending or self.live:
            if hello is not None:
                if pending and not _is_done(hello):
                    start, stop = pending.pop()
                    yield (*helper(start, stop), (start, stop))  # type: ignore[misc]
                    continue
                self.answered = self.answered or _is_done(hello)
                self.hello = None if self.answered else hello
                hello = None
            while pending and len(self.live) < in_flight:
                span = pending.popleft()
                self.live.append(self._submit(*span, submitted < in_flight or small))
                spans[id(self.live[-1])] = span
                submitted += 1
            if keep_helping and pending and not any(map(_is_done, self.live)):
                start, stop = pending.pop()
                yield (*helper(start, stop), (start, stop))  # type: ignore[misc]
                continue
            done = {id(h) for h in _wait_any(self.live)}
            for handle in [h for h in self.live if id(h) in done]:  # in order
                self.live.remove(handle)
                span = spans.pop(id(handle))
                try:
                    block, exc = _result(handle)
                except Exception as lost:  # the task itself failed, not a combo
                    yield None, lost, span
                    continue
                self.answered = True
                if block is None and exc == NEED_PAYLOAD:
                    self.live.append(self._submit(*span))
                    spans[id(self.live[-1])] = span
                else:
                    yield block, exc, span

    def cancel(self) -> None:
        """Cancel what has not started (best effort)."""
        for handle in self.live:
            cancel = getattr(handle, "cancel", None)
            if cancel is not None:
                with contextlib.suppress(Exception):
                    cancel()
        self.live = []


def _is_done(handle: Any) -> bool:
    done = getattr(handle, "done", None) or handle.ready
    return bool(done())


def _result(handle: Any) -> Any:
    return handle.result() if hasattr(handle, "result") else handle.get()


def _wait_any(handles: list[Any]) -> list[Any]:
    """Block until at least one handle is done; return the done ones."""
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    if all(isinstance(h, Future) for h in handles):
        return list(wait(handles, return_when=FIRST_COMPLETED).done)
    if type(handles[0]).__module__.startswith("distributed"):
        from distributed import wait as dask_wait

        return list(dask_wait(handles, return_when="FIRST_COMPLETED").done)
    while True:  # multiprocessing / ipyparallel AsyncResult: poll
        done = [h for h in handles if _is_done(h)]
        if done:
            return done
        handles[0].wait(0.005)

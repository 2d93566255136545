"""``run``: a whole sweep into an :class:`OutputBuffer`, here or on workers."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..combos import Cases, Grid, check_names_disjoint, parse_combos
from ..errors import WorkerError
from .block import Block
from .chunks import guided_chunks, next_sequential_size
from .failures import make_failure, raise_combo_failed, shown
from .forked import ForkedWorkers, fork_usable
from .outputs import OutputBuffer
from .parallel import (
    Dispatch,
    default_num_workers,
    executor_size,
    load_exception,
    local_executor,
    local_pool_is_warm,
    note_pool_answered,
    stop_local_executor,
    thread_env,
)
from .progress import Progress
from .sequential import run_range
from .stopping import stopping_workers
from .validate import check_signature

#: Below this estimated time (seconds) for the combos left, a sweep runs in
#: this process even when workers were asked for: dispatching would cost more
#: than it saves.
IN_PROCESS_BELOW = 0.1
#: The same when the local worker pool is cold (its workers not started, or
#: idle past their timeout): starting them costs this process tens of
#: milliseconds (importing loky, spawning) and, on a machine with few cores,
#: a share of the CPU while they start (each imports python, numpy and
#: cloudpickle); only longer sweeps win it back. Scaled up by the machine's
#: load per core when that is over 1 (see :func:`cold_pool_below`).
COLD_POOL_BELOW = 0.5


def busy_factor() -> float:
    """The 1-minute load average per usable core, when over 1 (else 1): on
    an oversubscribed machine a new process gets only a share of a core, so
    workers pay back their start (fork or not) only on longer sweeps."""
    try:
        load = os.getloadavg()[0] / default_num_workers()
    except (AttributeError, OSError):  # pragma: no cover - no load average
        load = 1.0
    return max(1.0, load)


def cold_pool_below() -> float:
    """:data:`COLD_POOL_BELOW`, times :func:`busy_factor`: starting loky
    workers takes seconds on a busy machine, not 0.3 s."""
    return COLD_POOL_BELOW * busy_factor()


#: How long to run combos in this process to estimate their cost.
PROBE_SECONDS = 0.01


def _workers(num_workers: int | None, parallel: bool, executor: Any) -> int:
    if executor is not None:
        return executor_size(executor)
    if num_workers is None and parallel:
        return default_num_workers()
    return int(num_workers or 1)


def run(
    fn: Callable,
    combos: Any,
    *,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    var_names: str | Sequence[str] | None = None,
    var_dims: Mapping[str, Sequence[str]] | None = None,
    var_coords: Mapping[str, Sequence] | None = None,
    on_error: str = "raise",
    num_workers: int | None = None,
    parallel: bool = False,
    executor: Any = None,
    verbosity: int = 0,
    chunksize: int | None = None,
    in_process_below: float | None = None,
    desc: str | None = None,
    num_threads: int | None = None,
) -> OutputBuffer:
    """Run ``fn`` over every combo and collect the results in numpy arrays.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**combo, **constants, **resources)``.
    combos : Grid, Cases, dict or sequence of (name, values) pairs
        What to run over.
    constants, resources : dict, optional
        Extra keyword arguments for every call.
    var_names, var_dims, var_coords
        The outputs; see :class:`OutputBuffer`.
    on_error : {"raise", "record"}
        ``"raise"`` stops at the first failing combo with
        :class:`~xsweep.errors.ComboFailedError`; ``"record"`` keeps going,
        leaves NaN for failed combos and lists them in ``buffer.failures``.
    num_workers : int, optional
        Run on this many local worker processes: forked from this process
        for the sweep when that is safe (:mod:`~xsweep.engine.forked`), else
        a loky pool, reused between runs.
    parallel : bool
        Use every core (when ``num_workers`` is not given).
    executor : optional
        Any object with ``submit`` (``concurrent.futures``, dask ``Client``)
        or ``apply_async`` (``multiprocessing.Pool``, ipyparallel views).
    verbosity : {0, 1, 2}
        0 silent, 1 a progress bar, 2 a bar with failures and the last combo.
    chunksize : int, optional
        Combos per task sent to workers (default: guided sizes).
    in_process_below : float, optional
        With workers, combos are first run here for ~10 ms to estimate their
        cost; if the rest is estimated to take less than this many seconds
        (default :data:`IN_PROCESS_BELOW`; at least :data:`COLD_POOL_BELOW`
        when a loky pool must be started first; either times the load per
        core on an oversubscribed machine, see :func:`busy_factor`), it
        finishes here instead of paying for dispatch; and while a cold loky
        pool starts, this process runs combos too. ``0`` skips both: every
        combo is sent to the workers.
    desc : str, optional
        Label of the progress bar.
    num_threads : int, optional
        Threads of the numerical libraries (OMP, MKL, OpenBLAS, vecLib,
        numexpr, numba) in each local worker. Default: the usable CPUs
        divided by the number of workers (at least 1), for the variables not
        already set in this process. With local workers only. SIGTERM or
        Ctrl-C stops local workers at once (:mod:`xsweep.engine.stopping`):
        none is left computing behind.

    Returns
    -------
    OutputBuffer
        The results, with ``.arrays``, ``.failures`` and ``.missing``.
    """
    if num_threads is not None and executor is not None:
        raise ValueError(
            "num_threads= sets the threads of local workers (num_workers=); "
            "set them in the executor's own workers instead"
        )
    if not isinstance(combos, (Grid, Cases)):
        combos = parse_combos(combos)
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    check_names_disjoint(combos=combos.names, constants=constants, resources=resources)
    check_signature(fn, combos.names, constants, resources)
    extra = {**(constants or {}), **(resources or {})}
    buffer = OutputBuffer(combos, var_names, var_dims, var_coords)
    workers = _workers(num_workers, parallel, executor)
    threshold = IN_PROCESS_BELOW if in_process_below is None else in_process_below
    with Progress(combos.size, verbosity, desc) as progress:
        sweep = _Sweep(fn, combos, extra, on_error, buffer, progress)
        if workers <= 1 and executor is None:
            sweep.here(combos.size)
        else:
            # a cold local pool: fork workers from this process if that is
            # safe here (milliseconds), else start the loky pool (0.3 s+)
            cold = executor is None and not local_pool_is_warm(workers, num_threads)
            fork = None  # (asked only when the sweep is worth workers)
            if threshold > 0:
                sweep.here(combos.size, budget=PROBE_SECONDS)
                if cold and sweep.estimate_left() >= threshold:
                    fork = fork_usable()
                    extra = threshold * busy_factor() if fork else cold_pool_below()
                    threshold = max(threshold, extra)
            if threshold > 0 and sweep.estimate_left() < threshold:
                sweep.here(combos.size)
            else:
                local = executor is None
                # a spare core, or a function that mostly waits: this process
                # runs chunks too (and always while a loky pool starts)
                keep_helping = (
                    local
                    and threshold > 0
                    and (sweep.mostly_waits() or default_num_workers() > workers)
                )
                if fork is None:
                    fork = cold and fork_usable()
                if fork:
                    sweep.forked(workers, chunksize, keep_helping, num_threads)
                elif local:
                    help_start = threshold > 0
                    pool = local_executor(workers, num_threads)
                    with stopping_workers(lambda: stop_local_executor(pool)):
                        sweep.dispatch(
                            pool, workers, chunksize, help_start, keep_helping
                        )
                else:
                    sweep.dispatch(executor, workers, chunksize, False)
    return buffer


class _Sweep:
    """The state of one run: where it got to and how fast combos go."""

    def __init__(
        self,
        fn: Callable,
        combos: Any,
        extra: dict,
        on_error: str,
        buffer: OutputBuffer,
        progress: Progress,
    ) -> None:
        self.fn, self.combos, self.extra = fn, combos, extra
        self.on_error, self.buffer, self.progress = on_error, buffer, progress
        self.position = 0
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def per_combo(self) -> float:
        """Measured seconds per combo so far."""
        return self.seconds / self.position if self.position else 0.0

    def mostly_waits(self) -> bool:
        """Whether the combos run here so far used the CPU less than half the time."""
        return self.seconds > 0 and self.cpu_seconds < 0.5 * self.seconds

    def estimate_left(self) -> float:
        """Estimated seconds to run the combos not run yet in this process."""
        return self.per_combo() * (self.combos.size - self.position)

    def _put(self, block: Any) -> None:
        self.buffer.put_block(block.start, block)
        last = (
            self.combos.combo(block.stop - 1) if self.progress.verbosity > 1 else None
        )
        self.progress.update(block.size, len(self.buffer.failures), last)

    def here(self, stop: int, budget: float | None = None) -> None:
        """Run combos from the current position in this process.

        With ``budget``, stop once that many seconds have been spent.
        """
        t0 = time.perf_counter()
        while self.position < stop:
            size = next_sequential_size(
                self.position, self.per_combo(), stop - self.position
            )
            cpu = time.process_time()
            block, _ = run_range(
                self.fn,
                self.combos,
                self.position,
                self.position + size,
                self.extra,
                self.on_error,
            )
            self.cpu_seconds += time.process_time() - cpu
            self._put(block)
            self.position = block.stop
            self.seconds += block.duration
            if budget is not None and time.perf_counter() - t0 >= budget:
                return

    def _lost(self, span: tuple[int, int], exc: BaseException, mode: str) -> Block:
        """A task that failed as a whole: raise, or record all its combos."""
        start, stop = span
        which = (
            f"combo {shown(self.combos.combo(start))} (flat index {start})"
            if stop - start == 1
            else f"combos {start}..{stop - 1} (flat indices)"
        )
        what = (
            f"a worker could not run {which}: "
            f"{type(exc).__name__}: {exc}. This is not an error raised by the "
            "function: a worker process died (killed, out of memory, crashed), "
            "or the function or its result could not be sent between processes "
            "(e.g. a module the workers cannot import)."
        )
        if mode == "stop":
            raise WorkerError(what) from exc
        now = time.time()
        first = make_failure(start, self.combos.combo(start), exc, now, now)
        first = dataclasses.replace(first, message=what)
        failures = [first] + [
            dataclasses.replace(first, index=i, combo=self.combos.combo(i))
            for i in range(start + 1, stop)
        ]
        return Block(start, stop, "empty", [], tuple(range(stop - start)), failures)

    def dispatch(
        self,
        executor: Any,
        workers: int,
        chunksize: int | None,
        help_start: bool,
        keep_helping: bool = False,
    ) -> None:
        """Run the rest of the combos as tasks on ``executor``.

        With ``help_start``, this process also runs chunks until the executor
        answers, and with ``keep_helping`` whenever no task has finished
        (see :meth:`~xsweep.engine.parallel.Dispatch.run`).
        """
        if self.position >= self.combos.size:
            return
        mode = "stop" if self.on_error == "raise" else "record"
        dispatch = Dispatch(executor, self.fn, self.combos, self.extra, mode)
        chunks = guided_chunks(
            self.position, self.combos.size, workers, self.per_combo(), chunksize
        )
        helper = self._runner(mode) if help_start else None
        try:
            tasks = dispatch.run(chunks, 2 * workers, helper, keep_helping)
            for block, exc, span in tasks:
                if dispatch.answered:  # (only the local pool is noted)
                    note_pool_answered(executor)
                self._take(block, exc, span, mode, dispatch.cancel)
        finally:
            dispatch.cancel()
            if help_start and not dispatch.answered:
                note_pool_answered(executor, hello=dispatch.hello)
        self.position = self.combos.size

    def _runner(self, mode: str) -> Callable[[int, int], tuple]:
        """Run a chunk ``(start, stop)`` in this process, as a worker would."""

        def run_here(start: int, stop: int) -> tuple:
            return run_range(self.fn, self.combos, start, stop, self.extra, mode)

        return run_here

    def _take(
        self, block: Any, exc: Any, span: tuple[int, int], mode: str, cancel: Callable
    ) -> None:
        """Keep a chunk's answer: raise for a failure in ``"stop"`` mode
        (after ``cancel()``), record a lost chunk's combos as failed."""
        if block is None:
            block = self._lost(span, exc, mode)
        elif mode == "stop" and block.failures:
            cancel()
            raise_combo_failed(block.failures[0], self.combos.size, load_exception(exc))
        self._put(block)

    def forked(
        self,
        workers: int,
        chunksize: int | None,
        keep_helping: bool,
        num_threads: int | None,
    ) -> None:
        """Run the rest of the combos on ``workers`` children forked now
        (:mod:`~xsweep.engine.forked`); with ``keep_helping``, this process
        runs chunks too whenever no answer is waiting."""
        if self.position >= self.combos.size:
            return
        mode = "stop" if self.on_error == "raise" else "record"
        chunks = guided_chunks(
            self.position, self.combos.size, workers, self.per_combo(), chunksize
        )
        env = thread_env(num_threads, workers)
        pool = ForkedWorkers(workers, self.fn, self.combos, self.extra, mode, env)
        helper = self._runner(mode) if keep_helping else None
        finished = False
        try:
            with stopping_workers(pool.stop):
                for block, exc, span in pool.run(chunks, helper):
                    self._take(block, exc, span, mode, pool.stop)
            finished = True
        finally:
            pool.close() if finished else pool.stop()
        self.position = self.combos.size

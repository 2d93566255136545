"""Local workers forked from this process for one sweep: no start-up to wait for.

A pool of fresh worker processes (loky) takes 0.3 to 0.5 s to start on a
small machine: each imports Python, numpy and cloudpickle, then unpickles
the sweep. A sweep of a few seconds on a cold pool loses much of its gain to
that. Forked children start in milliseconds and already hold the function,
the combos and every module this process imported: nothing is pickled on the
way in, only the results come back (numpy blocks, through a pipe each).

Forking is safe only where this process runs no other thread (a thread
holding a lock at the fork leaves that lock held for ever in the child), so
:func:`fork_usable` is false in a notebook kernel, under a dask client or
after a progress bar started its monitor thread, and where the CUDA driver is
loaded (a forked child cannot use it): the loky pool is used there, as it is
with ``XSWEEP_FORK_WORKERS=0`` in the environment. Linux only (macOS's system
libraries are not fork-safe).

Each child runs chunks ``(start, stop)`` it is sent, two at a time at most
(one computing, one waiting, so no child idles between chunks), and answers
``(start, block, pickled exception)``; it ends at end of input, or with the
parent (SIGKILL on the parent's death, by ``PR_SET_PDEATHSIG``). A child that
dies (a segfault in the function, the OOM killer) loses the chunk it was
computing: with ``on_error="raise"`` the sweep raises
:class:`~xsweep.errors.WorkerError`; with ``"record"`` the chunk runs again in
halves until the one combo that kills is found and recorded as failed.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .parallel import dump_exception, load_exception
from .sequential import run_range

#: chunks a child holds at once: one computing, one queued behind it
DEPTH = 2


#: set to ``0`` to never fork workers (the loky pool is used instead)
FORK_VARIABLE = "XSWEEP_FORK_WORKERS"


def fork_usable() -> bool:
    """Whether forking workers from this process is safe here: Linux, no other
    thread running, no CUDA driver loaded (a forked child cannot use it), and
    not switched off by the environment variable :data:`FORK_VARIABLE`."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and os.environ.get(FORK_VARIABLE, "1") != "0"
        and threading.active_count() == 1
        and not _cuda_loaded()
    )


def _cuda_loaded() -> bool:
    """Whether the CUDA driver library is mapped into this process."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return b"libcuda" in f.read()
    except OSError:
        return True  # cannot tell: do not fork


def limit_loaded_pools(threads: int) -> None:
    """Limit the BLAS and OpenMP thread pools already loaded in this process
    (libraries loaded later read the thread variables themselves)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


class _Child:
    """One forked worker: its pid, its two pipe ends, the chunks it holds."""

    def __init__(self, pid: int, tasks: Any, answers: Any) -> None:
        self.pid, self.tasks, self.answers = pid, tasks, answers
        self.held: list[tuple[int, int]] = []
        self.deaf = False  # its task pipe broke: send it nothing more


class ForkedWorkers:
    """``num_workers`` children forked now, each ready to run chunks of one sweep.

    Parameters
    ----------
    num_workers : int
        How many children.
    fn, combos, extra, mode
        The sweep, as :func:`~xsweep.engine.sequential.run_range` takes it.
    env : dict
        Environment variables each child sets first (thread counts); with a
        thread count, the child also limits the thread pools already loaded.
    """

    def __init__(
        self,
        num_workers: int,
        fn: Callable,
        combos: Any,
        extra: Mapping,
        mode: str,
        env: Mapping[str, str],
    ) -> None:
        self.children: list[_Child] = []
        self._sweep = (fn, combos, dict(extra), mode)
        self._env = dict(env)
        try:
            for _ in range(num_workers):
                self.children.append(self._fork())
        except BaseException:
            self.stop()
            raise

    def _fork(self) -> _Child:
        """Fork one more child (it never returns from here)."""
        from multiprocessing.connection import Pipe

        _flush()  # nothing buffered here is written again by a child
        task_out, task_in = Pipe(duplex=False)
        answer_out, answer_in = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child
            task_in.close()
            answer_out.close()
            for other in self.children:
                other.tasks.close()
                other.answers.close()
            _child_main(task_out, answer_in, self._sweep, self._env)
        task_out.close()
        answer_in.close()
        return _Child(pid, task_in, answer_out)

    def run(
        self,
        chunks: list[tuple[int, int]],
        helper: Callable[[int, int], tuple] | None = None,
    ) -> Iterator[tuple[Any, Any, tuple[int, int]]]:
        """Yield ``(block, exception, (start, stop))`` per chunk as they finish.

        ``block`` is None for the chunk a child was computing when it died:
        ``exception`` says how. In ``"record"`` mode that chunk is first run
        again in halves, down to the one combo that kills a child, so that
        only that combo is recorded as failed. The chunks queued behind it go
        to the other children, and a new child replaces it. With ``helper``,
        this process runs chunks from the end of the queue itself whenever no
        answer is waiting (for a function that mostly waits, or a spare core).
        """
        from multiprocessing.connection import wait

        pending = list(reversed(chunks))  # pop() takes the next from the front
        while pending or any(c.held for c in self.children):
            for child in self.children:
                while pending and len(child.held) < DEPTH and not child.deaf:
                    span = pending.pop()
                    try:
                        child.tasks.send_bytes(pickle.dumps(span))
                    except OSError:  # it died: its answers tell the rest
                        pending.append(span)
                        child.deaf = True
                    else:
                        child.held.append(span)
            busy = [c for c in self.children if c.held or c.deaf]
            ready = wait([c.answers for c in busy], timeout=0)
            if not ready and helper is not None and pending:
                start, stop = pending.pop(0)  # the last chunk, here
                yield (*helper(start, stop), (start, stop))
                continue
            if not ready:
                ready = wait([c.answers for c in busy])
            for child in [c for c in busy if c.answers in ready]:
                try:
                    block, exc = pickle.loads(child.answers.recv_bytes())
                except (EOFError, OSError) as e:
                    yield from self._replace(child, e, pending)
                    continue
                span = child.held.pop(0)
                if block is None:  # its results could not be sent back
                    yield None, load_exception(exc), span
                else:
                    yield block, exc, span

    def _replace(
        self, child: _Child, error: BaseException, pending: list
    ) -> Iterator[tuple[None, BaseException, tuple[int, int]]]:
        """A child's answers ended: every answer it sent was read, so the
        first chunk it held killed it, and the others never started (they go
        back to the queue). A new child takes its place while work is left."""
        died = _died(child.pid, error)
        for end in (child.tasks, child.answers):
            with contextlib.suppress(OSError):
                end.close()
        lost, queued = child.held[:1], child.held[1:]
        pending.extend(reversed(queued))
        if lost and self._sweep[3] == "record" and lost[0][1] - lost[0][0] > 1:
            # which combo killed it? Run the chunk again in halves: each death
            # halves the suspects, until the one combo that kills is recorded
            # alone (the others of the chunk are computed again)
            start, stop = lost.pop()
            middle = (start + stop) // 2
            pending += [(middle, stop), (start, middle)]
        self.children.remove(child)
        if pending:
            self.children.append(self._fork())
        for span in lost:
            yield None, died, span

    def stop(self) -> None:
        """Kill the children that are still running and reap them all."""
        for child in self.children:
            with contextlib.suppress(OSError):
                child.tasks.close()
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        self._reap()

    def close(self) -> None:
        """Tell the children there is no more work, and wait for them to end."""
        for child in self.children:
            with contextlib.suppress(OSError):
                child.tasks.close()
        self._reap()

    def _reap(self) -> None:
        for child in self.children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
            with contextlib.suppress(OSError):
                child.answers.close()
        self.children = []


def _died(pid: int, error: BaseException) -> BaseException:
    """What to say of a child whose pipe closed with chunks in hand."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return OSError(f"worker process {pid} ended without answering ({error!r})")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else sig
        how = f"was killed by signal {name}"
    else:
        how = f"exited with status {os.WEXITSTATUS(status)}"
    return OSError(f"worker process {pid} {how} while computing")


def _child_main(tasks: Any, answers: Any, sweep: tuple, env: Mapping) -> None:
    """A forked worker: run the chunks it is sent until end of input."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent()
        if os.getppid() == 1:  # the parent died before the call
            raise SystemExit(1)
        os.environ.update(env)
        _reseed()
        threads = env.get("OMP_NUM_THREADS")
        if threads:
            with contextlib.suppress(Exception):
                limit_loaded_pools(int(threads))
        fn, combos, extra, mode = sweep
        while True:
            try:
                start, stop = pickle.loads(tasks.recv_bytes())
            except EOFError:
                break
            block, exc = run_range(fn, combos, start, stop, extra, mode)
            answers.send_bytes(_answer(block, exc))
    except BaseException:  # a broken pipe (the parent is gone), or worse
        code = 1
    finally:
        _flush()  # what the function printed
        os._exit(code)  # never the parent's atexit handlers


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _reseed() -> None:
    """Give numpy's global random generator fresh entropy in this child.

    Forked children inherit its state, so without this every worker would
    draw the same "random" numbers (Python's ``random`` reseeds itself after
    a fork; numpy's legacy ``np.random`` functions do not).
    """
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        with contextlib.suppress(Exception):
            numpy.random.seed()


def _answer(block: Any, exc: BaseException | None) -> bytes:
    """``(block, exception)`` pickled (an exception that does not pickle goes
    as None: the block records its failures anyway); a block that does not
    pickle goes as ``(None, why)``, and the parent records its combos as
    failed with that reason."""
    try:
        return pickle.dumps((block, dump_exception(exc)), pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        why = RuntimeError(
            f"the results of combos {block.start}..{block.stop - 1} could not be "
            f"sent back from the worker process: {type(e).__name__}: {e}"
        )
        return pickle.dumps((None, dump_exception(why)), pickle.HIGHEST_PROTOCOL)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this (forked) process when the thread that forked
    it ends: a worker never outlives the sweep that started it."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

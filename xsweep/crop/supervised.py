"""Supervised growing: the user's function runs in a child process that is watched.

A grower (the *supervisor*) keeps claims, heartbeats and writes; a child
process forked from it runs the function and sends each batch's blocks back
through a pipe, with up to two requests in it at once. The supervisor sees the
child die: a combo that kills its process becomes a failure of that combo
(:mod:`~xsweep.crop.deaths`); a child is forked again and the rest of the
batch run one combo at a time (so that a second death names its combo), every
other result kept; after :attr:`Supervision.max_deaths` deaths in one batch
its combos not yet run fail as "not run". With a per-combo time limit, combos
are sent one at a time and one that runs longer is killed; with
``fresh=True``, each batch gets a new child.

Results already computed live in the supervisor, so a child's death never
loses them. The child ignores SIGINT, SIGTERM, SIGUSR1 and SIGUSR2 (the
supervisor decides) and dies with its supervisor (``PR_SET_PDEATHSIG``).
Linux and other systems with ``os.fork``; standard library only (grow path).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ..engine.block import Block
from ..errors import NotPicklableError
from .child import EOF, dumps, fault_file, recv, run_child, send
from .deaths import Death, death_block, not_run_blocks, reap_child
from .placement import Placement
from .requests import Request, normalised


@dataclasses.dataclass(frozen=True)
class Supervision:
    """How a grower supervises the process that runs the function.

    Attributes
    ----------
    max_deaths : int
        Process deaths in one batch after which its combos not yet run are
        recorded as failures without running them (default 3).
    combo_time_limit : float, optional
        Seconds a combo may run; a combo still running then is killed and
        recorded as a failure (``TimeLimitExceeded``).
    fresh : bool
        A new process for every batch.
    placement : Placement
        CPUs, threads and GPUs of the process.
    """

    max_deaths: int = 3
    combo_time_limit: float | None = None
    fresh: bool = False
    placement: Placement = dataclasses.field(default_factory=Placement)

    def __post_init__(self) -> None:
        if self.max_deaths < 1:
            raise ValueError(f"max_deaths must be >= 1, got {self.max_deaths}")
        limit = self.combo_time_limit
        if limit is not None and not limit > 0:
            raise ValueError(f"combo_time_limit must be > 0 seconds, got {limit}")


class Stopped(BaseException):
    """The supervisor was told to stop (:meth:`Supervisor.abort`): not a failure."""


#: held while a supervisor forks and closes the child's ends of its pipes, so
#: that no other thread's child inherits them (a copy would hide a death)
_FORK_LOCK = threading.Lock()
#: the supervisor-side pipe ends of every live child, closed in new children
_PARENT_FDS: set[int] = set()


class Supervisor:
    """Runs batches of combos in a supervised child process.

    Parameters
    ----------
    run : callable
        ``run(start, stop) -> Block`` (runs in the child, which has it by fork).
    combos : Grid or Cases
        The sown combos (to name a combo that killed its process).
    options : Supervision
        Deaths allowed, time limit, fresh processes, placement.
    """

    def __init__(self, run: Callable, combos: Any, options: Supervision) -> None:
        self.run = run
        self.combos = combos
        self.options = options
        self.pid: int | None = None
        self._to = self._from = -1
        self._fault = -1
        self._stopping = False
        self._what = "a batch"
        #: deaths seen in the last batch (``Death`` records), for provenance
        self.deaths: list[Death] = []
        #: (cpu seconds, peak bytes) of each batch of the last compute_many
        self.usages: list[tuple[float, int | None]] = []
        self._acc_cpu, self._acc_peak = 0.0, 0
        #: requests sent by :meth:`start`, not collected yet, oldest first
        self._sent: list[Request] = []

    # ------------------------------------------------------------- children
    def _spawn(self) -> None:
        if self._stopping:
            raise Stopped()
        if self._fault < 0:
            self._fault = fault_file()
        os.lseek(self._fault, 0, os.SEEK_SET)
        os.ftruncate(self._fault, 0)
        with _FORK_LOCK:
            req_r, req_w = os.pipe()
            rep_r, rep_w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child
                for fd in (req_w, rep_r, *_PARENT_FDS):
                    os.close(fd)
                run_child(req_r, rep_w, self.run, self.options.placement, self._fault)
            os.close(req_r)
            os.close(rep_w)
            _PARENT_FDS.update((req_w, rep_r))
        self.pid, self._to, self._from = pid, req_w, rep_r
        self._started = time.monotonic()

    def _close_pipes(self) -> None:
        with _FORK_LOCK:
            for fd in (self._to, self._from):
                if fd >= 0:
                    _PARENT_FDS.discard(fd)
                    os.close(fd)
            self._to = self._from = -1

    def close(self) -> None:
        """End the child (it exits at EOF) and reap it.

        A child still computing a request nobody will collect (the grower
        stopped meanwhile) is killed rather than waited for.
        """
        if self._sent:
            self._drop_sent(kill=True)
        pid, self.pid = self.pid, None
        if pid is not None and self._to >= 0 and self._from >= 0:
            # EOF on its requests ends the child; its end of our answer pipe
            # closes when it exits: wait for that rather than poll for it
            with _FORK_LOCK:
                _PARENT_FDS.discard(self._to)
                os.close(self._to)
                self._to = -1
            with contextlib.suppress(OSError, ValueError):
                select.select([self._from], [], [], 2.0)
        self._close_pipes()
        if pid is not None:
            reap_child(pid, grace=2.0)
        if self._fault >= 0:
            os.close(self._fault)
            self._fault = -1

    def abort(self) -> None:
        """Stop now (from any thread): kill the child; the batch raises Stopped."""
        self._stopping = True
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    # ------------------------------------------------------------ requests
    def _ask(self, runs: list[tuple[int, int]], limit: float | None) -> Any:
        """Send one batch's ``runs``; their blocks, or a :class:`Death`."""
        t0 = time.monotonic()
        if not self._request([runs]):
            return self._buried(t0, None)
        got = self._answer(t0, limit)
        if isinstance(got, Death):
            return got
        blocks, _, cost = got[0]
        self._account(cost)
        return blocks

    def _account(self, cost: tuple[float, int | None]) -> None:
        """Add what the child used for a batch: (cpu seconds, peak bytes)."""
        self._acc_cpu += cost[0]
        self._acc_peak = max(self._acc_peak, cost[1] or 0)

    def _request(self, batches: list[list[tuple[int, int]]]) -> bool:
        """Send the runs of ``batches`` (answered one by one); False if dead."""
        if self.pid is None:
            self._spawn()
        try:
            send(self._to, batches)
        except BrokenPipeError:
            return False
        return True

    def _answer(self, t0: float, limit: float | None) -> Any:
        """The child's next answer: a batch's blocks, or a :class:`Death`."""
        if limit is not None:
            ready, _, _ = select.select([self._from], [], [], limit)
            if not ready:
                os.kill(self.pid, signal.SIGKILL)
                return self._buried(t0, limit)
        try:
            reply = recv(self._from)
        except (ConnectionError, OSError):
            reply = EOF
        if reply is EOF:
            return self._buried(t0, None)
        kind, value = reply[:2]
        if kind == "unpicklable":
            raise NotPicklableError(
                f"cannot save the result of {self._what} ({value}); every combo "
                "value, constant and result of a crop must be picklable"
            )
        if kind == "error":
            raise value
        return value

    def _drop_sent(self, kill: bool) -> None:
        """Forget the requests sent to a child that died or is killed now
        (their batches are sent again if collected): their writes end."""
        if kill and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        for req in self._sent:
            req.finish()
            req.orphan = True
        self._sent = [r for r in self._sent if r.writer is not None]  # stuck

    def _close_pipes_after_writes(self) -> None:
        if any(r.writer is not None for r in self._sent):
            return  # a write still blocked (a grandchild holds the pipe): leak
        self._close_pipes()

    def _buried(self, t0: float, limit: float | None) -> Death:
        """Reap the dead (or killed) child: how it died."""
        pid, self.pid = self.pid, None
        for req in self._sent:  # sent to the dead child: send them again
            req.finish()
            req.orphan = True
        self._close_pipes_after_writes()
        status, rss = reap_child(pid, grace=1.0)
        self._acc_peak = max(self._acc_peak, (rss or 0) * 1024)  # KiB
        if self._stopping:
            raise Stopped()
        return Death(pid, status, rss, time.monotonic() - t0, limit)

    def start(self, batches: list[tuple[list[tuple[int, int]], str]]) -> None:
        """Send ``batches`` to the child now, in one request, and return.

        The child computes them while this process does other work (claims,
        writes); :meth:`compute_many` called with the same batches collects
        the answer. Not with a time limit or ``fresh`` processes, which send
        their batches one at a time.
        """
        opts = self.options
        if opts.fresh or opts.combo_time_limit is not None:
            raise RuntimeError("Supervisor.start: these options send batches one "
                               "at a time")  # fmt: skip
        if self._stopping:
            raise Stopped()
        req = Request(normalised(batches), time.monotonic())
        if any(r.orphan for r in self._sent):  # answers come in request order:
            req.orphan = True  # after a death, send when collected, in turn
            self._sent.append(req)
            return
        if self.pid is None:
            self._spawn()
        data = dumps([runs for runs, _ in req.todo])
        if self._sent:  # the child may be blocked writing an earlier answer
            # until it is read: what the pipe cannot take now is written by a
            # thread, so that neither process waits for the other
            req.write_or_hand_over(self._to, data)
        else:
            req.write(self._to, data)
        self._sent.append(req)

    def _send_again(self, requests: list[Request]) -> None:
        """Send requests whose child died (every one outstanding, oldest
        first) to a child with none outstanding, in order."""
        if self.pid is None:
            self._spawn()
        for k, req in enumerate(requests):
            req.orphan, req.alive, req.t0 = False, True, time.monotonic()
            data = dumps([runs for runs, _ in req.todo])
            if k:
                req.write_or_hand_over(self._to, data)
            else:
                req.write(self._to, data)

    def compute(
        self, runs: list[tuple[int, int]], what: str = "a batch"
    ) -> list[Block]:
        """The blocks of ``runs`` (flat index ranges of the batch ``what``).

        A combo that kills the child is a failed combo in the blocks;
        :attr:`deaths` lists the deaths.
        """
        blocks, self.deaths, _ = self.compute_many([(runs, what)])[0]
        return blocks

    def compute_many(
        self, batches: list[tuple[list[tuple[int, int]], str]]
    ) -> list[tuple[list[Block], list[Death], float]]:
        """Blocks, deaths and end time of each batch ``(runs, what)``, in one request.

        Blocks are None for a batch the child did not start because the
        scheduler's warning signal arrived first.

        The child answers the whole request at once; if it dies meanwhile,
        the request's batches are sent again one per request, so that the
        death is attributed to its batch (the others are computed again).
        Batches sent already by :meth:`start` are collected, not sent again.
        """
        out = _Answers(self)
        self.usages = []
        self._acc_cpu, self._acc_peak = 0.0, 0
        todo = normalised(batches)
        sent_before = self._sent.pop(0) if self._sent else None
        if sent_before is not None:
            if sent_before.todo != todo:
                raise RuntimeError("Supervisor.compute_many: not the batches started")
            sent_before.finish()
            if sent_before.orphan:  # its child died: send it, and those
                self._send_again([sent_before, *self._sent])  # after it, again
        solo = 0  # how many of the next batches to send one per request
        try:
            while todo:
                if self.options.combo_time_limit is not None:  # combo by combo
                    runs, self._what = todo.pop(0)
                    out.append((*self._one_by_one(runs, []), time.time()))
                    if self.options.fresh:
                        self.close()
                    continue
                if self.options.fresh or solo:  # one batch per request
                    sent, todo, solo = todo[:1], todo[1:], max(0, solo - 1)
                else:
                    sent, todo = todo, []
                self._what = " and ".join(what for _, what in sent)
                if sent_before is not None:  # sent by start(): collect it
                    alive, t0 = sent_before.alive, sent_before.t0
                    sent_before = None
                else:
                    t0 = time.monotonic()
                    alive = self._request([runs for runs, _ in sent])
                got = self._answer(t0, None) if alive else self._buried(t0, None)
                if not isinstance(got, Death):
                    for answer in got:
                        if answer is None:  # not started: the warning signal
                            out.append((None, [], time.time()))
                            continue
                        blocks, end, cost = answer
                        self._account(cost)
                        out.append((blocks, [], end))
                elif len(sent) > 1:  # which batch died? each again, alone
                    todo, solo = sent + todo, len(sent)
                else:
                    runs, self._what = sent[0]
                    if sum(b - a for a, b in runs) == 1:
                        out.append(
                            (
                                [
                                    death_block(
                                        self.combos, runs[0][0], got, self._fault_text()
                                    )
                                ],
                                [got],
                                time.time(),
                            )
                        )
                    else:
                        out.append((*self._one_by_one(runs, [got]), time.time()))
                if self.options.fresh:
                    self.close()
        except BaseException:
            if self.pid is not None:  # interrupted while the child runs
                self.abort()
                self._stopping = False
                pid, self.pid = self.pid, None
                self._drop_sent(kill=False)
                self._close_pipes_after_writes()
                reap_child(pid, grace=1.0)
            raise
        return list(out)

    def _take_usage(self) -> tuple[float, int | None]:
        """What the child(ren) used since the last batch answered; reset."""
        usage = (self._acc_cpu, self._acc_peak or None)
        self._acc_cpu, self._acc_peak = 0.0, 0
        return usage

    def _one_by_one(
        self, runs: list[tuple[int, int]], deaths: list[Death]
    ) -> tuple[list[Block], list[Death]]:
        """Run each combo of ``runs`` alone, so that a death names its combo."""
        limit = self.options.combo_time_limit
        blocks: list[Block] = []
        indices = [i for a, b in runs for i in range(a, b)]
        for n, i in enumerate(indices):
            if len(deaths) >= self.options.max_deaths:
                blocks.extend(
                    not_run_blocks(
                        self.combos, indices[n:], len(deaths), self.options.max_deaths
                    )
                )
                break
            got = self._ask([(i, i + 1)], limit)
            if isinstance(got, Death):
                deaths.append(got)
                blocks.append(death_block(self.combos, i, got, self._fault_text()))
            else:
                blocks.extend(got)
        return blocks, deaths

    def _fault_text(self) -> str:
        """What faulthandler wrote when the child crashed (a Python traceback)."""
        try:
            os.lseek(self._fault, 0, os.SEEK_SET)
            text = os.read(self._fault, 1 << 16).decode("utf-8", "replace")
        except OSError:
            return ""
        return text


class _Answers(list):
    """The batches answered by :meth:`Supervisor.compute_many`, each noting
    what it cost in ``usages`` (CPU time and peak memory of the child)."""

    def __init__(self, supervisor: Supervisor) -> None:
        super().__init__()
        self._supervisor = supervisor

    def append(self, item: Any) -> None:
        super().append(item)
        self._supervisor.usages.append(self._supervisor._take_usage())

"""How a grower computes its batches: here, or in its supervised child process.

The half of :class:`~xsweep.crop.grow.Grower` that runs the function: the
engine's loop, :class:`~xsweep.crop.supervised.Supervisor` when supervised,
the result records, and how many fast batches to claim ahead and send to the
child in one request (so that they cost one round trip between them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from .deadline import stop_requested
from .provenance import resource_usage, this_process
from .result_checks import check_blocks
from .supervised import Stopped, Supervision, Supervisor


class ComputeMixin:
    """Computing batches (mixed into :class:`~xsweep.crop.grow.Grower`)."""

    fn: Callable
    sow: Any
    supervision: Supervision | None
    _supervisor: Supervisor | None
    _aborted: bool
    _run: Callable | None
    _per_batch: float | None = None
    _starts: tuple[float, ...] = ()  # when each request not collected was sent
    _shapes: Any

    def _runner(self) -> Callable:
        """``run(start, stop) -> Block``, the signature checked once, not per run."""
        from ..engine import check_signature, compute_block

        sow = self.sow
        check_signature(self.fn, sow.combos.names, sow.constants, sow.resources)
        extra = {**sow.constants, **sow.resources}
        try:  # the engine's unchecked inner loop: the same, minus the checks
            from ..engine.sequential import run_range
        except ImportError:  # pragma: no cover
            run_range = None

        def run(start: int, stop: int) -> Any:
            if run_range is not None:
                block = run_range(self.fn, sow.combos, start, stop, extra, "record")[0]
            else:
                block = compute_block(
                    self.fn, sow.combos, start, stop, constants=sow.constants,
                    resources=sow.resources, on_error="record",
                )  # fmt: skip
            # a result that cannot be labelled or saved fails its combo, here
            return check_blocks([block], sow.combos, self._shapes)[0]

        return run

    def compute(self, batch_id: int, runs: Iterable[tuple[int, int]]) -> dict[str, Any]:
        """Compute flat index runs of a batch; a result record (not written)."""
        return self.compute_many([(batch_id, runs)])[0]

    def compute_many(
        self, batches: list[tuple[int, Iterable[tuple[int, int]]]]
    ) -> list[dict[str, Any]]:
        """Compute batches ``(batch_id, runs)`` in turn; their result records.

        A record is None for a batch not started because the scheduler's
        warning signal arrived while an earlier one was computed.

        Supervised, they go to the child in one request (fast batches then
        cost one round trip between them).
        """
        if self._aborted:
            raise Stopped()
        if self._run is None:
            self._run = self._runner()
        batches = [(bid, list(runs)) for bid, runs in batches]
        prov = this_process()
        prov["fn_fingerprint"] = self.sow.fn_fingerprint
        start = prov.pop("time")
        if self._starts:  # sent by start_many: since then
            start, self._starts = self._starts[0], self._starts[1:]
        usages: list[tuple[float, int | None]] = []
        if self.supervision is None:
            done = []
            for k, (_, runs) in enumerate(batches):
                if k and stop_requested():  # the warning signal: start no other
                    done.append((None, [], time.time()))
                    continue
                before = resource_usage()
                done.append(([self._run(a, b) for a, b in runs], [], time.time()))
                after = resource_usage()
                usages.append((after[0] - before[0], after[1]))
        else:
            asked = [(list(runs), f"batch {bid}") for bid, runs in batches]
            done = self._supervised().compute_many(asked)
            usages = self._supervisor.usages
        records = []
        for k, ((batch_id, _), (blocks, deaths, end)) in enumerate(
            zip(batches, done, strict=True)
        ):
            if blocks is None:  # not started (the warning signal): no record
                records.append(None)
                continue
            _check_cover(batch_id, batches[k][1], blocks)
            p = {**prov, "start": start, "end": end}
            # CPU time and peak memory (max RSS) of the process that computed it
            p["cpu_time"], p["max_rss"] = usages[k] if k < len(usages) else (None, None)
            deadline = getattr(self, "deadline", None)
            if deadline is not None:
                deadline.record(end - start)
            if deaths:
                p["process_deaths"] = [d.describe() for d in deaths]
            records.append(
                {
                    "batch_id": batch_id,
                    "fingerprint": self.sow.fingerprint(batch_id),
                    "sow_id": self.sow.sow_id,
                    "blocks": blocks,
                    "failures": [f for block in blocks for f in block.failures],
                    "provenance": [p],
                }
            )
            start = end
        return records

    def _supervised(self) -> Supervisor:
        """The supervisor of the child process (made on first use)."""
        if self._supervisor is None:
            self._supervisor = Supervisor(self._run, self.sow.combos, self.supervision)
        return self._supervisor

    def can_start_ahead(self) -> bool:
        """Whether batches can be sent to the child before they are collected
        (supervised, not a process per batch, no per-combo time limit)."""
        sup = self.supervision
        return sup is not None and not sup.fresh and sup.combo_time_limit is None

    def start_many(self, batches: list[tuple[int, Iterable[tuple[int, int]]]]) -> None:
        """Send batches ``(batch_id, runs)`` to the supervised child now: it
        computes them while this process claims and writes; :meth:`compute_many`
        with the same batches collects their records."""
        if self._aborted:
            raise Stopped()
        if self._run is None:
            self._run = self._runner()
        supervisor = self._supervised()
        self._starts = (*self._starts, time.time())
        supervisor.start([(list(runs), f"batch {bid}") for bid, runs in batches])

    def close(self) -> None:
        """End the supervised child process, if any (it is started again if needed)."""
        self._starts = ()
        if self._supervisor is not None:
            self._supervisor.close()

    def abort(self) -> None:
        """From another thread: kill the child; the batch being grown is released."""
        self._aborted = True
        if self._supervisor is not None:
            self._supervisor.abort()

    def _start_claimed(self, entries: list[Any]) -> None:
        """Send claimed batches to the child (see :meth:`start_many`)."""
        self.start_many([(e.batch_id, self.sow.runs(e.batch_id)) for e in entries])

    def _compute_claimed(self, entries: list[Any], report: Any) -> None:
        """Compute claimed batches, or collect those started
        (their ``record``; the caller releases them)."""
        asked = [(e.batch_id, self.sow.runs(e.batch_id)) for e in entries]
        for e, record in zip(entries, self.compute_many(asked), strict=True):
            e.record = record

    #: requests in the supervised child at once (it computes one while the
    #: next waits in its pipe, so that it never waits for this process)
    IN_FLIGHT = 2
    #: claim at most this many fast batches ahead, computed in one request
    MAX_AHEAD = 16
    #: ... as many as take about this many seconds
    AHEAD_SECONDS = 0.01

    def _ahead(self) -> int:
        """How many batches to claim before computing them (supervised only)."""
        sup = self.supervision
        if sup is None or sup.fresh or sup.combo_time_limit is not None:
            return 1
        per = self._per_batch
        if per is None:
            return 1
        return max(1, min(self.MAX_AHEAD, int(self.AHEAD_SECONDS / max(per, 1e-6))))

    def _note_speed(self, seconds: float, batches: int) -> None:
        """Remember how long a batch takes (a moving average)."""
        if batches:
            per = seconds / batches
            old = self._per_batch
            self._per_batch = per if old is None else 0.7 * old + 0.3 * per


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _check_cover(batch_id: int, runs: Iterable[tuple[int, int]], blocks: list) -> None:
    """Refuse to record blocks that are not exactly the combos asked for the
    batch: a result is never written under another batch's name."""
    asked = _merged((int(a), int(b)) for a, b in runs)
    got = _merged((b.start, b.stop) for b in blocks)
    if asked != got:
        from ..errors import WorkerError

        raise WorkerError(
            f"internal error: the results computed for batch {batch_id} cover "
            f"combos {got[:3]}..., not the batch's {asked[:3]}...; nothing was "
            "written. Please report this."
        )

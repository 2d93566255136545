"""Growing: claim a batch, compute it, write its result, release the claim.

The results of fast batches are written together (one file, hard-linked under
each batch's result name) once :data:`GROUP_MAX_BATCHES` wait or the first of
them is :data:`GROUP_MAX_SECONDS` old; a slow batch is written at once.

This is the grow path: it imports numpy, cloudpickle and the engine only,
never xarray, pandas or plotting.
"""

from __future__ import annotations

import collections
import contextlib
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import claims
from .cards import at_work
from .deadline import stop_requested
from .flusher import Flusher
from .grow_report import GrowReport
from .layout import CropLayout
from .result_checks import CropSizes, expected_shapes
from .sow import SowRecord
from .store import ResultStore

__all__ = ["GROUP_MAX_BATCHES", "GROUP_MAX_SECONDS", "GrowReport", "Grower"]
from .grow_claims import ClaimMixin
from .grow_compute import ComputeMixin
from .resown import CHECK_SECONDS, ResowMixin
from .supervised import Supervision, Supervisor

if TYPE_CHECKING:
    from .deadline import Deadline

#: results of fast batches are written together, at most this many per file
GROUP_MAX_BATCHES = 32
#: ... and at most this many seconds after the first of them was claimed
GROUP_MAX_SECONDS = 0.2


@dataclass
class _Pending:
    """A claimed batch, computed or being computed, not yet written."""

    batch_id: int
    claim: str
    token: str
    since: float
    record: dict[str, Any] | None = None
    claimed_at: float = field(default_factory=claims.now)


class Grower(ClaimMixin, ComputeMixin, ResowMixin):
    """Grows batches of one sown crop in this process.

    Parameters
    ----------
    layout : CropLayout
        The crop directory.
    sow : SowRecord
        What was sown.
    fn : callable
        The function (already checked against the sow record).
    heartbeat_timeout : float
        Seconds without a heartbeat after which a claim is stale.
    supervision : Supervision, optional
        Run the function in a supervised child process
        (:mod:`xsweep.crop.supervised`); by default in this process.
    """

    def __init__(
        self,
        layout: CropLayout,
        sow: SowRecord,
        fn: Callable,
        heartbeat_timeout: float,
        supervision: Supervision | None = None,
    ) -> None:
        self.layout = layout
        self.sow = sow
        self.fn = fn
        self.timeout = heartbeat_timeout
        self.store = ResultStore(layout)
        self.heartbeat = claims.heartbeat_for(heartbeat_timeout)
        self._run: Callable | None = None
        #: when to stop claiming (see :mod:`xsweep.crop.deadline`), or None
        self.deadline: Deadline | None = None
        #: run the function in a supervised child process (None: here)
        self.supervision = supervision
        self._supervisor: Supervisor | None = None
        self._aborted = False
        #: what each combo's outputs must look like to be labelled
        self._shapes = expected_shapes(sow.labels)
        #: sizes fixed for the whole crop by its first result written
        self._sizes = self._sizes_for(sow)
        self._init_resow()  # notice a sowing again (see :mod:`.resown`)

    def _sizes_for(self, sow: SowRecord) -> CropSizes:
        """The output sizes of sowing ``sow`` (fixed by its first result)."""
        return CropSizes(self.layout, self._shapes, lambda: _results_salt(sow))

    def _entry(
        self, batch_id: int, claim: str, token: str, record: dict[str, Any]
    ) -> _Pending:
        """A claimed batch whose ``record`` is computed already."""
        return _Pending(batch_id, claim, token, time.monotonic(), record=record)

    def grow_batch(
        self, batch_id: int, report: GrowReport, precheck: bool = True
    ) -> None:
        """Claim, compute, write and release one batch (skip if done or held)."""
        self._grow_each([batch_id], report, precheck)

    def _grow_each(
        self,
        batch_ids: Iterable[int],
        report: GrowReport,
        precheck: bool,
        keep_going: Callable[[int], bool] | None = None,
        wait: bool = False,
    ) -> None:
        """Grow batches in turn, writing the results of fast ones together.

        Results wait (their claims held) until :data:`GROUP_MAX_BATCHES` of
        them are computed or the first of them is :data:`GROUP_MAX_SECONDS`
        old, then are written as one file; a background thread writes them
        on time even while a slow batch is being computed. So a kill loses at
        most that much work, never a result that counts as done. With
        ``wait``, batches held by other growers are watched afterwards (see
        :meth:`_take_over`).
        """
        held_before = len(report.held)
        pending: list[_Pending] = []
        lock = threading.Lock()

        def commit_due() -> None:  # enough waiting results, or the first too old
            with lock:
                if pending and (
                    len(pending) >= GROUP_MAX_BATCHES
                    or time.monotonic() - pending[0].since >= GROUP_MAX_SECONDS
                ):
                    self._commit(pending, report)

        flusher = Flusher(commit_due, GROUP_MAX_SECONDS / 2)
        at_work(str(self.layout.claims_dir), +1)
        claimed: list[_Pending] = []  # claimed ahead, to compute together
        # requests sent to the child, oldest first, each with its send time
        sent: collections.deque[tuple[list[_Pending], float]] = collections.deque()
        filing: list[_Pending] = []  # computed, being added to ``pending``
        last_collect = 0.0
        ahead = self.can_start_ahead()

        def file_computed(seconds: float) -> None:
            self._note_speed(seconds, len(filing))
            for e in list(filing):  # each counts towards a group, as if alone
                with lock:
                    filing.remove(e)
                    if e.record is None:  # not started (the warning signal)
                        self._release([e])
                        report.stopped = "the scheduler's warning signal arrived"
                        continue
                    pending.append(e)
                commit_due()

        def send_claimed() -> None:
            self._start_claimed(claimed)
            with lock:
                sent.append((list(claimed), time.monotonic()))
                claimed.clear()

        def compute_claimed() -> None:
            """Compute the claimed batches. Supervised, up to IN_FLIGHT
            requests are in the child at once: it computes while this process
            files and writes the batches answered and claims the next."""
            nonlocal last_collect
            if pending or claimed or sent:  # results wait: write them on time
                flusher.start()
            if not ahead:
                t0 = time.monotonic()
                self._compute_claimed(claimed, report)
                with lock:
                    filing[:], claimed[:] = claimed, []
                file_computed(time.monotonic() - t0)
                return
            if claimed and stop_requested():  # the warning signal: send no more
                with lock:
                    self._release(claimed)
                report.stopped = "the scheduler's warning signal arrived"
            if claimed and len(sent) < self.IN_FLIGHT:
                send_claimed()
                return
            if sent:
                entries, t0 = sent[0]
                self._compute_claimed(entries, report)  # collect the oldest
                with lock:
                    sent.popleft()
                    filing[:] = entries
                t0, last_collect = max(t0, last_collect), time.monotonic()
            if claimed:
                send_claimed()
            if filing:
                file_computed(last_collect - t0)

        try:
            for i, bid in enumerate(batch_ids):
                if keep_going is not None and not keep_going(i):
                    break
                if self.deadline is not None and not self.deadline.allows_another(
                    queued=len(claimed) + sum(len(r) for r, _ in sent)
                ):
                    report.stopped = self.deadline.reason
                    break
                with lock:  # one stat: sown again? then no batch of this sowing
                    resown = self.sown_again(at_most_every=CHECK_SECONDS)
                if resown:
                    break
                entry = self._claim(bid, report, precheck)
                if entry is not None:
                    claimed.append(entry)
                if claimed and len(claimed) >= self._ahead():
                    compute_claimed()
            while claimed or sent:
                compute_claimed()
            with lock:
                self._commit(pending, report)
            flusher.stop()
            if self._unchecked:  # were the results written last still wanted?
                self.sown_again()
            if (
                wait
                and not report.stopped
                and self._resown is None
                and len(report.held) > held_before
            ):
                self._take_over(report, held_before)
        except BaseException:
            with lock, contextlib.suppress(Exception):
                self._commit(pending, report)  # interrupted: keep what was computed
            raise
        finally:
            flusher.stop()
            if sent:  # stopped with requests in the child: end it, uncollected
                with contextlib.suppress(Exception):
                    self.close()
            with lock, contextlib.suppress(Exception):  # never hide the error
                self._release(pending)
                self._release(filing)
                self._release(claimed)
                while sent:
                    self._release(sent.popleft()[0])
            at_work(str(self.layout.claims_dir), -1)

    def _claim(
        self, batch_id: int, report: GrowReport, precheck: bool
    ) -> _Pending | None:
        """Claim a batch; None if done or held by another."""
        fp = self.sow.fingerprint(batch_id)
        if precheck and self.store.exists(batch_id, fp):
            report.skipped.append(batch_id)
            return None
        claim = self.layout.claim_path(batch_id, fp)
        token = self._acquire(claim)
        if token is None:
            report.held.append(batch_id)
            return None
        entry = _Pending(batch_id, claim, token, time.monotonic())
        try:
            self.heartbeat.hold(claim, token)
            if self.store.exists(batch_id, fp):  # finished while we claimed
                report.skipped.append(batch_id)
                self._release([entry])
                return None
        except BaseException:
            with contextlib.suppress(OSError):  # never hide the error
                self._release([entry])
            raise
        return entry

    def _commit(self, pending: list[_Pending], report: GrowReport) -> None:
        """Write the results of ``pending`` batches, then release their claims.

        First writer wins: a batch whose claim is no longer ours (we were
        paused past the heartbeat timeout and another grower took it over), or
        whose result another grower wrote first, keeps the other result and
        ours is discarded (:attr:`GrowReport.discarded`, and a warning).
        """
        if self._resown is not None:  # sown again: old batches are adopted
            pending[:] = self._set_aside(pending, report)
        if not pending:
            return
        lost = [
            e
            for e in pending
            if not claims.surely_held(e.claim, e.claimed_at)
            and not claims.still_held(e.claim, e.token)
        ]
        keep = [e for e in pending if e not in lost]
        if keep and self._sizes.active:
            self._sizes.check([e.record for e in keep], self.sow.combos)
        written = (
            set(self.store.write_group([e.record for e in keep])) if keep else set()
        )
        dropped = []
        for e in pending:
            if e.batch_id in written:
                report.grown.append(e.batch_id)
                report.failed_combos += len(e.record["failures"])
                self._grown_failed[e.batch_id] = len(e.record["failures"])
                self._unchecked.append(e.record)
            else:
                dropped.append(e.batch_id)
        if dropped:
            report.discarded += dropped
            warnings.warn(
                f"{self.layout.location}: batch(es) {_ids(dropped)} computed here "
                "were discarded, not written: this grower had lost their claims "
                "(paused past the heartbeat timeout?) or another grower wrote "
                "them first; the result written first counts",
                RuntimeWarning,
                stacklevel=2,
            )
        self._release(pending)

    def _take_over(self, report: GrowReport, start: int) -> None:
        """Watch batches held by others; see :func:`~.takeover.take_over`."""
        from .takeover import take_over

        take_over(self, report, start)

    def retry_batch(self, batch_id: int, report: GrowReport) -> None:
        """Rerun only the failed combos of a batch, keeping the rest."""
        fp = self.sow.fingerprint(batch_id)
        claim = self.layout.claim_path(batch_id, fp)
        token = self._acquire(claim)
        if token is None:
            report.held.append(batch_id)
            return
        try:
            self.heartbeat.hold(claim, token)
            old = self.store.read(batch_id, fp)
            failed = sorted(f.index for f in old["failures"])
            if not failed:
                report.skipped.append(batch_id)
                return
            new = self.compute(batch_id, [(i, i + 1) for i in failed])
            self._sizes.check([new], self.sow.combos)
            record = dict(old)
            record["blocks"] = old["blocks"] + new["blocks"]
            record["failures"] = new["failures"]
            record["provenance"] = old["provenance"] + new["provenance"]
            self.store.write(record, previous_failed=len(old["failures"]))
            report.grown.append(batch_id)
            report.failed_combos += len(new["failures"])
        finally:
            self.heartbeat.drop(claim)
            with contextlib.suppress(OSError):
                claims.release(claim, token)

    def grow(
        self, batch_ids: Iterable[int], report: GrowReport | None = None,
        wait: bool = True,
    ) -> GrowReport:  # fmt: skip
        """Grow the given batches (each skipped if done or held).

        With ``wait``, batches held by another grower whose heartbeat stopped
        are taken over once their claim is stale (see :meth:`_take_over`).
        """
        report = GrowReport() if report is None else report
        self.store.snapshot()  # learn which results are compacted
        checked = (self.sow.check_batch(bid) for bid in batch_ids)
        try:
            self._grow_each(checked, report, precheck=True, wait=wait)
            if self._resown is not None and self._switch(report):
                report.stopped = (
                    "the crop was sown again while growing: the batch numbers "
                    "given were those of the sowing it replaced; grow again "
                    "(pull mode grows what is missing)"
                )
        finally:
            self.close()
        return report

    def measure_crop(self, sample: int = 20) -> None:
        """Tell the deadline how long this crop's batches take: the durations
        recorded by up to ``sample`` results already in the crop."""
        if self.deadline is None or self.deadline.end is None:
            return
        present, _ = self.store.snapshot()
        keys = sorted(present)
        for key in keys[:: max(1, len(keys) // sample)][:sample]:
            with contextlib.suppress(Exception):
                for prov in self.store.read(*key)["provenance"][:1]:
                    self.deadline.record(prov["end"] - prov["start"])

    def pull(self, report: GrowReport | None = None, wait: bool = True) -> GrowReport:
        """Claim and grow missing batches until none is left to claim.

        Starts at a random batch so that many pullers rarely contend. With
        ``wait``, it then watches batches held by growers whose heartbeat
        stopped, and grows them once their claims are stale.
        """
        report = GrowReport() if report is None else report
        try:
            while True:
                present, _ = self.store.snapshot()
                todo = [
                    k
                    for k, fp in enumerate(self.sow.fingerprints, 1)
                    if (k, fp) not in present
                ]
                if todo:
                    shift = random.randrange(len(todo))
                    todo = todo[shift:] + todo[:shift]
                if self._later:  # held in the old sowing: maybe adopted soon
                    later, self._later = self._later, set()
                    todo = [k for k in todo if k not in later] + [
                        k for k in todo if k in later
                    ]
                self._grow_each(todo, report, precheck=False, wait=wait)
                # sown again meanwhile: go on with the new sowing's batches
                if self._resown is None or not self._switch(report):
                    break
        finally:
            self.close()
        return report


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:10]))
    return shown + (f" (+{len(ids) - 10} more)" if len(ids) > 10 else "")


def _results_salt(sow: SowRecord) -> str:
    """Fingerprints of what decides the results besides the combos."""
    from .result_checks import results_salt

    return results_salt(sow)

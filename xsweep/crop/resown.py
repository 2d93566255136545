"""A grower noticing that the crop was sown again while it grows.

Before each claim a grower ``stat``\\ s the sow record, at most every
:data:`CHECK_SECONDS` (one system call; the record itself is read again only
when its file changed). Once the crop was
sown again (another ``sow_id``), the grower claims no other batch of the
sowing replaced. What it computed for that sowing and the new one does not
have (same batch number and fingerprint) does not count as grown:

- results still in memory are not written under the old names;
- results it wrote under old names since its last check are removed again;
- both are adopted by combo into batches of the new sowing where they cover a
  whole batch (:mod:`xsweep.crop.adopt`; same function and labels only), each
  claimed and written like any result (first writer wins).

Then, in pull mode, it goes on with the new sowing's missing batches (with
the same function: sown again with another function, it stops and says so).
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any

from ..errors import CropError, FileFormatError
from . import records
from .grow_report import GrowReport

if TYPE_CHECKING:
    from .sow import SowRecord

#: a grower claiming batches looks at the sow record at most this often (on a
#: networked file system a stat is a round trip; fast batches take far less)
CHECK_SECONDS = 0.05


class ResowMixin:
    """Noticing a re-sowing (mixed into :class:`~xsweep.crop.grow.Grower`)."""

    layout: Any
    sow: Any
    store: Any
    heartbeat: Any
    _resown: SowRecord | None = None
    _sow_ident: tuple | None = None
    _checked_at: float = -1e9

    def _init_resow(self) -> None:
        self._sow_ident = getattr(self.sow, "file_identity", None) or self._stat_sow()
        self._resown = None
        #: records written since the sow record was last seen unchanged
        self._unchecked: list[dict[str, Any]] = []
        #: records computed for a sowing replaced meanwhile, not written
        self._superseded: list[dict[str, Any]] = []
        #: batches of the current sowing to grow last (see :meth:`_switch`)
        self._later: set[int] = set()
        #: combos failed in each batch grown here (of the current sowing)
        self._grown_failed: dict[int, int] = {}

    def _stat_sow(self) -> tuple | None:
        try:
            return records.identity(os.stat(self.layout.sow_file))
        except FileNotFoundError:
            return None

    def sown_again(self, at_most_every: float = 0.0) -> bool:
        """Whether the crop was sown again since this grower read its sowing
        (one ``stat``; the new record, if any, is read into ``_resown``).

        With ``at_most_every`` (seconds), a check this soon after the last
        one answers False without looking: what is claimed meanwhile of a
        sowing replaced is set aside at the next check, as ever.
        """
        if self._resown is not None:
            return True
        now = time.monotonic()
        if at_most_every and now - self._checked_at < at_most_every:
            return False
        self._checked_at = now
        ident = self._stat_sow()
        if ident is None:  # reaped or being cleaned: claiming will say so
            return False
        if ident != self._sow_ident:
            from .sow import read_sow

            try:
                new = read_sow(self.layout)
            except (CropError, FileFormatError, OSError):
                return False  # replaced or removed right now: next time
            if new.sow_id != self.sow.sow_id:
                self._resown = new
                return True
            self._sow_ident = new.file_identity
        self._unchecked.clear()  # written while this sowing was the crop's
        return False

    def _valid_keys(self, sow: Any) -> set[tuple[int, str]]:
        return set(enumerate(sow.fingerprints, 1))

    def _set_aside(self, pending: list[Any], report: GrowReport) -> list[Any]:
        """Of ``pending`` batches, those the new sowing still has (written as
        usual); the others' records are kept for adoption, their claims
        released."""
        valid = self._valid_keys(self._resown)
        fps = self.sow.fingerprints
        stale = [e for e in pending if (e.batch_id, fps[e.batch_id - 1]) not in valid]
        if not stale:
            return pending
        self._superseded += [e.record for e in stale if e.record is not None]
        report.superseded += len(stale)
        self._release(stale)  # type: ignore[attr-defined]
        return [e for e in pending if e not in stale]

    def _switch(self, report: GrowReport) -> bool:
        """Go over to the sowing that replaced ours; False if this grower
        cannot grow it (another function): ``report.stopped`` says why."""
        from .adopt import adopt, adoptable, batches_in_flight

        new, old = self._resown, self.sow
        assert new is not None
        valid = self._valid_keys(new)
        fps = old.fingerprints
        report.resown += 1
        orphans = [
            r for r in self._unchecked if (r["batch_id"], r["fingerprint"]) not in valid
        ]
        self._unchecked.clear()

        def counts(bid: int) -> bool:
            return (bid, fps[bid - 1]) in valid

        gone = [b for b in dict.fromkeys(report.grown) if not counts(b)]
        report.superseded += len(gone)
        for b in gone:
            report.failed_combos -= self._grown_failed.get(b, 0)
        report.grown = [b for b in report.grown if counts(b)]
        report.adopted = [b for b in report.adopted if counts(b)]
        report.skipped = [b for b in report.skipped if counts(b)]
        report.held = [b for b in report.held if counts(b)]
        computed = self._superseded + orphans
        self._superseded = []
        same_fn = new.fn_fingerprint == old.fn_fingerprint
        adopted = adopt(old, new, computed) if same_fn else []
        if same_fn and adoptable(old, new):  # others' batches may be adopted
            with contextlib.suppress(OSError):
                self._later = batches_in_flight(self.layout, old, new)
        self._use(new)
        self._write_adopted(adopted, report)
        self._remove_orphans(orphans)
        if not same_fn:
            report.stopped = (
                f"the crop was sown again with another function ({new.fn_name!r}) "
                "while growing: this grower stopped; grow again to grow it"
            )
            return False
        return True

    def _use(self, new: Any) -> None:
        """Grow sowing ``new`` from now on."""
        from .result_checks import expected_shapes

        self.sow = new
        self._sow_ident = new.file_identity
        self._resown = None
        self._grown_failed = {}
        self._shapes = expected_shapes(new.labels)
        self._sizes = self._sizes_for(new)  # type: ignore[attr-defined]
        self.close()  # type: ignore[attr-defined]  # the child has the old combos
        self._supervisor = None
        self._run = None
        self.store.snapshot()

    def _write_adopted(self, adopted: list[dict[str, Any]], report: GrowReport) -> None:
        """Claim and write the adopted results (each skipped if done or held)."""
        entries = []
        try:
            for rec in adopted:
                bid, fp = rec["batch_id"], rec["fingerprint"]
                if self.store.exists(bid, fp):
                    continue
                claim = self.layout.claim_path(bid, fp)
                token = self._acquire(claim)  # type: ignore[attr-defined]
                if token is None:
                    continue  # another grower computes it
                entry = self._entry(bid, claim, token, rec)  # type: ignore[attr-defined]
                entries.append(entry)
                self.heartbeat.hold(claim, token)
            mine = GrowReport()
            self._commit(entries, mine)  # type: ignore[attr-defined]
            report.adopted += mine.grown
            report.discarded += mine.discarded
        finally:
            with contextlib.suppress(OSError):
                self._release(entries)  # type: ignore[attr-defined]

    def _remove_orphans(self, orphans: list[dict[str, Any]]) -> None:
        """Remove the result names of the replaced sowing written here (the
        new sowing has no such batch), unless the crop was sown yet again."""
        if not orphans or self._stat_sow() != self._sow_ident:
            return
        for rec in orphans:
            bid, fp = rec["batch_id"], rec["fingerprint"]
            records.remove(self.layout.result_file(bid, fp))
            if rec["failures"]:
                records.remove(
                    self.layout.failure_marker(bid, fp, len(rec["failures"]))
                )

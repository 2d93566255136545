"""What one grow call did: :class:`GrowReport`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class GrowReport:
    """What one grow call did.

    Attributes
    ----------
    grown : list of int
        Batches computed by this call.
    skipped : list of int
        Batches that already had a result.
    held : list of int
        Batches claimed by another live grower.
    failed_combos : int
        Combos that raised in the batches grown here.
    discarded : list of int
        Batches computed here whose result was dropped: this grower had lost
        its claim (paused past the heartbeat timeout, its claim was taken
        over) or another grower's result was written first. Each is done,
        by the result written first.
    stopped : str or None
        Why growing stopped before every batch asked for was tried (a
        deadline, the scheduler's warning signal, the crop sown again), or
        None.
    resown : int
        How many times this grower found the crop sown again while it grew
        (it then grows the new sowing's batches: ``grown``, ``skipped`` and
        ``held`` count only those).
    superseded : int
        Batches this grower computed for a sowing replaced meanwhile: their
        results count only where they were adopted.
    adopted : list of int
        Batches of the new sowing whose result this grower wrote from results
        it computed for the sowing replaced (found by combo: same function,
        constants and labels; every combo of the batch computed).
    """

    grown: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    failed_combos: int = 0
    discarded: list[int] = field(default_factory=list)
    stopped: str | None = None
    resown: int = 0
    superseded: int = 0
    adopted: list[int] = field(default_factory=list)

    def merge(self, other: GrowReport) -> GrowReport:
        """Add another report's counts to this one (the workers of one call:
        a batch grown by one is not "already grown" or "held" for the call)."""
        self.grown += other.grown
        self.skipped += other.skipped
        self.held += other.held
        self.failed_combos += other.failed_combos
        self.discarded += other.discarded
        self.stopped = self.stopped or other.stopped
        self.resown = max(self.resown, other.resown)  # one sowing seen by each
        self.superseded += other.superseded
        self.adopted += other.adopted
        # one call's workers see each other's batches: one grown by a sibling
        # was neither there already nor held by another grower
        grown = set(self.grown)
        self.skipped = _unique(b for b in self.skipped if b not in grown)
        done = grown | set(self.skipped)
        self.held = _unique(b for b in self.held if b not in done)
        return self


def _unique(batches) -> list[int]:
    """``batches`` without repeats, in order."""
    return list(dict.fromkeys(batches))

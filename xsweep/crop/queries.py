"""What a crop knows about its progress: the query half of :class:`Crop`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .status import CropStatus, crop_status
from .store import ResultStore

if TYPE_CHECKING:
    from .layout import CropLayout
    from .sow import SowRecord


class CropQueries:
    """Progress queries, mixed into :class:`~xsweep.crop.crop.Crop`.

    They need ``name``, ``heartbeat_timeout``, ``_layout`` and ``_read_sow``.
    """

    name: str
    heartbeat_timeout: float
    _layout: CropLayout

    def _present(self) -> tuple[SowRecord | None, set, dict]:
        sow = self._read_sow(missing_ok=True)
        if sow is None:
            return None, set(), {}
        present, failed = ResultStore(self._layout).snapshot()
        return sow, present, failed

    def missing_results(self) -> tuple[int, ...]:
        """Batch ids (from 1) without a result."""
        sow, present, _ = self._present()
        if sow is None:
            return ()
        return tuple(
            k for k, fp in enumerate(sow.fingerprints, 1) if (k, fp) not in present
        )

    def completed_results(self) -> tuple[int, ...]:
        """Batch ids (from 1) with a result (failed combos included)."""
        sow, present, _ = self._present()
        if sow is None:
            return ()
        return tuple(
            k for k, fp in enumerate(sow.fingerprints, 1) if (k, fp) in present
        )

    def failed_results(self) -> tuple[int, ...]:
        """Batch ids (from 1) whose result holds failed combos."""
        sow, _, failed = self._present()
        if sow is None:
            return ()
        return tuple(k for k, fp in enumerate(sow.fingerprints, 1) if (k, fp) in failed)

    def failures(self) -> list:
        """Every failed combo's :class:`~xsweep.engine.Failure` record."""
        sow = self._read_sow()
        store = ResultStore(self._layout)
        out = []
        for bid in self.failed_results():
            out += store.read(bid, sow.fingerprints[bid - 1])["failures"]
        return out

    def is_ready_to_reap(self) -> bool:
        """Whether every batch has a result."""
        return self.is_prepared() and not self.missing_results()

    @property
    def num_sown_batches(self) -> int:
        sow = self._read_sow(missing_ok=True)
        return -1 if sow is None else sow.num_batches

    @property
    def num_results(self) -> int:
        return len(self.completed_results()) if self.is_prepared() else -1

    def status(self) -> CropStatus:
        """Counts of pending, claimed, done and failed batches, and failures."""
        sow = self._read_sow(missing_ok=True)
        return crop_status(self.name, self._layout, sow, self.heartbeat_timeout)

"""A crop's progress as plain data: :class:`CropStatus`.

Counting needs two directory listings (results, claims) and never opens a
result file; only the most recent failures are read, for display.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from . import claims
from .layout import CropLayout
from .sow import SowRecord
from .store import ResultStore


@dataclass
class CropStatus:
    """How far a crop has grown.

    Attributes
    ----------
    name, location : str
        The crop's name and directory.
    num_batches : int
        Batches sown (0 if not sown).
    pending, claimed, done, failed : int
        Batch counts: not started; claimed by a live grower; grown without a
        failure; grown with at least one failed combo. They sum to
        ``num_batches``.
    failed_combos : int
        Combos that raised, over all batches.
    failures : list of dict
        The most recent failures: each :class:`~xsweep.engine.Failure`'s
        fields as a dict (``index``, ``combo``, ``exc_type``, ``message``,
        ``traceback``, ``host``, ``pid``, ``start``, ``duration``) plus its
        ``batch_id``.
    batch_durations : list of float
        Seconds taken by done batches (of the results read, if any).
    first_start, last_finish : float or None
        Epoch seconds of the first batch started and the last one finished.
    stale_claims : int
        Claims whose holder is provably dead: a process of this machine and
        pid namespace that is gone (their batches count as pending). A status
        is one look, and a silent holder elsewhere is told only by watching
        its heartbeat for the timeout: its batch counts as claimed until a
        grower takes it over.
    sown : bool
        Whether the crop has been sown.
    reaped : bool
        Whether a reaped dataset is saved in the crop directory.
    num_combos : int
        Combos sown.
    kept_combos : int
        Combos whose result was kept when the crop was sown again (they are
        in no batch).
    """

    name: str
    location: str
    num_batches: int = 0
    pending: int = 0
    claimed: int = 0
    done: int = 0
    failed: int = 0
    failed_combos: int = 0
    failures: list = field(default_factory=list)
    batch_durations: list = field(default_factory=list)
    first_start: float | None = None
    last_finish: float | None = None
    stale_claims: int = 0
    sown: bool = False
    reaped: bool = False
    num_combos: int = 0
    kept_combos: int = 0

    @property
    def complete(self) -> bool:
        """Whether every batch has a result."""
        return self.sown and self.done + self.failed == self.num_batches

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly data (failures as dicts)."""
        out = asdict(self)
        out["failures"] = [
            {**f, "combo": {k: _plain(v) for k, v in f["combo"].items()}}
            for f in self.failures
        ]
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return repr(value)


def failure_dict(batch_id: int, failure: Any) -> dict[str, Any]:
    """A failure record as a plain dict, with its batch id."""
    out = {"batch_id": batch_id}
    out.update(
        (k, getattr(failure, k, None))
        for k in (
            "index", "combo", "exc_type", "message", "traceback",
            "host", "pid", "start", "duration",
        )
    )  # fmt: skip
    return out


def crop_status(
    name: str,
    layout: CropLayout,
    sow: SowRecord | None,
    heartbeat_timeout: float,
    *,
    max_failures: int = 20,
) -> CropStatus:
    """Count a crop's batches by state, from two directory listings."""
    reaped = layout.reaped_dataset.exists() or layout.reaped_raw.exists()
    status = CropStatus(name=name, location=str(layout.location), reaped=reaped)
    if sow is None:
        return status
    status.sown = True
    status.num_batches = sow.num_batches
    status.num_combos = sow.num_combos
    status.kept_combos = sow.num_kept if sow.kept else 0
    store = ResultStore(layout)
    present, failed = store.snapshot()
    keys = list(enumerate(sow.fingerprints, 1))
    if layout.networked():  # a listing cached here may miss results written elsewhere
        _look_up_by_name(store, [k for k in keys if k not in present], present, failed)
    claimed = layout.list_claims()
    times = [key for key in keys if key in present]  # (set look-ups, in order)
    failed_ids = [key[0] for key in times if key in failed]
    status.failed = len(failed_ids)
    status.failed_combos = sum(failed[key] for key in times if key in failed)
    status.done = len(times) - status.failed
    held = [key for key in keys if key in claimed and key not in present]
    for key in held:
        if claims.is_stale(claimed[key], heartbeat_timeout):
            status.stale_claims += 1
        else:
            status.claimed += 1
    status.pending = len(keys) - len(times) - status.claimed
    for k in failed_ids[-max_failures:]:
        with contextlib.suppress(Exception):
            rec = store.read(k, sow.fingerprints[k - 1])
            status.failures += [failure_dict(k, f) for f in rec["failures"]]
    status.failures = status.failures[-max_failures:]
    _timing(status, layout, store, times)
    return status


def _look_up_by_name(
    store: ResultStore, keys: list, present: set, failed: dict
) -> None:
    """Add to ``present`` (and ``failed``) the ``keys`` whose result exists by name.

    On a networked file system a listing can be as old as the client's cache
    time; looking a name up asks the server. Only results the listing missed
    are read (for their failed combos).
    """
    for key in keys:
        if os.path.exists(store.layout.result_path(*key)):
            present.add(key)
            with contextlib.suppress(Exception):
                n = len(store.read(*key)["failures"])
                if n:
                    failed[key] = n


def _timing(
    status: CropStatus, layout: CropLayout, store: ResultStore, keys, sample: int = 64
) -> None:
    """Durations and time span, from at most ``sample`` results (spread out)."""
    if not keys:
        return
    step = max(1, len(keys) // sample)
    starts, ends = [], []
    for bid, fp in keys[::step]:
        with contextlib.suppress(Exception):
            for prov in store.read(bid, fp)["provenance"][:1]:
                starts.append(prov["start"])
                ends.append(prov["end"])
                status.batch_durations.append(prov["end"] - prov["start"])
    with contextlib.suppress(OSError):
        ends.append(max(os.stat(layout.result_file(*k)).st_mtime for k in keys[-3:]))
    status.first_start = min(starts) if starts else None
    status.last_finish = max(ends) if ends else None

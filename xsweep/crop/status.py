"""A crop's progress as plain data: :class:`CropStatus`.

Counting needs two directory listings (results, claims) and never opens a
result file; only the most recent failures are read, for display.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from . import claims
from .layout import CropLayout
from .logs import failed_tasks
from .provenance import job_of
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
    live_growers : list of dict
        The growers at work now (holder cards of live processes): ``host``,
        ``pid``, ``jobs`` (scheduler job ids), ``since`` (epoch seconds the
        grower started on this crop) and ``batches`` (claims it holds).
    last_result_age : float or None
        Seconds since a result was last written (None: none yet).
    num_logs : int
        Scheduler output files in the crop's ``logs/``.
    failed_tasks : list of dict
        Job-array tasks whose log says they failed (see
        :mod:`xsweep.crop.logs`): ``log``, ``exit_code`` (None: killed) and
        ``last_lines``.
    slowest, most_memory : list of dict
        The slowest batches and those with the highest peak memory, of the
        results read (at most 64, spread over the crop): ``batch_id``,
        ``duration`` (s), ``max_rss`` (bytes), ``cpu_time`` (s), ``host``,
        ``job``.
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
    live_growers: list = field(default_factory=list)
    last_result_age: float | None = None
    slowest: list = field(default_factory=list)
    most_memory: list = field(default_factory=list)
    num_logs: int = 0
    failed_tasks: list = field(default_factory=list)
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
    status.num_logs, status.failed_tasks = failed_tasks(layout)
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
    status.live_growers = live_growers(layout, heartbeat_timeout, claimed.values())
    with contextlib.suppress(OSError):
        if times:  # a result's link changes its directory's mtime
            age = time.time() - os.stat(layout.results_dir).st_mtime
            status.last_result_age = max(0.0, age)
    return status


def live_growers(
    layout: CropLayout, heartbeat_timeout: float, claim_paths: Any = ()
) -> list[dict[str, Any]]:
    """The growers at work on a crop: its holder cards whose holder is alive.

    A grower writes its card when it first claims a batch and removes it when
    it exits; a card whose process is gone (same host) or whose heartbeat is
    older than ``heartbeat_timeout`` does not count.
    """
    held: dict[int, int] = {}
    for path in claim_paths:
        with contextlib.suppress(OSError):
            ino = os.stat(path).st_ino
            held[ino] = held.get(ino, 0) + 1
    out = []
    for path in layout.list_holder_cards():
        info = claims.read_claim(path)
        if not info or claims.is_stale(path, heartbeat_timeout, info):
            continue
        try:
            ino = os.stat(path).st_ino
        except OSError:
            continue
        out.append(
            {
                "host": info.get("host"),
                "pid": info.get("pid"),
                "jobs": dict(info.get("scheduler") or {}),
                "since": info.get("time"),
                "batches": held.get(ino, 0),
            }
        )
    out.sort(key=lambda g: (str(g["host"]), g["pid"] or 0))
    return out


def batch_summary(batch_id: int, prov: dict[str, Any]) -> dict[str, Any]:
    """What status shows of one batch's provenance."""
    return {
        "batch_id": batch_id,
        "duration": prov["end"] - prov["start"],
        "max_rss": prov.get("max_rss"),
        "cpu_time": prov.get("cpu_time"),
        "host": prov.get("host"),
        "job": job_of(prov.get("scheduler") or {}),
    }


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
    status: CropStatus,
    layout: CropLayout,
    store: ResultStore,
    keys,
    sample: int = 64,
    top: int = 3,
) -> None:
    """Durations and time span, from at most ``sample`` results (spread out)."""
    if not keys:
        return
    step = max(1, len(keys) // sample)
    starts, ends, batches = [], [], []
    for bid, fp in keys[::step]:
        with contextlib.suppress(Exception):
            for prov in store.read(bid, fp)["provenance"][:1]:
                starts.append(prov["start"])
                ends.append(prov["end"])
                status.batch_durations.append(prov["end"] - prov["start"])
                batches.append(batch_summary(bid, prov))
    status.slowest = sorted(batches, key=lambda b: -b["duration"])[:top]
    hungry = [b for b in batches if b["max_rss"] is not None]
    status.most_memory = sorted(hungry, key=lambda b: -b["max_rss"])[:top]
    with contextlib.suppress(OSError):
        ends.append(max(os.stat(layout.result_file(*k)).st_mtime for k in keys[-3:]))
    status.first_start = min(starts) if starts else None
    status.last_finish = max(ends) if ends else None

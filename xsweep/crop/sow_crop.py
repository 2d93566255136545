"""Sowing a crop directory: keep every result that still holds, drop the rest.

Sowing again (more values, fewer, reordered, cases instead of a grid) keeps
the result of every combo whose values, constants and function are unchanged,
wherever it now sits (:mod:`xsweep.crop.carry`), and sows batches over the
other combos only. Sowing exactly what was sown keeps the batches as they are
(a job array growing them is not disturbed).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import CropError, FileFormatError
from . import carry, kept_fit, records
from . import fingerprint as fpr
from .layout import CropLayout
from .sow import LABEL_ATTRS, SowRecord, make_sow_record, read_sow, write_sow


@dataclass
class SowSummary:
    """What a sowing did, as :meth:`Crop.sow_combos` returns and prints it.

    Attributes
    ----------
    combos : int
        Combos sown.
    batches : int
        Batches to grow.
    kept : int
        Combos whose result was kept (same combo, constants and function, or
        an older function when asked with ``keep_old_code``).
    to_compute : int
        Combos left to compute (``combos - kept``).
    dropped : int
        Results of the previous sowing not kept: combos no longer sown,
        failed combos, or results of changed constants or code.
    set_aside : list of str
        Reaped files of the previous sowing, moved aside (never deleted):
        a reaped crop's results left the crop, so they are computed again.
    """

    combos: int
    batches: int
    kept: int
    to_compute: int
    dropped: int
    set_aside: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        todo = (
            f"{self.to_compute} to compute in {_n(self.batches, 'batch')}"
            if self.to_compute
            else "nothing to compute"
        )
        text = (
            f"{_n(self.combos, 'combo')}: kept {_n(self.kept, 'result')}, "
            f"{todo}, dropped {_n(self.dropped, 'result')}"
        )
        for path in self.set_aside:
            text += (
                f"; the crop's earlier reaped result was moved to {path} "
                f"({_reader(path)} reads it)"
            )
        return text


def _reader(path: str) -> str:
    """What reads a reaped file set aside at ``path``."""
    if path.endswith(".nc"):
        return "xsweep.load_ds"
    if path.endswith(".pkl"):  # rows (a Sampler's) or raw results, pickled
        return "xsweep.load_df (or pickle.load)"
    return "xsweep.crop.records.read(path)['result']"


def _n(count: int, noun: str) -> str:
    """``1 batch``, ``2 batches``, ``0 results``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun}{'es' if noun.endswith('ch') else 's'}"


def _previous(layout: CropLayout) -> SowRecord | None:
    """The sowing being replaced, if there is a readable one."""
    with contextlib.suppress(CropError, FileFormatError):
        return read_sow(layout)
    return None


def _same_sowing(old: SowRecord | None, new: SowRecord, kind: str) -> bool:
    """Whether ``new`` sows exactly what ``old`` did, batched the same way."""
    return (
        old is not None
        and old.kind == kind
        and type(old.combos) is type(new.combos)
        and _same_values(old.combos, new.combos)
        and old.fn_fingerprint == new.fn_fingerprint
        and fpr.constants_fingerprint(old.constants)
        == fpr.constants_fingerprint(new.constants)
        and tuple(old.asked) == tuple(new.asked)
    )


def _any_failed(failed: dict, fingerprints: Any) -> bool:
    """Whether a result in the crop (``failed``: its failed-combo counts, as
    :meth:`~xsweep.crop.store.ResultStore.snapshot` gives them) recorded a
    failed combo under the key of one of these batches."""
    return any((k, fp) in failed for k, fp in enumerate(fingerprints, 1))


def _same_values(a: Any, b: Any) -> bool:
    """Whether two Grids (or Cases) hold the same values, of the same types
    (``1`` and ``1.0`` are equal in Python, not as arguments of a function)."""
    import pickle

    if a.names != b.names or a.size != b.size:
        return False
    return pickle.dumps(a, protocol=4) == pickle.dumps(b, protocol=4)


def _history(old: SowRecord | None, fn_fp: str, fn_name: str, keep_old: bool):
    """The code history of a new sowing (see :class:`SowRecord`)."""
    entry = {
        "fn_fingerprint": fn_fp,
        "fn_name": fn_name,
        "sown_at": time.time(),
        "kept_old": keep_old,
    }
    before = list(old.code_history) if old is not None else []
    if before and before[-1]["fn_fingerprint"] == fn_fp:
        return before
    return [*before, entry] if keep_old else [entry]


def sow(
    layout: CropLayout,
    kind: str,
    combos: Any,
    *,
    fn: Callable | None,
    farmer: Any,
    constants: dict[str, Any] | None,
    save_fn: bool | None,
    batchsize: int | None,
    num_batches: int | None,
    shuffle: bool | int,
    inherit: SowRecord | None = None,
    keep_old_code: bool = False,
) -> tuple[SowRecord, SowSummary]:
    """Sow ``combos`` into the crop directory; the record and what was kept.

    The results of the sowing replaced are kept by combo (see
    :mod:`xsweep.crop.carry`); every other result (and any reaped result) is
    removed once the new sow record is written. Without a farmer, ``inherit``
    (the sowing of a crop reopened by name) gives the constants (as
    defaults), resources, labels and saved farmer of the sowing it replaces,
    so that sowing the same combos again keeps them and every result.
    ``keep_old_code`` keeps the results of the previous function too.
    """
    from .store import ResultStore

    if farmer is None and inherit is not None:
        old = {k: v for k, v in inherit.constants.items() if k not in combos.names}
        constants = {**old, **(constants or {})}
        resources = dict(inherit.resources)
    else:
        farmer_constants = getattr(farmer, "constants", None) or {}
        constants = {**farmer_constants, **(constants or {})}
        resources = dict(getattr(farmer, "resources", None) or {})
    if fn is None and (inherit is None or inherit.fn_fingerprint == "none"):
        raise CropError(
            f"the crop at {layout.location} has no function to sow with: give "
            "it one, e.g. Crop(fn=my_function, name=...) (or Runner(my_function, "
            "...).Crop(...)); growers then compute my_function at each combo."
        )
    if fn is not None:
        from ..engine import check_signature

        check_signature(fn, combos.names, constants, resources)
    labels = {}
    farmer_kind = type(farmer).__name__ if farmer is not None else None
    if farmer is not None:
        labels = {a: getattr(farmer, a, None) for a in LABEL_ATTRS}
        labels["constants"] = constants
    elif inherit is not None and inherit.farmer_kind:
        labels = {**inherit.labels, "constants": constants}
        farmer_kind = inherit.farmer_kind
    if labels and not labels.get("reap_to_df"):
        from .coords import check_coordinates

        check_coordinates(combos)
    settings = {
        "batchsize": batchsize,
        "num_batches": num_batches,
        "shuffle": shuffle,
        "labels": labels,
        "farmer_kind": farmer_kind,
        "unsaved_fn": (inherit.fn_fingerprint, inherit.fn_name) if inherit else None,
    }
    saved = save_fn if save_fn is not None else fn is not None
    parts = fpr.function_parts(fn) if fn is not None else None
    fn_fp = fpr.digest_parts(parts) if parts is not None else None
    record = make_sow_record(
        combos, kind, constants, resources, fn, saved, fn_fp=fn_fp, **settings
    )
    if parts is not None:
        record.fn_parts = fpr.part_digests(parts)
    elif inherit is not None:
        record.fn_parts = dict(inherit.fn_parts)
    previous = _previous(layout)
    keep_old = keep_old_code and previous is not None
    record.code_history = _history(
        previous, record.fn_fingerprint, record.fn_name, keep_old
    )
    already = 0  # results of batches sown the same way again
    present, failed = ResultStore(layout).snapshot()
    # a batch with a failed combo is batched anew, the failed combos computed
    # again (as the summary's "to compute" says), every other result kept
    if _same_sowing(previous, record, kind) and not _any_failed(
        failed,
        previous.fingerprints,  # type: ignore[union-attr]
    ):
        assert previous is not None
        for name in ("bounds", "order", "fingerprints", "kept", "num_kept"):
            setattr(record, name, getattr(previous, name))
        record.shuffle_seed = previous.shuffle_seed
        record.code_history = list(previous.code_history) or record.code_history
        kept = carry.Carried()
        dropped = 0
        for k, fp in enumerate(record.fingerprints, 1):
            if (k, fp) in present:
                size = int(record.bounds[k] - record.bounds[k - 1])
                already += size - failed.get((k, fp), 0)
        if already and kept_fit.needs_check(previous, record.labels):
            blocks = kept_fit.grown_blocks(layout, record)
            kept_fit.check_kept(layout, record, previous, blocks, already)
    else:
        kept = carry.carry(
            layout,
            previous,
            combos,
            constants,
            record.fn_fingerprint,
            keep_old_code=keep_old_code
            or (
                previous is not None
                and previous.fn_fingerprint == record.fn_fingerprint
            ),
        )
        dropped = kept.dropped
        todo = np.flatnonzero(~kept.mask) if kept.count else None
        if kept.count:
            record = _with_todo(record, combos, kind, constants, resources, fn, todo)
        if _any_failed(failed, record.fingerprints):
            # a failed batch of the same combos would answer a new batch
            record = _with_todo(
                record, combos, kind, constants, resources, fn, todo, fresh=True
            )
        if kept.count and kept_fit.needs_check(previous, record.labels):
            blocks = [b for rec in kept.records for b in rec["blocks"]]
            kept_fit.check_kept(layout, record, previous, blocks, kept.count)
        if kept.count:
            record.kept = carry.write_kept(layout, record.sow_id, kept)
            record.num_kept = kept.count
    write_sow(layout, record, fn)
    keep = {(k, fp) for k, fp in enumerate(record.fingerprints, 1)}
    ResultStore(layout).remove_stale(keep, kept=record.kept)
    for fp, path in layout.list_functions().items():
        if fp != record.fn_fingerprint:
            records.remove(path)
    moved = _set_aside_reaped(layout, previous)
    if farmer is not None or inherit is None:  # else the saved farmer stays
        records.remove(layout.farmer_file)
    if hasattr(farmer, "merge_reaped"):
        _save_farmer(layout, farmer, fn)
    n = record.num_combos
    kept_n = (record.num_kept if record.kept else 0) + already
    summary = SowSummary(
        combos=n,
        batches=record.num_batches,
        kept=kept_n,
        to_compute=n - kept_n,
        dropped=dropped,
        set_aside=moved,
    )
    return record, summary


def _set_aside_reaped(layout: CropLayout, previous: SowRecord | None) -> list[str]:
    """Move the reaped result of the sowing replaced aside, never delete it.

    A reap that cleaned up took its results out of the crop, so sowing
    again computes them again (a reap with ``clean_up=False`` left them to be
    kept by combo); either way the reaped file stays, under a name of its own.
    """
    moved = []
    for path in (layout.reaped_dataset, layout.reaped_raw):
        if path.exists():
            sow_id = previous.sow_id if previous is not None else uuid.uuid4().hex
            target = layout.earlier_reaped(path, sow_id)
            if path == layout.reaped_raw:
                target = _pickle_aside(path, target)
            else:
                os.replace(path, target)
            moved.append(str(target))
    return moved


def _pickle_aside(path: Any, target: Any) -> Any:
    """Set reaped rows or raw results aside as a plain pickle of the result
    (``xsweep.load_df`` reads it), written before ``path`` is removed; where
    it was."""
    import pickle

    from .. import atomic

    try:
        result = records.read(path, "reaped")["result"]
        blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # unreadable here: set the file itself aside
        os.replace(path, target)
        return target
    pickled = target.with_suffix(".pkl")
    atomic.write_bytes(pickled, blob)
    records.remove(path)
    return pickled


def _with_todo(
    record: SowRecord, combos, kind, constants, resources, fn, todo, fresh=False
) -> SowRecord:
    """``record`` sown again with batches over the flat indices ``todo`` only
    (None: all); ``fresh``: with batch fingerprints no earlier sowing had."""
    batchsize, num_batches, shuffle = record.asked
    new = make_sow_record(
        combos, kind, constants, resources, fn, record.fn_saved,
        batchsize=batchsize, num_batches=num_batches, shuffle=shuffle,
        labels=record.labels, farmer_kind=record.farmer_kind,
        unsaved_fn=(record.fn_fingerprint, record.fn_name),
        todo=todo, fn_fp=record.fn_fingerprint,
        fresh=record.sow_id if fresh else "",
    )  # fmt: skip
    new.fn_name, new.fn_parts = record.fn_name, record.fn_parts
    new.code_history = record.code_history
    return new


def _save_farmer(layout: CropLayout, farmer: Any, fn: Callable | None) -> None:
    """Save the farmer (for a later reap in another process), if picklable.

    Cloudpickled, as the function is: a function defined in a script or a
    notebook (``__main__``) is saved by value, so another process can load it;
    one imported from a module is saved by reference, so the directories this
    process could import it from are saved too (a reaper searches them).
    """
    import warnings

    import cloudpickle

    from .import_paths import sown_from

    paths = sown_from(fn) if fn is not None else [os.getcwd()]
    try:
        blob = cloudpickle.dumps(farmer)
        records.write(
            layout.farmer_file, "farmer", {"cloudpickle": blob, "sys_path": paths}
        )
    except Exception as e:
        records.remove(layout.farmer_file)
        warnings.warn(
            f"could not save the farmer with the crop ({e}); reap from this "
            "process (or give farmer= to Crop) to merge into its file.",
            stacklevel=3,
        )

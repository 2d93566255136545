"""Results carried over a re-sowing, found by combo, never by position.

When a crop is sown again, every result of the sowing it replaces whose
combo, constants and function are unchanged is *kept*: it is found by its
combo key (:func:`~xsweep.crop.fingerprint.combo_keys`), wherever the combo
sits in the new grid or case list, and written, with its key, into one
*kept* file of the new sowing (``results/kept.<sow_id>.xsk``), at its new
flat index. The new batches cover only the combos left to compute. A reaper
checks every kept result's key against the combo it is placed at, so a kept
result is never reaped under the wrong labels.

A failed combo is never kept (it is computed again). Results of another
function are dropped unless the sower asks to keep them (``keep_old_code``);
then each kept result still records the code that produced it.

This module runs at sow and reap time only, never on the grow path.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import CropError, FileFormatError
from . import records
from .fingerprint import combo_keys
from .layout import CropLayout
from .store import ResultStore


@dataclass
class Carried:
    """What a re-sowing keeps of the results of the sowing it replaces.

    Attributes
    ----------
    records : list of dict
        Kept results, one per source result: ``fn_fingerprint``, ``fn_name``,
        ``blocks`` (engine blocks at the new flat indices), ``keys`` (one
        ``(size, 2)`` key array per block) and ``provenance``.
    mask : numpy.ndarray
        True at each new flat index that has a kept result.
    dropped : int
        Combo results of the old sowing not kept (combo, constants or code
        changed, or failed).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    mask: np.ndarray | None = None
    dropped: int = 0

    @property
    def count(self) -> int:
        return 0 if self.mask is None else int(np.count_nonzero(self.mask))


class _KeyIndex:
    """Find the new flat index of a combo key (each index given out once)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys
        self.order = np.argsort(keys[:, 0], kind="stable")
        self.sorted0 = keys[self.order, 0]
        self.taken = np.zeros(len(keys), dtype=bool)

    def find(self, wanted: np.ndarray) -> np.ndarray:
        """The new flat index of each wanted key, or -1 (none, or all taken)."""
        out = np.full(len(wanted), -1, dtype=np.int64)
        if not len(self.keys) or not len(wanted):
            return out
        lo = np.searchsorted(self.sorted0, wanted[:, 0], side="left")
        hi = np.searchsorted(self.sorted0, wanted[:, 0], side="right")
        for j in np.flatnonzero(hi > lo):  # equal first lanes: check both
            for pos in range(lo[j], hi[j]):
                i = self.order[pos]
                if not self.taken[i] and self.keys[i, 1] == wanted[j, 1]:
                    self.taken[i] = True
                    out[j] = i
                    break
        return out


def _old_records(
    layout: CropLayout, old: Any
) -> list[tuple[dict, list[tuple[Any, np.ndarray]]]]:
    """Every result of the old sowing, with the key array of each block."""
    out = []
    old_keys: np.ndarray | None = None
    if getattr(old, "kept", None):
        with contextlib.suppress(FileNotFoundError, FileFormatError, KeyError):
            for rec in records.read(layout.kept_file(old.kept), "kept")["records"]:
                out.append((rec, list(zip(rec["blocks"], rec["keys"], strict=True))))
    store = ResultStore(layout)
    present, _ = store.snapshot()
    for k, fp in enumerate(old.fingerprints, 1):
        if (k, fp) not in present:
            continue
        with contextlib.suppress(FileNotFoundError, FileFormatError):
            rec = store.read(k, fp)
            if old_keys is None:
                old_keys = combo_keys(old.combos, old.constants)
            rec = {
                **rec,
                "fn_fingerprint": old.fn_fingerprint,
                "fn_name": old.fn_name,
            }
            blocks = [(b, old_keys[b.start : b.stop]) for b in rec["blocks"]]
            out.append((rec, blocks))
    return out


def _successes(block: Any) -> np.ndarray:
    """Offsets of the combos of ``block`` that have a result."""
    if block.kind == "empty":
        return np.zeros(0, dtype=np.int64)
    ok = np.ones(block.size, dtype=bool)
    if block.failed:
        ok[list(block.failed)] = False
    return np.flatnonzero(ok)


def _runs(index: np.ndarray) -> list[tuple[int, int]]:
    """``(a, b)`` pairs cutting sorted ``index`` into contiguous runs."""
    if not len(index):
        return []
    breaks = np.flatnonzero(np.diff(index) != 1) + 1
    edges = [0, *breaks.tolist(), len(index)]
    return list(itertools.pairwise(edges))


def _moved(block: Any, offsets: np.ndarray, new_index: np.ndarray) -> list:
    """``block``'s entries at ``offsets``, placed at ``new_index``: new blocks."""
    from ..engine.block import Block

    order = np.argsort(new_index, kind="stable")
    offsets, new_index = offsets[order], new_index[order]
    out = []
    for a, b in _runs(new_index):
        sel = offsets[a:b]
        columns = [np.asarray(c)[sel] for c in block.columns]
        start = int(new_index[a])
        out.append(Block(start, start + (b - a), block.kind, columns))
    return out


def carry(
    layout: CropLayout,
    old: Any,
    combos: Any,
    constants: dict[str, Any],
    fn_fingerprint: str,
    *,
    keep_old_code: bool = False,
) -> Carried:
    """The results of ``old`` (a sow record, or None) that the new sowing keeps."""
    carried = Carried()
    if old is None:
        return carried
    sources = _old_records(layout, old)
    if not sources:
        return carried
    new_keys = combo_keys(combos, constants)
    index = _KeyIndex(new_keys)
    for rec, blocks in sources:
        kept_blocks, kept_keys = [], []
        usable = rec["fn_fingerprint"] == fn_fingerprint or keep_old_code
        seen: set[int] = set()  # flat indices of later blocks (retries win)
        for block, keys in reversed(blocks):
            fresh = np.ones(block.size, dtype=bool)
            if len(blocks) > 1:
                span = range(block.start, block.stop)
                fresh = np.fromiter((i not in seen for i in span), bool, block.size)
                seen.update(span)
            ok = np.zeros(block.size, dtype=bool)
            ok[_successes(block)] = True
            offsets = np.flatnonzero(fresh & ok)
            carried.dropped += int(np.count_nonzero(fresh & ~ok))
            if not usable:
                carried.dropped += len(offsets)
                continue
            found = index.find(keys[offsets])
            carried.dropped += int(np.count_nonzero(found < 0))
            hit = found >= 0
            for moved in _moved(block, offsets[hit], found[hit]):
                kept_blocks.append(moved)
                kept_keys.append(new_keys[moved.start : moved.stop])
        if kept_blocks:
            carried.records.append(
                {
                    "fn_fingerprint": rec["fn_fingerprint"],
                    "fn_name": rec.get("fn_name", ""),
                    "blocks": kept_blocks,
                    "keys": kept_keys,
                    "provenance": rec["provenance"],
                }
            )
    carried.mask = index.taken
    return carried


def write_kept(layout: CropLayout, sow_id: str, carried: Carried) -> str | None:
    """Write the kept results of a new sowing; the kept file's token (or None)."""
    if not carried.count:
        return None
    layout.make_dirs()
    records.write(
        layout.kept_file(sow_id),
        "kept",
        {"sow_id": sow_id, "records": carried.records},
        what="kept results",
    )
    return sow_id


def read_kept(layout: CropLayout, sow: Any) -> list[dict[str, Any]]:
    """The kept results of ``sow``, each checked against the combo it labels.

    Raises
    ------
    CropError
        If the kept file is missing.
    FileFormatError
        If a kept result's combo key is not that of the combo at its place.
    """
    if not getattr(sow, "kept", None):
        return []
    path = layout.kept_file(sow.kept)
    try:
        data = records.read(path, "kept")
    except FileNotFoundError:
        raise CropError(
            f"{path} (the {sow.num_kept} results kept when the crop was last sown) "
            "is missing; sow the crop again to compute them again."
        ) from None
    keys = combo_keys(sow.combos, sow.constants)
    for rec in data["records"]:
        for block, block_keys in zip(rec["blocks"], rec["keys"], strict=True):
            if not np.array_equal(keys[block.start : block.stop], block_keys):
                raise FileFormatError(
                    f"{path} holds results for other combos than the ones at flat "
                    f"indices {block.start}..{block.stop} of this sowing; it is "
                    "not reaped. Delete it and sow again."
                )
    return data["records"]

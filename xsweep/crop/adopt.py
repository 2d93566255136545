"""Results a grower computed for a sowing replaced while it grew, adopted by combo.

A crop sown again while growers work keeps, by combo, the results already
written (:mod:`xsweep.crop.carry`). A grower finishing a batch of the sowing
replaced afterwards notices it (the sow record's file changed) and, instead
of writing a result no reaper will read, adopts it: every batch of the new
sowing whose combos all have a successful result among those it computed
gets a result made of them, found by combo key (the combo's values and the
constants), at the new flat indices, as a re-sowing keeps results. Nothing is
adopted across a change of function or of labels: a result is never reaped
beside results of another version of the code, nor under other labels.

Runs on the grow path (only when a crop was sown again): numpy only.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from .carry import _KeyIndex, _moved, _successes
from .fingerprint import combo_keys


def adoptable(old: Any, new: Any) -> bool:
    """Whether results of sowing ``old`` may answer batches of sowing ``new``
    (same function, same labels; the constants are in the combo keys)."""
    if old.fn_fingerprint != new.fn_fingerprint or old.kind != new.kind:
        return False
    try:
        return pickle.dumps(old.labels, protocol=4) == pickle.dumps(
            new.labels, protocol=4
        )
    except Exception:
        return False


def adopt(old: Any, new: Any, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Result records of batches of ``new`` made of ``results`` of ``old``.

    Only batches whose every combo has a successful result here are adopted;
    failed combos never are (they are computed again).
    """
    if not results or not new.num_batches or not adoptable(old, new):
        return []
    old_keys = combo_keys(old.combos, old.constants)
    new_keys = combo_keys(new.combos, new.constants)
    index = _KeyIndex(new_keys)
    batch_of = new.batch_of_flat()
    sources = []  # (block, offsets in it, new flat indices, provenance)
    for rec in results:
        for block in rec["blocks"]:
            offsets = _successes(block)
            if not len(offsets):
                continue
            found = index.find(old_keys[block.start + offsets])
            hit = found >= 0
            if hit.any():
                sources.append((block, offsets[hit], found[hit], rec["provenance"]))
    out = []
    touched = set(np.unique(batch_of[index.taken]).tolist()) - {0}
    for bid in sorted(touched):
        if not all(index.taken[a:b].all() for a, b in new.runs(bid)):
            continue  # some combo of the batch was not computed here
        blocks, provenance = [], []
        for block, offsets, found, prov in sources:
            inside = batch_of[found] == bid
            if inside.any():
                blocks += _moved(block, offsets[inside], found[inside])
                provenance += [p for p in prov if p not in provenance]
        blocks.sort(key=lambda b: b.start)
        out.append(
            {
                "batch_id": bid,
                "fingerprint": new.fingerprint(bid),
                "sow_id": new.sow_id,
                "blocks": blocks,
                "failures": [],
                "provenance": provenance,
            }
        )
    return out


def batches_in_flight(layout: Any, old: Any, new: Any) -> set[int]:
    """Batches of ``new`` holding combos of batches of ``old`` still claimed
    (by other growers, or workers of this one): their holders may adopt them
    once done, so a grower switching to ``new`` grows them last."""
    valid = set(enumerate(new.fingerprints, 1))
    held = [
        bid
        for (bid, fp) in layout.list_claims()
        if bid <= old.num_batches
        and old.fingerprints[bid - 1] == fp
        and (bid, fp) not in valid
    ]
    if not held or not new.num_batches:
        return set()
    flat = np.concatenate(
        [np.arange(a, b) for bid in held for a, b in old.runs(bid)]
    ).astype(np.int64)
    index = _KeyIndex(combo_keys(new.combos, new.constants))
    found = index.find(combo_keys(old.combos, old.constants)[flat])
    batch_of = new.batch_of_flat()
    return set(batch_of[found[found >= 0]].tolist()) - {0}

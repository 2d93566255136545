"""Validate results where they are made: a result that cannot be labelled or
stored is a recorded failure of its combo at grow time.

A crop whose results are labelled (``var_names`` given) knows what each
combo must return: one value per output name (a tuple, or a dict with those
keys), each of the shape its ``var_dims`` and ``var_coords`` give (a scalar
without ``var_dims``), of a kind a dataset can store. A combo that returns
anything else fails, with a message naming the combo and what differs, so
that a crop that says it is complete can always be reaped. Any crop's result
must be picklable to be written; a combo whose result is not fails too.

The common case costs one shape comparison per block: only a block whose
packing shows a mismatch (object columns, ragged or wrong-sized arrays) is
checked combo by combo.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine.failures import shown
from ..errors import OutputMismatchError


def expected_shapes(labels: dict[str, Any]) -> dict[str, tuple | None] | None:
    """Each output's shape per combo (None: unknown), or None if not labelled."""
    names = labels.get("var_names") if labels else None
    if names is None or labels.get("reap_to_df"):
        return None
    names = (names,) if isinstance(names, str) else tuple(names)
    dims = labels.get("var_dims") or {}
    coords = labels.get("var_coords") or {}
    out: dict[str, tuple | None] = {}
    for name in names:
        these = dims.get(name, ())
        these = (these,) if isinstance(these, str) else tuple(these)
        try:
            out[name] = tuple(
                len(coords[d]) if d in coords else None for d in these
            )  # None: a dimension sized by the results
        except TypeError:
            out[name] = None
    return out


def _fits(shape: tuple, want: tuple | None) -> bool:
    """Whether ``shape`` is ``want`` (None entries: any size)."""
    return want is None or (
        len(shape) == len(want)
        and all(w is None or s == w for s, w in zip(shape, want, strict=True))
    )


def _fast_ok(block: Any, shapes: dict[str, tuple | None]) -> bool:
    """Whether a block's packing alone proves every result fits."""
    if block.kind == "empty":
        return True
    wanted = list(shapes.values())
    if len(wanted) == 1 and block.kind in ("scalar", "array"):
        column = block.columns[0]
        return column.dtype.kind != "O" and _fits(column.shape[1:], wanted[0])
    if len(wanted) > 1 and block.kind == "tuple" and len(block.columns) == len(wanted):
        return all(
            c.dtype.kind != "O" and _fits(c.shape[1:], s)
            for c, s in zip(block.columns, wanted, strict=True)
        )
    return False


def _problem(value: Any, shapes: dict[str, tuple | None]) -> str | None:
    """Why ``value`` cannot be labelled as ``shapes`` says (None: it can)."""
    names = list(shapes)
    if len(names) == 1:
        outputs = [value]
    elif isinstance(value, dict):
        if set(value) != set(names):
            return (
                f"it returned a dict with keys {sorted(value)}, but var_names is "
                f"{names}"
            )
        outputs = [value[n] for n in names]
    elif isinstance(value, tuple) and len(value) == len(names):
        outputs = list(value)
    else:
        what = f"{len(value)} values" if isinstance(value, tuple) else "one value"
        return (
            f"it returned {what} ({type(value).__name__}), but var_names has "
            f"{len(names)} outputs {names}: return a tuple of {len(names)} values "
            "(or a dict with those keys)"
        )
    for name, output in zip(names, outputs, strict=True):
        try:
            array = np.asarray(output)
        except (ValueError, TypeError):
            array = np.empty(0, dtype=object)
        want = shapes[name]
        if array.dtype.kind == "O":
            return (
                f"output {name!r} is {type(output).__name__} {output!r:.60}, which "
                "a dataset cannot store as numbers or strings (a ragged or mixed "
                "array, or an object)"
            )
        if not _fits(array.shape, want):
            how = (
                "a scalar"
                if not want
                else f"shape {want} (from var_dims and var_coords; None: any size)"
            )
            text = f"output {name!r} has shape {array.shape}, but {how} is expected"
            if len(names) == 1 and isinstance(value, tuple | list) and not want:
                return (
                    f"{text}: it returned {len(value)} values "
                    f"({type(value).__name__}) and var_names has one, {names}; "
                    f"give {len(value)} var_names for {len(value)} outputs, or "
                    "var_dims and var_coords if it is one array output"
                )
            if not want:
                text += "; give var_dims and var_coords for array outputs"
            return text
    return None


def _unstorable(value: Any) -> str | None:
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        try:
            import cloudpickle

            cloudpickle.dumps(value)
        except Exception as e:
            return f"its result {value!r:.60} cannot be saved ({type(e).__name__}: {e})"
    return None


def check_blocks(blocks: list, combos: Any, shapes: dict | None) -> list:
    """``blocks`` with every combo whose result cannot be labelled (``shapes``,
    see :func:`expected_shapes`) or stored turned into a recorded failure."""
    out = []
    for block in blocks:
        if block.kind == "empty":
            out.append(block)
            continue
        labelled_ok = shapes is None or _fast_ok(block, shapes)
        objects = any(c.dtype.kind == "O" for c in block.columns)
        if not (labelled_ok and (not objects or _unstorable(block.columns) is None)):
            block = _rebuild(block, combos, shapes)
        if shapes is not None:
            _pin_sizes(shapes, block)
        out.append(block)
    return out


def _pin_sizes(shapes: dict[str, tuple | None], block: Any) -> None:
    """Fix, in ``shapes``, the sizes a first good result gives to dimensions
    sized by the results: every later result of this grower must match them,
    or it could not be labelled beside the first one."""
    if all(w is None or None not in w for w in shapes.values()):
        return
    failed = set(block.failed)
    good = [v for k, v in enumerate(block.values) if k not in failed]
    if not good:
        return
    value = good[0]
    names = list(shapes)
    if len(names) == 1:
        outputs = [value]
    elif isinstance(value, dict):
        outputs = [value[n] for n in names]
    else:
        outputs = list(value)
    for name, output in zip(names, outputs, strict=True):
        want = shapes[name]
        if want is not None and None in want:
            shapes[name] = tuple(np.shape(output))


def _rebuild(block: Any, combos: Any, shapes: dict | None) -> Any:
    """The block again, combo by combo, failing the combos that do not fit."""
    from ..engine.block import FAILED, build_block
    from ..engine.failures import make_failure

    results = block.values
    failed = set(block.failed)
    failures = list(block.failures)
    now = time.time()
    for offset, value in enumerate(results):
        if offset in failed:
            results[offset] = FAILED
            continue
        problem = _problem(value, shapes) if shapes is not None else None
        problem = problem or _unstorable(value)
        if problem is None:
            continue
        index = block.start + offset
        combo = combos.combo(index)
        error = OutputMismatchError(
            f"the result of combo {shown(combo)} cannot be labelled or stored: "
            f"{problem}."
        )
        failures.append(make_failure(index, combo, error, now, now))
        results[offset] = FAILED
        failed.add(offset)
    return build_block(results, block.start, sorted(failed), failures, block.duration)


class CropSizes:
    """Sizes of the dimensions sized by the results, fixed once for the crop.

    A dimension of an output without ``var_coords`` takes its size from the
    results. Each grower fixes it from its own first good result; so that two
    growers (two processes, two hosts) whose first results differ never both
    write, the first result written fixes it for the whole crop, in a file of
    the crop directory (first writer wins), and every grower checks its
    results against that file before writing them: a result of another size
    is a failure of its combo, and a crop that says it is complete can always
    be reaped.

    Parameters
    ----------
    layout : CropLayout
        The crop directory.
    shapes : dict or None
        What :func:`expected_shapes` gives for the crop's labels.
    salt : callable
        Gives what else decides the results (fingerprints of the function and
        the constants), asked only if some dimension is sized by the results:
        sowing again with other code or constants fixes the sizes afresh,
        extending the same sweep keeps them.
    """

    def __init__(
        self,
        layout: Any,
        shapes: dict[str, tuple | None] | None,
        salt: Callable[[], str] = str,
    ) -> None:
        self._expected = dict(shapes or {})
        self.active = any(w is not None and None in w for w in self._expected.values())
        self.pinned: dict[str, tuple | None] | None = None
        if self.active:
            import hashlib

            key = hashlib.blake2b(
                (repr(sorted(self._expected.items())) + salt()).encode(),
                digest_size=8,
            ).hexdigest()
            self._path = layout.sizes_file(key)

    def check(self, results: list[dict[str, Any]], combos: Any) -> None:
        """Fail, in the result records ``results``, every combo whose outputs
        differ in size from the crop's first result (fixing it if none was)."""
        if not self.active:
            return
        if self.pinned is None:
            self.pinned = self._pin(results)
            if self.pinned is None:
                return  # no good result yet: nothing to compare
        for record in results:
            record["blocks"] = check_blocks(record["blocks"], combos, self.pinned)
            record["failures"] = [f for b in record["blocks"] for f in b.failures]

    def fixed(self) -> dict[str, tuple | None] | None:
        """The sizes already fixed for the crop, or None."""
        from . import records

        return records.read_if_exists(self._path, "sizes") if self.active else None

    def fix(self, sizes: dict[str, tuple | None]) -> None:
        """Fix ``sizes`` (those of results kept by a sowing) unless fixed."""
        from . import records

        if self.active and _sizes_pinned(sizes):
            records.write_linked(
                [str(self._path)], "sizes", sizes, what="sizes of the crop's results"
            )

    def _pin(self, results: list[dict[str, Any]]) -> dict[str, tuple | None] | None:
        from . import records

        pinned = records.read_if_exists(self._path, "sizes")
        if pinned is not None:
            return pinned
        mine = dict(self._expected)
        for record in results:
            for block in record["blocks"]:
                if block.kind != "empty":
                    _pin_sizes(mine, block)
        if any(w is not None and None in w for w in mine.values()):
            return None
        made = records.write_linked(
            [str(self._path)], "sizes", mine, what="sizes of the crop's results"
        )
        return mine if made else records.read(self._path, "sizes")


def first_unfit(
    blocks: list, shapes: dict[str, tuple | None], pinned: dict | None = None
) -> tuple[int, str, dict[str, tuple | None]]:
    """The first result in ``blocks`` that labels ``shapes`` cannot label.

    Used when a sowing keeps results grown under other labels. A dimension
    sized by the results takes its size from ``pinned`` (the crop's sizes
    file, if any) or else from the first good result, as growers do.

    Returns
    -------
    index : int
        The flat index of the first result that does not fit, or -1.
    problem : str
        Why it does not fit (empty if all do).
    sizes : dict
        ``shapes`` with the sizes the results gave (what growers must match).
    """
    index, problem = _scan(blocks, shapes)
    if index >= 0 or _sizes_pinned(shapes):
        return index, problem, dict(shapes)
    want = dict(pinned if pinned is not None else shapes)
    for block in blocks if pinned is None else ():
        if block.kind != "empty":
            _pin_sizes(want, block)
        if _sizes_pinned(want):
            break
    index, problem = _scan(blocks, want)
    return index, problem, want


def _scan(blocks: list, shapes: dict[str, tuple | None]) -> tuple[int, str]:
    """The flat index and problem of the first result ``shapes`` cannot label."""
    for block in blocks:
        if _fast_ok(block, shapes):
            continue
        failed = set(block.failed)
        for offset, value in enumerate(block.values):
            problem = None if offset in failed else _problem(value, shapes)
            if problem is not None:
                return block.start + offset, problem
    return -1, ""


def _sizes_pinned(shapes: dict[str, tuple | None]) -> bool:
    return all(w is None or None not in w for w in shapes.values())


def results_salt(sow: Any) -> str:
    """Fingerprints of what decides a sowing's results besides the combos."""
    from .fingerprint import constants_fingerprint

    return f"{sow.fn_fingerprint}|{constants_fingerprint(sow.constants)}"

"""Sowing: deciding the batches and writing what was sown, in one file.

A grid of combos is not written a pickle per batch: the sow record holds the
grid (names and values) or the cases, the constants, the batch boundaries (a
range of positions per batch, over the flat indices or over a stored
permutation of them when shuffled) and each batch's fingerprint.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..combos import Cases
from ..errors import CropError, FileFormatError, InvalidCombosError
from . import fingerprint as fpr
from . import records
from .import_paths import sown_from
from .layout import CropLayout

#: what a farmer tells about labelling its results (the farmer protocol);
#: ``reap_to_df``: reap rows (a DataFrame, as a Sampler keeps), not a dataset
LABEL_ATTRS = (
    "var_names",
    "var_dims",
    "var_coords",
    "constants",
    "attrs",
    "reap_to_df",
)

#: default batching: one combo per batch up to this many combos, then this many
#: batches of balanced size
DEFAULT_MAX_BATCHES = 1000


class Samples(Cases):
    """Cases that may repeat (random samples often do)."""

    def __init__(self, names: Sequence[str], rows: Sequence[tuple]) -> None:
        self.names = tuple(names)
        self.cases = [tuple(r) for r in rows]
        for i, row in enumerate(self.cases):
            if len(row) != len(self.names):
                raise InvalidCombosError(
                    f"case {i} has {len(row)} values but fn_args names "
                    f"{len(self.names)}: {list(self.names)}."
                )
        self.size = len(self.cases)
        self.shape = (self.size,)


def choose_bounds(
    n: int, batchsize: int | None = None, num_batches: int | None = None
) -> np.ndarray:
    """Batch boundaries over ``n`` positions: batch ``k`` is ``b[k-1]:b[k]``.

    With neither setting, one combo per batch up to 1000 combos, then 1000
    batches whose sizes differ by at most one.
    """
    if n < 1:
        raise InvalidCombosError("nothing to sow: the combos or cases are empty.")
    for label, v in (("batchsize", batchsize), ("num_batches", num_batches)):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < 1):
            raise ValueError(f"{label} must be a positive integer, got {v!r}")
    if (
        batchsize is not None
        and num_batches is not None
        and math.ceil(n / batchsize) != num_batches
    ):
        raise ValueError(
            f"batchsize={batchsize} and num_batches={num_batches} do not fit "
            f"{n} combos; give only one of them."
        )
    if batchsize is not None:
        return np.append(np.arange(0, n, batchsize, dtype=np.int64), n)
    k = min(n, num_batches if num_batches is not None else DEFAULT_MAX_BATCHES)
    size, rem = divmod(n, k)
    sizes = np.full(k, size, dtype=np.int64)
    sizes[:rem] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


@dataclass
class SowRecord:
    """Everything a grower and a reaper need to know about what was sown.

    Attributes
    ----------
    combos : Grid or Cases
        What was sown.
    kind : {"grid", "cases"}
    constants, resources : dict
        Extra arguments of every call (resources are not fingerprinted).
    bounds : numpy.ndarray
        Batch ``k`` (from 1) covers positions ``bounds[k-1]:bounds[k]``.
    order : numpy.ndarray or None
        Flat index at each position (a permutation when shuffled), or None.
    fingerprints : list of str
        Fingerprint of batch ``k`` at ``fingerprints[k-1]``.
    fn_fingerprint, fn_name : str
        The function's code fingerprint and name at sow time.
    fn_saved : bool
        Whether the function is in the crop directory.
    labels : dict
        The farmer's labelling settings (var_names, var_dims, ...) or empty.
    asked : tuple
        ``(batchsize, num_batches, shuffle)`` as asked at sow time, which a
        crop reopened by name sows again with.
    code : dict or None
        The function's source file and the git state of its work tree at
        sow time (see :func:`xsweep.crop.code_info.code_record`).
    """

    combos: Any
    kind: str
    constants: dict[str, Any]
    resources: dict[str, Any]
    bounds: np.ndarray
    order: np.ndarray | None
    fingerprints: list[str]
    fn_fingerprint: str
    fn_name: str
    fn_saved: bool
    labels: dict[str, Any] = field(default_factory=dict)
    farmer_kind: str | None = None
    shuffle_seed: int | None = None
    sow_id: str = ""
    sown_at: float = 0.0
    asked: tuple = (None, None, False)
    code: dict | None = None

    @property
    def num_batches(self) -> int:
        return len(self.bounds) - 1

    @property
    def batchsize(self) -> int:
        """The largest batch size."""
        return int(np.max(np.diff(self.bounds)))

    def check_batch(self, batch_id: int) -> int:
        """``batch_id`` as an int, if it names a sown batch (from 1)."""
        if not isinstance(batch_id, (int, np.integer)) or not (
            1 <= batch_id <= self.num_batches
        ):
            raise CropError(
                f"there is no batch {batch_id!r}: batches are numbered 1 to "
                f"{self.num_batches}."
            )
        return int(batch_id)

    def fingerprint(self, batch_id: int) -> str:
        return self.fingerprints[self.check_batch(batch_id) - 1]

    def runs(self, batch_id: int) -> list[tuple[int, int]]:
        """The batch's flat indices as contiguous ``(start, stop)`` runs."""
        k = self.check_batch(batch_id)
        a, b = int(self.bounds[k - 1]), int(self.bounds[k])
        if self.order is None:
            return [(a, b)]
        idx = np.sort(self.order[a:b])
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        return [(int(r[0]), int(r[-1]) + 1) for r in np.split(idx, breaks) if len(r)]

    def batch_of_flat(self) -> np.ndarray:
        """The batch id (from 1) of every flat index."""
        n = int(self.bounds[-1])
        per_pos = np.repeat(np.arange(1, self.num_batches + 1), np.diff(self.bounds))
        if self.order is None:
            return per_pos
        out = np.empty(n, dtype=np.int64)
        out[self.order] = per_pos
        return out


def _seed_of(hashes: list[np.ndarray]) -> int:
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for a in hashes:
        h.update(np.ascontiguousarray(a).tobytes())
    return int.from_bytes(h.digest(), "little") % 2**32


def make_sow_record(
    combos: Any,
    kind: str,
    constants: dict[str, Any],
    resources: dict[str, Any],
    fn: Callable | None,
    fn_saved: bool,
    *,
    batchsize: int | None,
    num_batches: int | None,
    shuffle: bool | int,
    labels: dict[str, Any],
    farmer_kind: str | None,
    unsaved_fn: tuple[str, str] | None = None,
) -> SowRecord:
    """Decide the batches of ``combos`` and fingerprint them.

    ``unsaved_fn`` is the ``(fingerprint, name)`` of a function that is not at
    hand (``fn`` None): the one a crop sown with ``save_fn=False`` was sown
    with, which growers give.
    """
    n = combos.size
    bounds = choose_bounds(n, batchsize, num_batches)
    fn_fp = fpr.function_fingerprint(fn)
    if fn is None and unsaved_fn is not None:
        fn_fp = unsaved_fn[0]
    salt = fpr.constants_fingerprint(constants) + fn_fp
    if kind == "grid":
        hashes = [fpr.dimension_hashes(v) for v in combos.values]
        shape = tuple(combos.shape)
    else:
        hashes = [fpr.dimension_hashes(combos.cases)]
        shape = None
    seed = None
    order = None
    if shuffle is not False and shuffle is not None:
        # shuffle=True: a seed drawn from the combos themselves, so that sowing
        # the same combos again gives the same batches (and keeps results)
        seed = int(shuffle) if not isinstance(shuffle, bool) else _seed_of(hashes)
        dtype = np.int32 if n < 2**31 else np.int64
        order = np.random.default_rng(seed).permutation(n).astype(dtype)
    fps = fpr.batch_fingerprints(combos.names, hashes, shape, order, bounds, salt)
    return SowRecord(
        combos=combos,
        kind=kind,
        constants=dict(constants),
        resources=dict(resources),
        bounds=bounds,
        order=order,
        fingerprints=fps,
        fn_fingerprint=fn_fp,
        fn_name=unsaved_fn[1] if fn is None and unsaved_fn else _qualified_name(fn),
        fn_saved=fn_saved,
        labels=labels,
        farmer_kind=farmer_kind,
        shuffle_seed=seed,
        sow_id=uuid.uuid4().hex,
        sown_at=time.time(),
        asked=(batchsize, num_batches, shuffle),
    )


def _qualified_name(fn: Callable | None) -> str:
    if fn is None:
        return ""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    module = getattr(fn, "__module__", None)
    if name is None:
        return repr(fn)
    return f"{module}.{name}" if module else name


def write_sow(layout: CropLayout, record: SowRecord, fn: Callable | None) -> None:
    """Write the function (if saved) and then the sow record, the commit point."""
    layout.make_dirs()
    if record.fn_saved:
        import cloudpickle

        try:
            blob = cloudpickle.dumps(fn)
        except Exception as e:
            from ..errors import NotPicklableError

            raise NotPicklableError(
                f"cannot save the function {record.fn_name!r} with cloudpickle "
                f"({type(e).__name__}: {e}); make it picklable, or sow with "
                "save_fn=False and give fn= to every grower."
            ) from e
        records.write(
            layout.function_file(record.fn_fingerprint),
            "function",
            {
                "pickle": blob,
                "fingerprint": record.fn_fingerprint,
                "sys_path": sown_from(fn),  # where its module was importable
            },
        )
    from .code_info import code_record

    if fn is not None or record.code is None:
        record.code = code_record(fn)
    records.write(layout.sow_file, "sow", record, what="combos and constants")


def read_sow(layout: CropLayout) -> SowRecord:
    """The sow record of a crop; a clear error if it was never sown."""
    try:
        record = records.read(layout.sow_file, "sow")
    except FileNotFoundError:
        if layout.reaped_dataset.exists() or layout.reaped_raw.exists():
            raise CropError(
                f"the crop at {layout.location} was reaped and cleaned up: "
                "crop.reap() returns its saved result; sow it again to grow more."
            ) from None
        raise CropError(
            f"the crop at {layout.location} has not been sown (no "
            f"{layout.sow_file.name}); call crop.sow_combos(...) or "
            "crop.sow_cases(...) first."
        ) from None
    if not isinstance(record, SowRecord):
        raise FileFormatError(f"{layout.sow_file} does not hold a sow record.")
    return record


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
) -> tuple[SowRecord, int]:
    """Sow ``combos`` into the crop directory; the record and results removed.

    Results of batches whose fingerprint is unchanged are kept; every other
    result (and any reaped result) is removed once the new sow record is
    written. Without a farmer, ``inherit`` (the sowing of a crop reopened by
    name) gives the constants (as defaults), resources, labels and saved farmer
    of the sowing it replaces, so that sowing the same combos again keeps them
    and every result.
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
    record = make_sow_record(
        combos,
        kind,
        constants,
        resources,
        fn,
        save_fn if save_fn is not None else fn is not None,
        batchsize=batchsize,
        num_batches=num_batches,
        shuffle=shuffle,
        labels=labels,
        farmer_kind=farmer_kind,
        unsaved_fn=(inherit.fn_fingerprint, inherit.fn_name) if inherit else None,
    )
    write_sow(layout, record, fn)
    keep = {(k, fp) for k, fp in enumerate(record.fingerprints, 1)}
    removed = ResultStore(layout).remove_stale(keep)
    for fp, path in layout.list_functions().items():
        if fp != record.fn_fingerprint:
            records.remove(path)
    for path in (layout.reaped_dataset, layout.reaped_raw):
        records.remove(path)
    if farmer is not None or inherit is None:  # else the saved farmer stays
        records.remove(layout.farmer_file)
    if hasattr(farmer, "merge_reaped"):
        _save_farmer(layout, farmer)
    return record, removed


def _save_farmer(layout: CropLayout, farmer: Any) -> None:
    """Save the farmer (for a later reap in another process), if picklable.

    Cloudpickled, as the function is: a function defined in a script or a
    notebook (``__main__``) is saved by value, so another process can load it.
    """
    import warnings

    import cloudpickle

    try:
        blob = cloudpickle.dumps(farmer)
        records.write(layout.farmer_file, "farmer", {"cloudpickle": blob})
    except Exception as e:
        records.remove(layout.farmer_file)
        warnings.warn(
            f"could not save the farmer with the crop ({e}); reap from this "
            "process (or give farmer= to Crop) to merge into its file.",
            stacklevel=3,
        )

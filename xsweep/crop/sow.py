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
from typing import Any, ClassVar

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
    kept : str or None
        Token of the kept file (``results/kept.<kept>.xsk``) holding the
        results carried over from the sowing this one replaced, found by
        combo (see :mod:`xsweep.crop.carry`); the batches cover the rest.
    num_kept : int
        Combos with a kept result.
    fn_parts : dict
        What the function's fingerprint is made of (see
        :func:`~xsweep.crop.fingerprint.function_parts`), to say what changed
        when a grower loads different code.
    code_history : list of dict
        Each function the crop was sown with whose results are kept, oldest
        first: ``fn_fingerprint``, ``fn_name``, ``sown_at`` and ``kept_old``
        (whether results of the code before it were kept, as asked).
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
    kept: str | None = None
    num_kept: int = 0
    fn_parts: dict = field(default_factory=dict)
    code_history: list = field(default_factory=list)
    code: dict | None = None

    #: identity of the file this record was read from (not saved), or None
    file_identity: ClassVar[tuple | None] = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("file_identity", None)  # of the file read, not of one written
        return state

    def __setstate__(self, state: dict) -> None:
        # a record written before these fields existed reads with their defaults
        defaults = {"kept": None, "num_kept": 0, "fn_parts": {}, "code_history": []}
        self.__dict__.update({**defaults, **state})

    @property
    def num_batches(self) -> int:
        return len(self.bounds) - 1

    @property
    def batchsize(self) -> int:
        """The largest batch size (0 when every combo was kept)."""
        return int(np.max(np.diff(self.bounds))) if self.num_batches else 0

    @property
    def num_combos(self) -> int:
        """Combos sown (those kept from an earlier sowing included)."""
        return int(self.combos.size)

    def check_batch(self, batch_id: int) -> int:
        """``batch_id`` as an int, if it names a sown batch (from 1)."""
        if not isinstance(batch_id, (int, np.integer)) or not (
            1 <= batch_id <= self.num_batches
        ):
            if not self.num_batches:
                raise CropError(
                    f"there is no batch {batch_id!r}: every combo kept its result "
                    "when the crop was sown, so there is nothing to grow; reap it."
                )
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
        """The batch id (from 1) of every flat index (0: a kept result)."""
        per_pos = np.repeat(np.arange(1, self.num_batches + 1), np.diff(self.bounds))
        if self.order is None:
            return per_pos
        out = np.zeros(self.num_combos, dtype=np.int64)
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
    todo: np.ndarray | None = None,
    fn_fp: str | None = None,
    fresh: str = "",
) -> SowRecord:
    """Decide the batches of ``combos`` and fingerprint them.

    ``unsaved_fn`` is the ``(fingerprint, name)`` of a function that is not at
    hand (``fn`` None): the one a crop sown with ``save_fn=False`` was sown
    with, which growers give. ``todo`` (flat indices) limits the batches to
    the combos left to compute when the others kept their results.
    ``fresh`` salts the batch fingerprints, so that no result already in the
    crop answers these batches (a failed batch of the same combos, say).
    """
    n = combos.size if todo is None else len(todo)
    bounds = choose_bounds(n, batchsize, num_batches) if n else np.zeros(1, np.int64)
    if fn_fp is None:
        fn_fp = fpr.function_fingerprint(fn)
    if fn is None and unsaved_fn is not None:
        fn_fp = unsaved_fn[0]
    salt = fpr.constants_fingerprint(constants) + fn_fp + fresh
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
        dtype = np.int32 if combos.size < 2**31 else np.int64
        order = np.random.default_rng(seed).permutation(n).astype(dtype)
        if todo is not None:
            order = np.asarray(todo, dtype=dtype)[order]
    elif todo is not None:
        order = np.asarray(todo, dtype=np.int32 if combos.size < 2**31 else np.int64)
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
    """The sow record of a crop; a clear error if it was never sown.

    Its ``file_identity`` is that of the file read (see
    :func:`~xsweep.crop.records.identity`): a grower compares it with a
    ``stat`` of the sow file to notice that the crop was sown again.
    """
    try:
        _, record, ident = records.read_tagged(layout.sow_file, "sow")
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
    record.file_identity = ident
    return record

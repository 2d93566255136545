"""A block: the results of a contiguous range of combos, packed as columns.

Results are packed by the shape of the first successful result of the block:

``"scalar"``
    numbers, strings, booleans: one 1-D column (numpy picks a common dtype,
    e.g. ints and floats give float64).
``"array"``
    arrays or lists of the same shape: one column of shape ``(n, *shape)``.
``"tuple"``
    several outputs: one column per tuple element, each packed as above.
``"object"``
    anything else (dicts, Datasets, ragged arrays, mixed types): one object
    column holding each result as it is.
``"empty"``
    every combo of the block failed: no columns.

Failed combos hold a copy of another result in the columns and are listed in
``failed`` (offsets into the block) and ``failures``. A block pickles compactly
(numpy columns), which is what crosses process boundaries and goes to disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .failures import Failure

#: Placeholder for a failed combo in a list of raw results.
FAILED = type("_Failed", (), {"__repr__": lambda self: "<failed>"})()

_SCALARS = (bool, int, float, complex, str, bytes, np.generic)
_CATEGORY = {
    **dict.fromkeys("biufc", "number"),
    "U": "str",
    "S": "bytes",
    "M": "datetime",
    "m": "timedelta",
    "O": "object",
    "V": "void",
}


@dataclasses.dataclass
class Block:
    """The results of combos ``start..stop`` (flat indices) of one sweep.

    Attributes
    ----------
    start, stop : int
        The flat index range covered.
    kind : str
        How results are packed: ``"scalar"``, ``"array"``, ``"tuple"``,
        ``"object"`` or ``"empty"`` (see the module docstring).
    columns : list of numpy.ndarray
        One column per output, each of length ``stop - start``.
    failed : tuple of int
        Offsets (from ``start``) of the combos that raised.
    failures : list of Failure
        One record per failed combo.
    duration : float
        Wall-clock seconds spent computing the block.
    """

    start: int
    stop: int
    kind: str
    columns: list[np.ndarray]
    failed: tuple[int, ...] = ()
    failures: list[Failure] = dataclasses.field(default_factory=list)
    duration: float = 0.0

    def __reduce__(self) -> tuple:
        # numeric and string columns travel as raw bytes: several times faster
        # to pickle and unpickle than numpy's own array pickling
        columns = [_raw(c) for c in self.columns]
        fields = (self.start, self.stop, self.kind, columns, self.failed)
        return _rebuild, (*fields, self.failures, self.duration)

    @property
    def size(self) -> int:
        """The number of combos covered."""
        return self.stop - self.start

    def __repr__(self) -> str:
        dtypes = ", ".join(str(c.dtype) for c in self.columns)
        return (
            f"Block({self.start}..{self.stop}, {self.kind} [{dtypes}], "
            f"{len(self.failed)} failed, {self.duration:.3g} s)"
        )

    @property
    def values(self) -> list[Any]:
        """Per-combo results in order (``None`` for failed combos)."""
        n = self.size
        if self.kind == "empty":
            return [None] * n
        rows = [_unpack(col) for col in self.columns]
        out: list[Any] = (
            list(zip(*rows, strict=False)) if self.kind == "tuple" else list(rows[0])
        )
        for offset in self.failed:
            out[offset] = None
        return out


_RAW_KINDS = frozenset("biufcUSMm")


def _raw(column: np.ndarray) -> Any:
    """A column as ``(dtype, shape, bytes)`` when that is lossless, else as is."""
    if column.dtype.kind in _RAW_KINDS and column.dtype.names is None:
        return column.dtype.str, column.shape, column.tobytes()
    return column


def _unraw(column: Any) -> np.ndarray:
    if isinstance(column, tuple):
        dtype, shape, data = column
        return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)
    return column


def _rebuild(start, stop, kind, columns, failed, failures, duration) -> Block:
    """Unpickle a :class:`Block` (see ``Block.__reduce__``)."""
    columns = [_unraw(c) for c in columns]
    return Block(start, stop, kind, columns, failed, failures, duration)


def _unpack(column: np.ndarray) -> list:
    if column.dtype.kind != "O" and column.ndim == 1:
        return column.tolist()
    return list(column)


def classify(value: Any, top: bool = True) -> str:
    """The packing kind of one result (``tuple`` only at the top level)."""
    if top and isinstance(value, tuple):
        return "tuple"
    if isinstance(value, np.ndarray):
        return "scalar" if value.ndim == 0 else "array"
    if isinstance(value, _SCALARS):
        return "scalar"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def object_column(items: Sequence[Any]) -> np.ndarray:
    """A 1-D object array holding ``items`` as they are."""
    column = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        column[i] = item
    return column


def _category(dtype: np.dtype) -> str:
    return _CATEGORY.get(dtype.kind, dtype.kind)


def pack_column(items: Sequence[Any], template: Any) -> np.ndarray:
    """Pack one output of many combos like ``template`` (one of them).

    Falls back to an object column whenever numpy would have to change what
    a value means (numbers turned into strings, ragged shapes, ...).
    """
    kind = classify(template, top=False)
    if kind == "object":
        return object_column(items)
    try:
        template_arr = np.asarray(template)
        column = np.asarray(items)
    except (ValueError, TypeError):
        return object_column(items)
    expected = (len(items), *template_arr.shape)
    if column.shape != expected or (
        _category(column.dtype) != _category(template_arr.dtype)
        and _category(column.dtype) != "object"
    ):
        return object_column(items)
    return column


def build_block(
    results: list[Any],
    start: int,
    failed: Sequence[int] = (),
    failures: Sequence[Failure] = (),
    duration: float = 0.0,
) -> Block:
    """Pack raw per-combo ``results`` (``FAILED`` for failures) into a Block."""
    stop = start + len(results)
    failed = tuple(failed)
    template = next((r for r in results if r is not FAILED), FAILED)
    if template is FAILED:
        return Block(start, stop, "empty", [], failed, list(failures), duration)
    for offset in failed:
        results[offset] = template
    kind = classify(template)
    if kind == "tuple":
        width = len(template)
        if set(map(type, results)) == {tuple} and set(map(len, results)) == {width}:
            columns = [
                pack_column(items, item_template)
                for items, item_template in zip(
                    zip(*results, strict=False), template, strict=False
                )
            ]
            if width == 0:
                kind, columns = "object", [object_column(results)]
        else:
            kind, columns = "object", [object_column(results)]
    elif kind == "object":
        columns = [object_column(results)]
    else:
        columns = [pack_column(results, template)]
        if columns[0].dtype.kind == "O" and classify(template) != "object":
            kind = "object"
    return Block(start, stop, kind, columns, failed, list(failures), duration)

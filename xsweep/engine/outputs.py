"""Preallocated numpy arrays that blocks of results are written into."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import OutputMismatchError
from .block import Block, object_column
from .failures import Failure

#: The value a missing or failed entry takes, by dtype kind. Integers and
#: booleans have none: their arrays become float64 (NaN) when something is
#: missing.
_MISSING = {"f": np.nan, "c": complex(np.nan, np.nan), "U": "", "S": b"", "O": None}


def missing_value(dtype: np.dtype) -> Any:
    """The fill value for a missing entry of ``dtype`` (None: there is none)."""
    if dtype.kind in "Mm":
        return np.array("NaT", dtype=dtype)
    return _MISSING.get(dtype.kind)


def _normalise_names(var_names: Any) -> tuple[str, ...] | None:
    if var_names is None:
        return None
    if isinstance(var_names, str):
        return (var_names,)
    return tuple(var_names)


def _normalise_dims(var_dims: Mapping | None, names: tuple | None) -> dict:
    dims = {}
    for name, value in (var_dims or {}).items():
        dims[name] = (value,) if isinstance(value, str) else tuple(value)
    unknown = [n for n in dims if names is None or n not in names]
    if unknown:
        raise OutputMismatchError(
            f"var_dims gives dimensions for {unknown}, which are not in var_names "
            f"{list(names or ())}."
        )
    return dims


class OutputBuffer:
    """One preallocated array per output variable, filled block by block.

    Parameters
    ----------
    combos : Grid, Cases or tuple of int
        What the sweep runs over (only its ``.shape`` is used).
    var_names : str, sequence of str or None
        The outputs. Several names: the function returns a tuple (or a dict)
        with one value per name. One name: the function's result is that
        output. ``None``: results are kept as they come (an array when they
        are numbers or arrays, else an object array, e.g. of Datasets).
    var_dims : dict, optional
        ``{var_name: dims}``: the internal dimensions of array outputs.
    var_coords : dict, optional
        ``{dim: values}``: coordinates of every dimension named in var_dims.

    Attributes
    ----------
    shape : tuple of int
        The combos' shape; each array has shape ``shape + internal shape``.
    failures : list of Failure
        The failed combos seen so far.

    Notes
    -----
    Arrays are allocated on the first block with a result, with the dtype of
    that result; a later result that does not fit (int then float, float
    then complex, a longer string) upgrades the array's dtype instead of
    being truncated. Entries that are missing or failed read as NaN (or the
    dtype's missing value: ``""``, ``None``, NaT); integer and boolean arrays
    with missing entries are returned as float64.
    """

    def __init__(
        self,
        combos: Any,
        var_names: str | Sequence[str] | None = None,
        var_dims: Mapping[str, Sequence[str]] | None = None,
        var_coords: Mapping[str, Sequence] | None = None,
    ) -> None:
        self.shape: tuple[int, ...] = tuple(
            combos if isinstance(combos, tuple) else combos.shape
        )
        self.size = math.prod(self.shape)
        self.var_names = _normalise_names(var_names)
        self.var_dims = _normalise_dims(var_dims, self.var_names)
        # dimensions without coordinates (or None) are sized by the results
        coords = (var_coords or {}).items()
        self.var_coords = {k: v for k, v in coords if v is not None}
        self.failures: list[Failure] = []
        self._done = np.zeros(self.size, dtype=bool)
        self._data: dict[str | None, np.ndarray] | None = None
        self._cache: dict[str | None, np.ndarray] | None = None

    def __repr__(self) -> str:
        if self._data is None:
            outputs = "nothing yet"
        else:
            outputs = ", ".join(
                f"{k}: {a.dtype}{list(a.shape)}" for k, a in self._data.items()
            )
        return (
            f"OutputBuffer({outputs}; {self.size - self.num_missing}/{self.size} "
            f"done, {len(self.failures)} failed)"
        )

    @property
    def keys(self) -> tuple:
        """The keys of :attr:`arrays` (``(None,)`` when var_names is None)."""
        return (None,) if self.var_names is None else self.var_names

    # -- writing --------------------------------------------------------------

    def put_block(self, start: int, block: Block) -> None:
        """Write ``block``'s results at flat indices ``start..start + size``."""
        n = block.size
        if start < 0 or start + n > self.size:
            raise IndexError(f"block {start}..{start + n} outside 0..{self.size}")
        self.failures.extend(block.failures)
        self._cache = None
        if block.kind == "empty":
            self._done[start : start + n] = False
            return
        columns = self._split(block)
        if self._data is None:
            self._allocate(columns, start)
        assert self._data is not None
        for key, column in zip(self.keys, columns, strict=False):
            self._write(key, start, column)
        self._done[start : start + n] = True
        if block.failed:
            failed = np.asarray(block.failed) + start
            self._done[failed] = False
            for key in self.keys:
                self._fill_missing(key, failed)

    def _split(self, block: Block) -> list[np.ndarray]:
        """One column per output, from the block's packing."""
        names, cols, kind = self.var_names, block.columns, block.kind
        if names is None:
            if kind == "tuple":
                return [object_column(block.values)]
            return [cols[0]]
        if len(names) == 1:
            if kind != "tuple":
                return _from_dicts(cols[0], names) or [cols[0]]
            if len(cols) == 1 and not self.var_dims.get(names[0]):
                return cols
            try:
                return [np.stack(cols, axis=-1)]
            except ValueError:
                return [object_column(block.values)]
        if kind == "tuple":
            if len(cols) != len(names):
                raise OutputMismatchError(
                    f"the function returned {len(cols)} values per combo but "
                    f"var_names has {len(names)}: {list(names)}."
                )
            return cols
        if kind == "object":
            split = _from_dicts(cols[0], names)
            if split:
                return split
        first = cols[0][0]
        raise OutputMismatchError(
            f"var_names has {len(names)} outputs {list(names)}, so the function "
            f"must return a tuple of {len(names)} values (or a dict with those "
            f"keys); it returned one value of type {type(first).__name__}: "
            f"{first!r:.80}."
        )

    def _allocate(self, columns: list[np.ndarray], start: int) -> None:
        self._data = {}
        for key, column in zip(self.keys, columns, strict=False):
            self._check_dims(key, column)
            shape = self.shape + column.shape[1:]
            fill = missing_value(column.dtype)
            if fill is None:
                self._data[key] = np.zeros(shape, dtype=column.dtype)
            else:
                self._data[key] = np.full(shape, fill, dtype=column.dtype)

    def _check_dims(self, key: str | None, column: np.ndarray) -> None:
        if key is None:
            return
        dims = self.var_dims.get(key, ())
        internal = column.shape[1:]
        if len(internal) != len(dims):
            hint = f"Set var_dims={{{key!r}: [...one name per axis...]}}"
            if len(self.keys) == 1 and len(internal) == 1 and not dims:
                n = internal[0]
                hint = (
                    f"If the function returns {n} separate outputs, give {n} "
                    f"var_names (one is given: {key!r}); if it returns one array, "
                    f"set var_dims={{{key!r}: ['name of its axis']}}"
                )
            raise OutputMismatchError(
                f"output {key!r} has {len(internal)} internal dimension(s) (shape "
                f"{internal}) on the first result, but var_dims gives {len(dims)}: "
                f"{dims}. {hint}."
            )
        for dim, size in zip(dims, internal, strict=False):
            if dim in self.var_coords and len(self.var_coords[dim]) != size:
                raise OutputMismatchError(
                    f"output {key!r} has {size} values along {dim!r} but "
                    f"var_coords[{dim!r}] has {len(self.var_coords[dim])}."
                )

    def _write(self, key: str | None, start: int, column: np.ndarray) -> None:
        assert self._data is not None
        array = self._data[key]
        if column.shape[1:] != array.shape[len(self.shape) :] and key is None:
            # results kept as they come, of varying shapes: one object each
            array = self._to_objects(key)
            if column.ndim > 1 or column.dtype.kind != "O":
                column = object_column(list(column))
        if column.shape[1:] != array.shape[len(self.shape) :]:
            raise OutputMismatchError(
                f"output {key!r} changed shape: {array.shape[len(self.shape) :]} "
                f"for the first result, {column.shape[1:]} for combo {start} on."
            )
        if not np.can_cast(column.dtype, array.dtype, casting="safe"):
            array = self._upgrade(key, column.dtype)
        self._flat(array)[start : start + len(column)] = column

    def _to_objects(self, key: str | None) -> np.ndarray:
        """Turn ``key``'s array into an object array of one entry per combo."""
        assert self._data is not None
        old = self._data[key]
        if old.dtype.kind == "O" and old.ndim == len(self.shape):
            return old
        flat = self._flat(old)
        new = np.full(self.size, None, dtype=object)
        for i in np.flatnonzero(self._done):
            new[i] = flat[i]
        self._data[key] = new.reshape(self.shape)
        return self._data[key]

    def _flat(self, array: np.ndarray) -> np.ndarray:
        """A view of ``array`` with the combo dimensions flattened into one."""
        return array.reshape((self.size, *array.shape[len(self.shape) :]))

    def _upgrade(self, key: str | None, dtype: np.dtype) -> np.ndarray:
        assert self._data is not None
        old = self._data[key]
        try:
            new = np.result_type(old.dtype, dtype)
        except TypeError:  # e.g. numbers and strings: keep both as objects
            new = np.dtype(object)
        if new.kind in "USO" and old.dtype.kind not in "USO":
            new = np.dtype(object)  # never turn numbers into strings
        upgraded = old.astype(new)
        fill = missing_value(new)
        if fill is not None and missing_value(old.dtype) is None:
            self._flat(upgraded)[~self._done] = fill
        self._data[key] = upgraded
        return upgraded

    def _fill_missing(self, key: str | None, flat_indices: np.ndarray) -> None:
        assert self._data is not None
        array = self._data[key]
        fill = missing_value(array.dtype)
        if fill is not None:
            self._flat(array)[flat_indices] = fill

    # -- reading --------------------------------------------------------------

    @property
    def missing(self) -> list[int]:
        """Flat indices without a result (never computed, or failed)."""
        return np.flatnonzero(~self._done).tolist()

    @property
    def num_missing(self) -> int:
        """How many combos have no result."""
        return int(self.size - np.count_nonzero(self._done))

    @property
    def done_mask(self) -> np.ndarray:
        """Boolean array of the combos' shape: True where there is a result."""
        return self._done.reshape(self.shape)

    @property
    def arrays(self) -> dict[str | None, np.ndarray]:
        """``{var_name: array}`` (key ``None`` when var_names is None).

        Missing entries hold NaN (or the dtype's missing value); integer and
        boolean arrays with missing entries come back as float64.
        """
        if self._cache is not None:
            return self._cache
        if self._data is None:  # nothing succeeded: all NaN, dims from var_coords
            return {
                k: np.full(self.shape + self._inner_shape(k), np.nan) for k in self.keys
            }
        out = {}
        lacking = self.num_missing > 0
        for key, array in self._data.items():
            if lacking and array.dtype.kind == "O":  # objects (tuples, Datasets)
                array = array.copy()  # their gaps: None, never a stale value
                self._flat(array)[~self._done] = None
            elif lacking and missing_value(array.dtype) is None:
                array = array.astype(np.float64)
                self._flat(array)[~self._done] = np.nan
            out[key] = array
        self._cache = out
        return out

    def _inner_shape(self, key: str | None) -> tuple[int, ...]:
        """An output's internal shape, from var_dims and var_coords."""
        dims = self.var_dims.get(key, ()) if key is not None else ()
        unknown = [d for d in dims if d not in self.var_coords]
        if unknown:
            raise OutputMismatchError(
                f"every combo failed or is missing, so nothing tells the length of "
                f"dimension(s) {unknown} of output {key!r}; give var_coords for them."
            )
        return tuple(len(self.var_coords[d]) for d in dims)

    def __getitem__(self, key: str | None) -> np.ndarray:
        return self.arrays[key]

    @property
    def result(self) -> np.ndarray:
        """The single output array (var_names None or a single name)."""
        if len(self.keys) != 1:
            raise ValueError(f"several outputs {self.keys}: use .arrays[name]")
        return self.arrays[self.keys[0]]


def _from_dicts(column: np.ndarray, names: Sequence[str]) -> list[np.ndarray] | None:
    """Columns per name when every entry is a dict with exactly these keys."""
    from .block import pack_column

    if column.dtype.kind != "O" or not len(column):
        return None
    wanted = set(names)
    if not all(isinstance(d, Mapping) and set(d) == wanted for d in column):
        first = column[0]
        if isinstance(first, Mapping) and len(names) > 1:
            raise OutputMismatchError(
                f"the function returned a dict with keys {sorted(first)} but "
                f"var_names is {list(names)}; make them match."
            )
        return None
    return [pack_column([d[n] for d in column], column[0][n]) for n in names]

"""Combos and cases: what a sweep runs over, and the flat index of each point.

A :class:`Grid` is the ordered (C-order) product of a few named value lists; a
:class:`Cases` is an explicit list of argument tuples. Both map a flat index to
one combo (``.combo(i)``) and stream ranges of combos as value tuples
(``.iter_range(start, stop)``), so a sweep of 1e7 points never builds 1e7
dictionaries. Pure Python and numpy only: this module is imported by every
grow process.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import InvalidCombosError

__all__ = [
    "Cases",
    "Grid",
    "case_rows",
    "check_names_disjoint",
    "parse_cases",
    "parse_combos",
]


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _as_values(name: str, values: Any) -> tuple:
    """The values of one dimension as a tuple, or a clear error."""
    if values is Ellipsis:
        raise InvalidCombosError(
            f"combo dimension {name!r} is ... (the values already harvested): "
            "only Harvester.harvest_combos knows them; list the values here."
        )
    if isinstance(values, (str, bytes, Mapping, set, frozenset)) or not isinstance(
        values, Iterable
    ):
        raise InvalidCombosError(
            f"the values for combo dimension {name!r} must be a sequence (list, "
            f"tuple, range or 1-D array), got {_short(values)} of type "
            f"{type(values).__name__}. Wrap a single value as [{_short(values)}], "
            "or pass it in constants= if it should not be a dimension."
        )
    if hasattr(values, "to_numpy"):  # pandas / xarray: their plain values
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise InvalidCombosError(
            f"the values for combo dimension {name!r} must be 1-D, got an array "
            f"of shape {values.shape}."
        )
    values = tuple(values)
    if not values:
        raise InvalidCombosError(
            f"combo dimension {name!r} has no values: give it at least one."
        )
    _check_unique(name, values)
    return values


def _check_unique(name: str, values: tuple) -> None:
    seen: dict[Any, int] = {}
    for position, value in enumerate(values):
        try:
            first = seen.setdefault(value, position)
        except TypeError:  # unhashable values (lists, arrays): not checked
            return
        if first != position:
            raise InvalidCombosError(
                f"combo dimension {name!r} has the value {_short(value)} twice "
                f"(positions {first} and {position}); each value of a dimension "
                "labels one coordinate, so remove the duplicate."
            )


def _compact(values: tuple) -> tuple | np.ndarray:
    """``values`` as one numpy array if they are numpy scalars of one dtype."""
    first = values[0]
    if not isinstance(first, np.generic) or first.dtype.kind not in "biufcMm":
        return values
    dtype = first.dtype
    if all(type(v) is type(first) and v.dtype == dtype for v in values):
        return np.array(values, dtype=dtype)
    return values


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidCombosError(
            f"{what} names must be non-empty strings, got {_short(name)}."
        )
    return name


class Grid:
    """The C-order product of named value lists.

    Parameters
    ----------
    names : sequence of str
        The dimension names, outermost first.
    values : sequence of sequences
        The values of each dimension, in the same order as ``names``.

    Examples
    --------
    >>> g = Grid(["x", "y"], [[1, 2], ["a", "b"]])
    >>> g.shape, g.size, g.combo(3)
    ((2, 2), 4, {'x': 2, 'y': 'b'})
    >>> list(g.iter_range(1, 3))
    [(1, 'b'), (2, 'a')]
    """

    def __init__(self, names: Sequence[str], values: Sequence[Sequence]) -> None:
        names = tuple(_check_name(n, "combo") for n in names)
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise InvalidCombosError(f"combo names given more than once: {dupes}.")
        if len(values) != len(names):
            raise InvalidCombosError(
                f"{len(names)} combo names but {len(values)} value lists."
            )
        self.names: tuple[str, ...]
        self.values: tuple[tuple, ...]
        self.shape: tuple[int, ...]
        self.size: int
        self._set(
            names,
            tuple(_as_values(n, v) for n, v in zip(names, values, strict=True)),
        )

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self.names)

    def __getstate__(self) -> dict:
        # Values that are all numpy scalars of one plain dtype pickle as one
        # array: 8 bytes a float instead of ~19, and 10x faster both ways.
        return {"names": self.names, "values": [_compact(v) for v in self.values]}

    def __setstate__(self, state: dict) -> None:
        # checked when first built: only rebuild the tuples
        self._set(tuple(state["names"]), tuple(tuple(v) for v in state["values"]))

    def _set(self, names: tuple[str, ...], values: tuple[tuple, ...]) -> None:
        self.names = names
        self.values = values
        self.shape = tuple(len(v) for v in values)
        self.size = math.prod(self.shape)
        # strides[k]: how many flat positions one step along dimension k moves
        self._strides = tuple(math.prod(self.shape[k + 1 :]) for k in range(len(names)))

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        dims = ", ".join(
            f"{n}: {s}" for n, s in zip(self.names, self.shape, strict=False)
        )
        return f"Grid({dims}; {self.size} combos)"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Grid)
            and self.names == other.names
            and self.values == other.values
        )

    def __hash__(self) -> int:
        return hash((self.names, self.shape))

    def _check_index(self, i: int) -> int:
        i = int(i)
        if not 0 <= i < self.size:
            raise IndexError(f"flat index {i} out of range for {self.size} combos")
        return i

    def multi_index(self, i: int) -> tuple[int, ...]:
        """The position of flat index ``i`` along each dimension."""
        i = self._check_index(i)
        out = []
        for stride, n in zip(self._strides, self.shape, strict=False):
            out.append((i // stride) % n)
        return tuple(out)

    def flat_index(self, multi_index: Sequence[int]) -> int:
        """The flat (C-order) index of a position along each dimension."""
        return sum(int(k) * s for k, s in zip(multi_index, self._strides, strict=False))

    def args(self, i: int) -> tuple:
        """The values of combo ``i``, as a tuple in ``names`` order."""
        return tuple(
            v[k] for v, k in zip(self.values, self.multi_index(i), strict=False)
        )

    def combo(self, i: int) -> dict[str, Any]:
        """The ``i``-th combo (C order) as a ``{name: value}`` dict."""
        return dict(zip(self.names, self.args(i), strict=False))

    def iter_range(self, start: int = 0, stop: int | None = None) -> Iterator[tuple]:
        """Stream the value tuples of flat indices ``start..stop`` (C order).

        Nothing is materialised: each tuple is built as it is consumed.
        """
        stop = self.size if stop is None else min(int(stop), self.size)
        start = max(int(start), 0)
        if start >= stop:
            return iter(())
        return _product_range(self.values, start, stop)


def _product_range(values: tuple[tuple, ...], start: int, stop: int) -> Iterator:
    """The value tuples of flat positions ``start..stop`` of a C-order product.

    The range is cut into a few boxes (products of singletons, slices and
    whole dimensions; at most two per dimension), each streamed by
    ``itertools.product``: every tuple is built in C.
    """
    boxes = _boxes(values, start, stop)
    if len(boxes) == 1:
        return itertools.product(*boxes[0])
    return itertools.chain.from_iterable(itertools.starmap(itertools.product, boxes))


def _boxes(values: tuple[tuple, ...], start: int, stop: int) -> list[tuple]:
    if not values:
        return [()]
    head, rest = values[0], values[1:]
    inner = math.prod(len(v) for v in rest)
    i0, r0 = divmod(start, inner)
    i1, r1 = divmod(stop, inner)
    if i0 == i1:  # start and stop inside the same outer row
        return [((head[i0],), *box) for box in _boxes(rest, r0, r1)]
    boxes = []
    if r0:
        boxes += [((head[i0],), *box) for box in _boxes(rest, r0, inner)]
        i0 += 1
    if i1 > i0:
        boxes.append((head[i0:i1], *rest))
    if r1:
        boxes += [((head[i1],), *box) for box in _boxes(rest, 0, r1)]
    return boxes


class Cases:
    """An explicit list of cases: argument tuples for the same names.

    Parameters
    ----------
    names : sequence of str
        The argument names (``fn_args``).
    cases : sequence of tuples
        One tuple of values per case, in ``names`` order.
    """

    def __init__(self, names: Sequence[str], cases: Sequence[Sequence]) -> None:
        names = tuple(_check_name(n, "fn_args") for n in names)
        if len(set(names)) != len(names):
            raise InvalidCombosError(f"fn_args has a repeated name: {names}.")
        self.names: tuple[str, ...] = names
        rows = []
        for i, case in enumerate(cases):
            row = tuple(case)
            if len(row) != len(names):
                raise InvalidCombosError(
                    f"case {i} ({_short(case)}) has {len(row)} values but fn_args "
                    f"names {len(names)}: {list(names)}."
                )
            rows.append(row)
        _check_unique("cases", tuple(rows))
        self.cases: list[tuple] = rows
        self.size: int = len(rows)
        self.shape: tuple[int, ...] = (self.size,)

    @property
    def ndim(self) -> int:
        """Always 1: cases run along a single flat dimension."""
        return 1

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Cases({', '.join(self.names)}; {self.size} cases)"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Cases)
            and self.names == other.names
            and self.cases == other.cases
        )

    def __hash__(self) -> int:
        return hash((self.names, self.size))

    def args(self, i: int) -> tuple:
        """The values of case ``i``, in ``names`` order."""
        return self.cases[int(i)]

    def combo(self, i: int) -> dict[str, Any]:
        """Case ``i`` as a ``{name: value}`` dict."""
        return dict(zip(self.names, self.cases[int(i)], strict=False))

    def iter_range(self, start: int = 0, stop: int | None = None) -> Iterator[tuple]:
        """Stream the value tuples of cases ``start..stop``."""
        stop = self.size if stop is None else min(int(stop), self.size)
        return iter(self.cases[max(int(start), 0) : stop])


def parse_combos(combos: Any) -> Grid:
    """Turn user input into a :class:`Grid`.

    Parameters
    ----------
    combos : dict, sequence of (name, values) pairs, one such pair, or Grid
        Each dimension's values must be a sequence (list, tuple, range, 1-D
        array); the first dimension is the outermost.

    Raises
    ------
    InvalidCombosError
        For scalar values, empty or 2-D values, repeated names, or a value that
        appears twice in one dimension.
    """
    if isinstance(combos, Grid):
        return combos
    if combos is None:
        return Grid((), ())
    if isinstance(combos, Mapping):
        items = list(combos.items())
    elif _is_bare_pair(combos):  # ("x", [1, 2, 3]): one dimension, as xyzpy takes
        items = [tuple(combos)]
    else:
        try:
            items = [tuple(pair) for pair in combos]
        except TypeError:
            items = None
        if items is None or any(len(pair) != 2 for pair in items):
            raise InvalidCombosError(
                "combos must be a dict {name: values} or a sequence of "
                f"(name, values) pairs, got {_short(combos)}."
            )
    return Grid([name for name, _ in items], [values for _, values in items])


def _is_bare_pair(combos: Any) -> bool:
    """Whether ``combos`` is one ``(name, values)`` pair rather than a sequence."""
    return (
        isinstance(combos, (tuple, list))
        and len(combos) == 2
        and isinstance(combos[0], str)
        and not isinstance(combos[1], (str, bytes))
    )


def case_rows(
    fn_args: str | Sequence[str] | None, cases: Iterable
) -> tuple[tuple[str, ...], list[tuple]]:
    """The argument names and value tuples of ``cases``, in any form.

    Parameters
    ----------
    fn_args : str, sequence of str or None
        The argument names. A single string means each case is one value.
        May be None when every case is a dict (the first dict's keys).
    cases : iterable
        One tuple of values per case (one value if ``fn_args`` is a str), or
        one ``{name: value}`` dict per case.
    """
    if isinstance(cases, Cases):
        return cases.names, list(cases.cases)
    cases = list(cases)
    if cases and all(isinstance(c, Mapping) for c in cases):
        if isinstance(fn_args, str):
            names: tuple[str, ...] = (fn_args,)
        else:
            names = tuple(fn_args) if fn_args is not None else tuple(cases[0])
        rows = []
        for i, case in enumerate(cases):
            if set(case) != set(names):
                raise InvalidCombosError(
                    f"case {i} has arguments {sorted(case)} but the cases are for "
                    f"{sorted(names)}; every case must give the same arguments."
                )
            rows.append(tuple(case[n] for n in names))
        return names, rows
    if fn_args is None:
        raise InvalidCombosError(
            "cases given as tuples need fn_args naming their values, e.g. "
            "fn_args=['a', 'b']; or give each case as a dict."
        )
    if isinstance(fn_args, str):
        return (fn_args,), [(c,) for c in cases]
    names = tuple(fn_args)
    rows = []
    for case in cases:
        if isinstance(case, (str, bytes)) or not isinstance(case, Iterable):
            if len(names) != 1:
                raise InvalidCombosError(
                    f"each case must be a tuple of {len(names)} values for "
                    f"{list(names)}, got {_short(case)}."
                )
            case = (case,)
        rows.append(tuple(case))
    return names, rows


def parse_cases(fn_args: str | Sequence[str] | None, cases: Iterable) -> Cases:
    """Turn ``fn_args`` and ``cases`` into :class:`Cases`.

    Parameters
    ----------
    fn_args : str, sequence of str or None
        The argument names. A single string means each case is one value;
        None when the cases are dicts.
    cases : iterable
        One tuple per case (or one value per case if ``fn_args`` is a str),
        or one ``{name: value}`` dict per case.
    """
    if isinstance(cases, Cases):
        return cases
    return Cases(*case_rows(fn_args, cases))


def check_names_disjoint(**groups: Iterable[str] | None) -> None:
    """Raise if any name appears in two groups (e.g. combos and constants).

    Examples
    --------
    >>> check_names_disjoint(combos=["x"], constants={"y": 1}, resources=None)
    """
    owner: dict[str, str] = {}
    for group, names in groups.items():
        for name in names or ():
            if name in owner:
                raise InvalidCombosError(
                    f"{name!r} is given both in {owner[name]} and in {group}; "
                    "each argument must come from exactly one place."
                )
            owner[name] = group

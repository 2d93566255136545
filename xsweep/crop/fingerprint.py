"""Fingerprints: of a function's code, of constants, and of each batch.

A batch fingerprint hashes the combos in the batch (their names and values, in
order), where they sit in the grid (their flat indices: a result is placed by
them), the constants and the function's fingerprint. A result records the
fingerprint of the batch it answers, so re-sowing different combos never lets
an old result be reaped under new labels (nor the same combos, moved elsewhere
in the grid, at their old place), while re-sowing the same combos gives the
same fingerprints and keeps the results.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: hex digits of a batch fingerprint kept in file names
FP_LEN = 16


def _digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def value_bytes(value: Any) -> bytes:
    """Stable bytes standing for ``value`` (its pickle, numpy arrays by content)."""
    if isinstance(value, np.ndarray):
        return (
            b"nd"
            + str(value.dtype).encode()
            + repr(value.shape).encode()
            + (np.ascontiguousarray(value).tobytes())
        )
    try:
        return pickle.dumps(value, protocol=4)
    except Exception:
        import cloudpickle

        try:
            return cloudpickle.dumps(value, protocol=4)
        except Exception as e:
            from ..errors import NotPicklableError

            raise NotPicklableError(
                f"cannot pickle the value {value!r:.80} ({type(e).__name__}: {e}); "
                "every combo value and constant of a crop must be picklable."
            ) from e


def _code_bytes(code: types.CodeType) -> bytes:
    parts = [
        code.co_code,
        repr(code.co_names).encode(),
        repr(code.co_varnames).encode(),
    ]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(_code_bytes(const))
        else:
            parts.append(repr(const).encode())
    return b"\0".join(parts)


_PLAIN = (int, float, complex, str, bytes, bool, type(None), np.generic)
_MAX_ARRAY_BYTES = 1 << 20


def _data_bytes(value: Any) -> bytes | None:
    """Bytes for plain data a function reads (None for anything else)."""
    if isinstance(value, _PLAIN) or (
        isinstance(value, (tuple, frozenset))
        and all(isinstance(v, _PLAIN) for v in value)
    ):
        return repr(value).encode()
    if isinstance(value, np.ndarray) and value.nbytes <= _MAX_ARRAY_BYTES:
        return value_bytes(value)
    return None


def _global_names(code: types.CodeType) -> list[str]:
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return names


def _fn_parts(fn: Any, depth: int, seen: set[int]) -> list[bytes]:
    """What a function's results depend on: its code, defaults, closure, the
    plain-data globals it reads, and (to ``depth``) the functions it calls."""
    if id(fn) in seen:
        return [b"<seen>"]
    seen.add(id(fn))
    parts: list[bytes] = []
    while isinstance(fn, functools.partial):
        parts.append(value_bytes((fn.args, sorted(fn.keywords.items()))))
        fn = fn.func
    code = getattr(fn, "__code__", None)
    if code is None:
        call = getattr(type(fn), "__call__", None)  # noqa: B004
        if call is None or not hasattr(call, "__code__"):
            return [*parts, value_bytes(fn)]
        state = getattr(fn, "__dict__", {})
        parts.append(_data_bytes(tuple(sorted(map(repr, state.items())))) or b"")
        fn, code = call, call.__code__
    name = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"
    parts += [name.encode(), _code_bytes(code)]
    parts.append(repr((fn.__defaults__, fn.__kwdefaults__)).encode())
    cells = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # an empty cell
            cells.append(None)
    namespace = getattr(fn, "__globals__", {})
    used = [(n, namespace[n]) for n in _global_names(code) if n in namespace]
    for label, value in [("cell", v) for v in cells] + used:
        if isinstance(value, (types.FunctionType, functools.partial)):
            if depth > 0:
                parts += [str(label).encode(), *_fn_parts(value, depth - 1, seen)]
            continue
        data = _data_bytes(value)
        if data is not None:
            parts += [str(label).encode(), data]
    return parts


def function_fingerprint(fn: Callable | None) -> str:
    """A fingerprint of what a function computes.

    It covers the function's name, code, defaults and closure, the plain data
    (numbers, strings, small arrays) it reads from its module, and, a few calls
    deep, the functions it calls, so that changing any of them (or a partial's
    arguments) changes the fingerprint, while unpickling the same function
    elsewhere does not.
    """
    if fn is None:
        return "none"
    return _digest(*_fn_parts(fn, 3, set()))


def constants_fingerprint(constants: dict[str, Any]) -> str:
    """A fingerprint of a constants mapping (order-independent)."""
    return _digest(
        *(k.encode() + b"=" + value_bytes(v) for k, v in sorted(constants.items()))
    )


def dimension_hashes(values: Sequence[Any]) -> np.ndarray:
    """One 64-bit hash per value of a dimension (or per case)."""
    out = np.empty(len(values), dtype=np.uint64)
    for i, v in enumerate(values):
        out[i] = int.from_bytes(
            hashlib.blake2b(value_bytes(v), digest_size=8).digest(), "little"
        )
    return out


def batch_fingerprints(
    names: Sequence[str],
    value_hashes: Sequence[np.ndarray],
    shape: tuple[int, ...] | None,
    order: np.ndarray | None,
    bounds: np.ndarray,
    salt: str,
) -> list[str]:
    """The fingerprint of every batch, vectorised.

    Parameters
    ----------
    names
        The argument names of the combos (or cases).
    value_hashes
        For a grid, one hash array per dimension; for cases, a single array
        with one hash per case (and ``shape`` None).
    shape
        The grid shape, or None for cases.
    order
        The flat indices in batch order (a permutation when shuffled), or None
        for ``0..n-1``.
    bounds
        Batch ``k`` (from 1) covers positions ``bounds[k-1]:bounds[k]`` of the
        order.
    salt
        Fingerprint of everything else that defines the results: constants and
        the function.
    """
    n = int(bounds[-1])
    flat = np.arange(n, dtype=np.int64) if order is None else order
    if shape is None:
        cols = [value_hashes[0][flat]]
    else:
        idx = np.unravel_index(flat, shape) if len(shape) else ()
        cols = [h[i] for h, i in zip(value_hashes, idx, strict=True)]
    table = np.stack(cols, axis=1) if cols else np.zeros((n, 0), np.uint64)
    head = (salt + "|" + ",".join(names)).encode()
    # where the batch's results go (flat indices): positions a..b, or their
    # shuffled flat indices
    where = None if order is None else np.ascontiguousarray(order, dtype=np.int64)
    fps = []
    for k in range(len(bounds) - 1):
        a, b = int(bounds[k]), int(bounds[k + 1])
        values = np.ascontiguousarray(table[a:b]).tobytes()
        place = f"{a}:{b}".encode() if where is None else where[a:b].tobytes()
        fps.append(_digest(head, values, place)[:FP_LEN])
    return fps

"""Fingerprints: of a function's code, of constants, of each batch, of combos.

A batch fingerprint hashes the combos in the batch (their names and values, in
order), where they sit in the grid (their flat indices: a result is placed by
them), the constants and the function's fingerprint. A result records the
fingerprint of the batch it answers, so a result is never reaped under another
batch's labels. A combo key (:func:`combo_keys`) stands for one combo and the
constants wherever it sits: sowing again keeps results by it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
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


#: the instructions that name a global (not an attribute: ``np.ones`` reads
#: the global ``np`` and the attribute ``ones``)
_GLOBAL_OPS = frozenset(("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"))


def _global_names(code: types.CodeType) -> list[str]:
    """The globals a function's code reads (nested functions' included), as
    cloudpickle captures them: a function saved by value fingerprints the
    same once loaded elsewhere."""
    import dis

    names = [i.argval for i in dis.get_instructions(code) if i.opname in _GLOBAL_OPS]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return list(dict.fromkeys(names))


def _all_names(code: types.CodeType) -> list[str]:
    """Every global and attribute name the code uses (nested code included)."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _all_names(const)
    return list(dict.fromkeys(names))


#: how many calls deep the functions a function calls are fingerprinted
CALL_DEPTH = 4


@functools.lru_cache(maxsize=1024)
def _is_user_file(path: str) -> bool:
    """Whether a module file is the user's own: not the standard library nor
    an installed package (under Python's prefixes, or in site-packages), not
    xsweep."""
    real = os.path.realpath(path)
    if "site-packages" in real or "dist-packages" in real:
        return False
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        if real.startswith(os.path.realpath(prefix) + os.sep):
            return False
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    return not real.startswith(here + os.sep)


def _is_user_module(module: Any) -> bool:
    path = getattr(module, "__file__", None)
    return bool(path) and _is_user_file(path)


def _defined_by_user(fn: Any) -> bool:
    """Whether ``fn`` comes from the user's code (or from no importable module)."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is None or getattr(module, "__name__", "") == "__main__":
        return True
    return _is_user_module(module)


def _label(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"


def _fn_parts(fn: Any, depth: int, seen: set[int], out: dict[str, list[bytes]]) -> str:
    """Add what a function's results depend on to ``out``, under its name: its
    code, defaults, closure, the plain-data globals it reads, the attributes
    it reads of the user's own modules, and (to ``depth``) the user's functions
    it calls, each under its own name. Returns the name used."""
    prefix: list[bytes] = []
    while isinstance(fn, functools.partial):
        prefix.append(value_bytes((fn.args, sorted(fn.keywords.items()))))
        fn = fn.func
    label = _label(fn)
    while label in out:  # another function of the same name (a lambda, ...)
        label += "'"
    seen.add(id(fn))
    parts = out.setdefault(label, prefix)
    code = getattr(fn, "__code__", None)
    if code is None:
        call = getattr(type(fn), "__call__", None)  # noqa: B004
        if call is None or not hasattr(call, "__code__"):
            parts.append(value_bytes(fn))
            return label
        state = getattr(fn, "__dict__", {})
        parts.append(_data_bytes(tuple(sorted(map(repr, state.items())))) or b"")
        fn, code = call, call.__code__
    parts += [_label(fn).encode(), _code_bytes(code)]
    parts.append(repr((fn.__defaults__, fn.__kwdefaults__)).encode())
    cells = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # an empty cell
            cells.append(None)
    names = _global_names(code)
    namespace = getattr(fn, "__globals__", {})
    used = [(n, namespace[n]) for n in names if n in namespace]
    for name, value in [("cell", v) for v in cells] + used:
        if isinstance(value, types.ModuleType):
            if _is_user_module(value):  # helper.g(...): what it reads of helper
                parts.append(f"module {value.__name__}".encode())
                attrs = [
                    (f"{name}.{a}", getattr(value, a, _MISSING_ATTR))
                    for a in _all_names(code)
                ]
                parts += _values(attrs, depth, seen, out, own=False)
            continue
        parts += _values([(name, value)], depth, seen, out)
    return label


def _values(pairs, depth: int, seen: set[int], out: dict, own: bool = True) -> list:
    """The parts of the values a function reads (functions by reference)."""
    parts: list[bytes] = []
    for name, value in pairs:
        if value is _MISSING_ATTR:
            continue
        if isinstance(value, (types.FunctionType, functools.partial)):
            inner = value
            while isinstance(inner, functools.partial):
                inner = inner.func
            if depth > 0 and id(inner) not in seen and _defined_by_user(inner):
                called = _fn_parts(value, depth - 1, seen, out)
                parts.append(f"{name} -> {called}".encode())
            elif own or _defined_by_user(inner):
                parts.append(f"{name} -> {_label(inner)}".encode())
            continue
        data = _data_bytes(value)
        if data is not None:
            parts += [str(name).encode(), data]
    return parts


_MISSING_ATTR = object()


def function_parts(fn: Callable) -> dict[str, list[bytes]]:
    """What a function computes with, by name: see :func:`function_fingerprint`."""
    out: dict[str, list[bytes]] = {}
    _fn_parts(fn, CALL_DEPTH, set(), out)
    return out


def digest_parts(parts: dict[str, list[bytes]]) -> str:
    """The function fingerprint of :func:`function_parts`."""
    flat: list[bytes] = []
    for label, items in parts.items():
        flat += [label.encode(), _digest(*items).encode()]
    return _digest(*flat)


def part_digests(parts: dict[str, list[bytes]]) -> dict[str, str]:
    """A short digest of each named part, to tell which one changed."""
    return {label: _digest(*items)[:12] for label, items in parts.items()}


def function_fingerprint(fn: Callable | None) -> str:
    """A fingerprint of what a function computes.

    It covers the function's name, code, defaults and closure, the plain data
    (numbers, strings, small arrays) it reads from its module, the functions
    and data it reads from the user's own modules (``helper.g``; not the
    standard library nor installed packages), and, a few calls deep, the
    user's functions it calls, so that changing any of them (or a partial's
    arguments) changes the fingerprint, while unpickling the same function
    elsewhere does not.
    """
    if fn is None:
        return "none"
    return digest_parts(function_parts(fn))


def changed_parts(sown: dict[str, str], now: dict[str, str]) -> list[str]:
    """What differs between two :func:`part_digests`, in words."""
    out = [f"{k} changed" for k in sown if k in now and sown[k] != now[k]]
    out += [f"{k} is new" for k in now if k not in sown]
    out += [f"{k} is gone" for k in sown if k not in now]
    return out


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


# ------------------------------------------------------------ combo keys
#: odd multipliers of the two 64-bit lanes of a combo key
_LANES = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_SHIFT = np.uint64(31)


def _named_value_hash(name: str, value: Any) -> tuple[int, int]:
    """128 bits standing for ``name=value`` (numpy scalars as Python values)."""
    if isinstance(value, np.generic):
        value = value.item()
    digest = hashlib.blake2b(
        name.encode() + b"=" + value_bytes(value), digest_size=16
    ).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


def _mix(h: np.ndarray, x: np.ndarray, lane: int) -> np.ndarray:
    """One step of a lane: a bijection of ``h`` for each ``x`` (and of ``x``)."""
    h = (h ^ x) * _LANES[lane]
    return h ^ (h >> _SHIFT)


def combo_keys(combos: Any, constants: dict[str, Any]) -> np.ndarray:
    """The identity of every combo: 128 bits per combo, shape ``(size, 2)``.

    A key stands for the combo's ``name=value`` pairs (in any order: a grid
    and a list of cases give the same key to the same combo) and the
    constants, not for where the combo sits; the function is kept apart (a
    result records which code produced it). Re-sowing finds the results of
    unchanged combos by key, wherever the combos have moved.
    """
    seed = constants_fingerprint(constants)
    seeds = [np.uint64(int(seed[i : i + 16], 16)) for i in (0, 16)]
    names = list(combos.names)
    order = sorted(range(len(names)), key=names.__getitem__)
    grid = not hasattr(combos, "cases")
    if grid:
        shape = tuple(combos.shape)
        columns = [combos.values[i] for i in order]
    else:
        shape = (combos.size,)
        columns = [[case[i] for case in combos.cases] for i in order]
    hashes = [
        np.array([_named_value_hash(names[i], v) for v in col], np.uint64).reshape(
            -1, 2
        )
        for i, col in zip(order, columns, strict=True)
    ]
    lanes = []
    for lane in (0, 1):
        h = np.full(shape, seeds[lane], dtype=np.uint64)
        for i, hv in zip(order, hashes, strict=True):
            x = hv[:, lane]
            if grid:
                x = x.reshape([-1 if a == i else 1 for a in range(len(shape))])
            h = _mix(h, x, lane)
        lanes.append(h.reshape(-1))
    return np.stack(lanes, axis=1) if lanes[0].size else np.zeros((0, 2), np.uint64)

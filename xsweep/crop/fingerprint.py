"""Fingerprints: of a function's code, of constants, and of each batch.

A batch fingerprint hashes the combos in the batch (their names and values, in
order), the constants and the function's fingerprint. A result records the
fingerprint of the batch it answers, so re-sowing different combos never lets
an old result be reaped under new labels, while re-sowing the same combos gives
the same fingerprints and keeps the results.
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


def function_fingerprint(fn: Callable | None) -> str:
    """A fingerprint of a function's code (and of a partial's arguments).

    Two functions with the same name, code, constants and defaults get the same
    fingerprint, wherever they were defined or unpickled.
    """
    if fn is None:
        return "none"
    parts: list[bytes] = []
    target: Any = fn
    while isinstance(target, functools.partial):
        parts.append(value_bytes((target.args, sorted(target.keywords.items()))))
        target = target.func
    code = getattr(target, "__code__", None)
    if code is None and callable(target):
        code = getattr(getattr(target, "__call__", None), "__code__", None)  # noqa: B004
    if code is not None:
        name = (
            f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
        )
        parts += [name.encode(), _code_bytes(code)]
        defaults = getattr(target, "__defaults__", None)
        kwdefaults = getattr(target, "__kwdefaults__", None)
        try:
            parts.append(value_bytes((defaults, kwdefaults)))
        except Exception:
            parts.append(repr((defaults, kwdefaults)).encode())
    else:
        parts.append(value_bytes(target))
    return _digest(*parts)


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
    fps = []
    for k in range(len(bounds) - 1):
        a, b = int(bounds[k]), int(bounds[k + 1])
        fps.append(_digest(head, np.ascontiguousarray(table[a:b]).tobytes())[:FP_LEN])
    return fps

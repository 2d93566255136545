"""Run a function over a range of combos in this process, fast.

The hot loop is generated source, compiled once per (argument names, constant
names, mode) and cached: it unpacks each value tuple streamed by
``combos.iter_range`` straight into keyword arguments, e.g. ::

    for _a0, _a1 in _it:
        _append(_fn(x=_a0, y=_a1, alpha=_k0))

so there is no per-combo dict, no per-combo indirection and no per-combo
numpy call. Results are appended to a list that the caller packs into a
:class:`~xsweep.engine.block.Block` (numpy columns) every chunk, which keeps
memory to the output arrays plus one chunk of Python objects.

Modes: ``"raise"`` stops at the first exception and raises
:class:`~xsweep.errors.ComboFailedError`; ``"record"`` times each call,
keeps going and records a :class:`Failure` per exception (``sys.exit()``
in the function too); ``"stop"`` stops at
the first exception and returns it with the block (used by workers, so the
parent can raise).
"""

from __future__ import annotations

import functools
import keyword
import time
from collections.abc import Callable, Mapping
from typing import Any

from .block import FAILED, Block, build_block
from .failures import Failure, make_failure, raise_combo_failed

MODES = ("raise", "record", "stop")


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


@functools.lru_cache(maxsize=256)
def _make_loop(
    names: tuple[str, ...], extra: tuple[str, ...], record: bool
) -> Callable:
    """Compile the loop for these argument names (see the module docstring)."""
    args = [f"_a{i}" for i in range(len(names))]
    consts = [f"_k{i}" for i in range(len(extra))]
    lines = ["def _loop(_fn, _it, _out, _c, _fail, _clock):"]
    if all(_identifier(n) for n in names + extra):
        keywords = [f"{n}={a}" for n, a in zip(names, args, strict=False)]
        keywords += [f"{n}={k}" for n, k in zip(extra, consts, strict=False)]
        call = f"_fn({', '.join(keywords)})"
        if consts:
            lines.append(f"    {', '.join(consts)}, = _c")
    else:  # names that are not identifiers can only be passed through a dict
        call = "_fn(**dict(zip(_names, _args)), **_extra)"
        lines.append("    _extra = dict(zip(_extra_names, _c))")
    lines.append("    _append = _out.append")
    if call.endswith("**_extra)"):
        lines.append("    for _args in _it:")
        packed = "_args"
    else:
        lines.append(f"    for {''.join(a + ', ' for a in args) or '_'} in _it:")
        packed = f"({''.join(a + ', ' for a in args)})"
    if record:
        lines += [
            "        _t = _clock()",
            "        try:",
            f"            _append({call})",
            "        except _CATCH as _e:",
            f"            _fail(len(_out), {packed}, _e, _t)",
            "            _append(_FAILED)",
        ]
    else:
        lines.append(f"        _append({call})")
    namespace: dict[str, Any] = {
        "_FAILED": FAILED,
        "_CATCH": (Exception, SystemExit),
        "_names": names,
        "_extra_names": extra,
    }
    exec(compile("\n".join(lines), f"<xsweep loop {len(names)}>", "exec"), namespace)
    return namespace["_loop"]


def run_range(
    fn: Callable,
    combos: Any,
    start: int,
    stop: int,
    extra: Mapping[str, Any],
    mode: str = "raise",
) -> tuple[Block, BaseException | None]:
    """Run combos ``start..stop`` in this process (no validation).

    Returns the block and, in ``"stop"`` mode, the exception that stopped it
    (``None`` otherwise).
    """
    if mode not in MODES:
        raise ValueError(f"on_error must be 'raise' or 'record', got {mode!r}")
    names = tuple(combos.names)
    loop = _make_loop(names, tuple(extra), mode == "record")
    results: list[Any] = []
    failed: list[int] = []
    failures: list[Failure] = []

    def fail(offset: int, args: tuple, exc: BaseException, t0: float) -> None:
        began = wall0 + (t0 - clock0)
        ended = wall0 + (time.perf_counter() - clock0)
        combo = dict(zip(names, args, strict=False))
        failed.append(offset)
        failures.append(make_failure(start + offset, combo, exc, began, ended))

    wall0, clock0 = time.time(), time.perf_counter()
    values = tuple(extra.values())
    it = combos.iter_range(start, stop)
    stopped: BaseException | None = None
    try:
        loop(fn, it, results, values, fail, time.perf_counter)
    except Exception as exc:
        index = start + len(results)
        now = time.time()
        failure = make_failure(index, combos.combo(index), exc, now, now)
        if mode == "raise":
            raise_combo_failed(failure, combos.size, exc)
        failed.append(len(results))
        failures.append(failure)
        results.append(FAILED)
        stopped = exc
    duration = time.perf_counter() - clock0
    return build_block(results, start, failed, failures, duration), stopped


def compute_block(
    fn: Callable,
    combos: Any,
    start: int,
    stop: int,
    *,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    on_error: str = "raise",
) -> Block:
    """Run combos ``start..stop`` (flat indices) of ``combos`` in this process.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**combo, **constants, **resources)``.
    combos : Grid or Cases
        What to run over (see :mod:`xsweep.combos`).
    start, stop : int
        The flat index range.
    constants, resources : dict, optional
        Extra keyword arguments passed to every call.
    on_error : {"raise", "record"}
        ``"raise"``: raise :class:`~xsweep.errors.ComboFailedError` naming
        the combo, the original exception chained. ``"record"``: keep going;
        the block lists a :class:`Failure` per failed combo.

    Returns
    -------
    Block
        The packed results.
    """
    from .validate import check_signature

    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    extra = {**(constants or {}), **(resources or {})}
    check_signature(fn, combos.names, constants, resources)
    stop = min(int(stop), combos.size)
    block, _ = run_range(fn, combos, int(start), stop, extra, on_error)
    return block

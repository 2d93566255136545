"""Running a sweep through the engine, shared by every runner.

Run settings (with xyzpy's aliases), cases given as dicts or tuples
(:func:`to_cases`) and shuffled evaluation order: what
:mod:`~xsweep.farming.functions` (labelled results),
:mod:`~xsweep.farming.raw` (nested tuples, rows) and the Sampler have in
common. The run settings are described in :mod:`xsweep.farming.functions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..combos import Cases, Grid, check_names_disjoint, parse_cases

__all__ = ["SETTINGS", "to_cases"]

#: keyword arguments understood as run settings, with xyzpy's older aliases
SETTINGS = (
    "verbosity",
    "progbar",
    "num_workers",
    "num_threads",
    "parallel",
    "executor",
    "on_error",
    "chunksize",
    "in_process_below",
    "shuffle",
)


def _settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise run settings (aliases, progbar) and reject unknown names."""
    out = {}
    for key, value in settings.items():
        if key == "pool":
            out["executor"] = value
        elif key == "hide_progbar":
            out["progbar"] = not value
        elif key in SETTINGS:
            out[key] = value
        else:
            raise TypeError(
                f"unknown run setting {key!r}; the settings are {list(SETTINGS)}."
            )
    progbar = out.pop("progbar", None)
    verbosity = out.get("verbosity", 0)
    if progbar is not None:
        out["verbosity"] = max(int(verbosity), 1) if progbar else 0
    return out


def to_cases(
    cases: Any,
    fn_args: Any = None,
    constants: Mapping[str, Any] | None = None,
    combos: Any = None,
) -> Cases:
    """``cases`` as :class:`~xsweep.combos.Cases`.

    ``cases`` may be Cases, a sequence of dicts (``fn_args`` then defaults to
    the first dict's keys), or a sequence of tuples / single values with
    ``fn_args`` naming them. Cases shorter than ``fn_args`` are allowed when
    the names left over are ``constants`` (as in xyzpy). With ``combos``,
    every case runs at every combination of them
    (:func:`~xsweep.combos_mixed.mix_cases_and_combos`).
    """
    if combos:
        from ..combos_mixed import mix_cases_and_combos

        base = to_cases(cases, fn_args, constants)
        return mix_cases_and_combos(base, combos)
    if isinstance(cases, Cases):
        return cases
    cases = list(cases)
    fn_args = _trim_to_constants(cases, fn_args, constants)
    return parse_cases(fn_args, cases)


def _trim_to_constants(cases: list, fn_args: Any, constants: Any) -> Any:
    """``fn_args`` without trailing names that the cases leave to constants."""
    if not constants or fn_args is None or isinstance(fn_args, str):
        return fn_args
    if not cases or not all(isinstance(c, (tuple, list)) for c in cases):
        return fn_args
    lengths = {len(c) for c in cases}
    names = tuple(fn_args)
    if len(lengths) == 1:
        (k,) = lengths
        if k < len(names) and all(n in constants for n in names[k:]):
            return names[:k]
    return fn_args


def _engine_run(
    fn: Callable,
    combos: Grid | Cases,
    *,
    var_names: Sequence[str] | None,
    var_dims: Mapping[str, tuple[str, ...]],
    var_coords: Mapping[str, Any],
    constants: Mapping[str, Any],
    resources: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> Any:
    """Run the sweep through the engine; returns the filled OutputBuffer."""
    from ..engine import run

    check_names_disjoint(combos=combos.names, constants=constants, resources=resources)
    settings = _settings(settings)
    shuffle = settings.pop("shuffle", False)
    order = _shuffled_order(shuffle, combos.size)
    if order is not None:
        rows = [combos.args(int(i)) for i in order]
        todo = Cases(combos.names, rows)
    else:
        todo = combos
    buffer = run(
        fn,
        todo,
        var_names=var_names,
        var_dims=var_dims,
        var_coords=var_coords,
        constants=constants,
        resources=resources,
        **settings,
    )
    return buffer if order is None else _Unshuffled(buffer, order, combos.shape)


def _shuffled_order(shuffle: Any, size: int) -> np.ndarray | None:
    """The order to run combos in for ``shuffle`` (None: as given).

    ``True`` or an int seed, as in xyzpy: only the order of evaluation
    changes (spreading slow regions of a sweep over its run); results are
    put back in place.
    """
    if shuffle is None or shuffle is False or size < 2:
        return None
    return np.random.default_rng(int(shuffle)).permutation(size)


class _Unshuffled:
    """A buffer filled in shuffled order, seen in the combos' own order."""

    def __init__(self, buffer: Any, order: np.ndarray, shape: tuple) -> None:
        import dataclasses

        self.arrays = {}
        for key, array in buffer.arrays.items():
            out = np.empty_like(array)
            out[order] = array
            self.arrays[key] = out.reshape(tuple(shape) + array.shape[1:])
        self.failures = [
            dataclasses.replace(f, index=int(order[f.index])) for f in buffer.failures
        ]
        self.missing = sorted(int(order[i]) for i in buffer.missing)

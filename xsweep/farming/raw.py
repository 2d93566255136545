"""Results without labels (nested tuples, as xyzpy gives them) and as rows.

``combo_runner`` gives one nested tuple level per combo dimension (``x[i][j]``
is the result at the i-th value of the first dimension and the j-th of the
second), exactly what a crop reaped without a farmer gives; ``case_runner``
gives one result per case. ``split=True`` gives one such structure per output
of a function returning a tuple. ``combo_runner_to_df`` / ``case_runner_to_df``
give one row per combo, a column per argument then per output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import labelling, labels
from ..combos import Cases, parse_combos
from .running import _engine_run, to_cases

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = [
    "case_runner",
    "case_runner_to_df",
    "combo_runner",
    "combo_runner_to_df",
    "results_to_ds",
]


def combo_runner(
    fn: Callable,
    combos: Any = None,
    constants: Mapping[str, Any] | None = None,
    *,
    cases: Any = None,
    split: bool = False,
    flat: bool = False,
    resources: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Any:
    """Evaluate ``fn`` at every combination of ``combos``.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**combo, **constants, **resources)``.
    combos : dict, sequence of (name, values), or one (name, values) pair
        Each argument's values; each becomes a level of the result.
    constants : dict, optional
        Arguments passed unchanged to every call.
    cases : sequence of dict, optional
        Run every combination of ``combos`` at each of these cases; the
        result then covers each case argument's distinct values (sorted),
        NaN where no case reaches.
    split : bool, optional
        If ``fn`` returns a tuple, return one nested result per element.
    flat : bool, optional
        A flat tuple of results, in C order, instead of nesting.
    resources : dict, optional
        Like ``constants``.
    **settings
        Run settings (``verbosity``, ``num_workers``, ``parallel``,
        ``executor``, ``shuffle``, ``on_error``; see
        :mod:`xsweep.farming.functions`).

    Returns
    -------
    tuple
        Nested tuples, one level per combo dimension (or a tuple of those
        with ``split``).
    """
    todo = (
        parse_combos(combos)
        if cases is None
        else to_cases(cases, None, constants, combos)
    )
    return _plain_run(fn, todo, constants, resources, split, flat, settings)


def case_runner(
    fn: Callable,
    fn_args: Any,
    cases: Any,
    constants: Mapping[str, Any] | None = None,
    *,
    split: bool = False,
    resources: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Any:
    """Evaluate ``fn`` at each of ``cases``; see :func:`combo_runner`.

    Returns a tuple with one result per case, in order (with ``split``, one
    such tuple per output). Cases may leave out trailing ``fn_args`` that
    ``constants`` give.
    """
    todo = to_cases(cases, fn_args, constants)
    return _plain_run(fn, todo, constants, resources, split, True, settings)


def _todo(combos: Any, cases: Any, constants: Any) -> Any:
    if cases is None:
        return parse_combos(combos)
    return to_cases(cases, None, constants, combos)


def _plain_run(fn, combos, constants, resources, split, flat, settings) -> Any:
    buffer = _engine_run(
        fn,
        combos,
        var_names=None,
        var_dims={},
        var_coords={},
        constants=dict(constants or {}),
        resources=dict(resources or {}),
        settings=settings,
    )
    result = buffer.arrays[None]
    out = []
    for part in _split(result) if split else [result]:
        if flat:
            part = part.reshape((combos.size, *part.shape[len(combos.shape) :]))
            depth = 1
        elif isinstance(combos, Cases):
            part, depth = _covering(combos, part)
        else:
            depth = len(combos.shape)
        out.append(nest(part, depth))
    return tuple(out) if split else out[0]


def _split(result: np.ndarray) -> list[np.ndarray]:
    """One array per element of tuple results."""
    flat = result.reshape(-1)
    width = len(next((r for r in flat if isinstance(r, tuple)), ()))
    parts = []
    for k in range(width):
        column = np.empty(flat.size, dtype=object)
        column[:] = [r[k] if isinstance(r, tuple) else None for r in flat]
        with contextlib.suppress(ValueError):
            column = np.array(column.tolist())
        parts.append(column.reshape(result.shape + column.shape[1:]))
    return parts


def _covering(cases: Cases, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Case results on the grid covering them (NaN where no case reaches)."""
    _, shape, positions = labelling._case_layout(cases.names, cases.cases)
    grid = labelling._scatter(values, positions, int(np.prod(shape)))
    return grid.reshape(shape + values.shape[1:]), len(shape)


def nest(array: np.ndarray, depth: int) -> Any:
    """``array`` as nested tuples over its first ``depth`` axes."""
    from ..crop.reap import nest as _nest

    return _nest(array, depth)


# ------------------------------------------------------------------- rows --


def combo_runner_to_df(
    fn: Callable,
    combos: Any,
    var_names: str | Sequence[str],
    *,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    cases: Any = None,
    **settings: Any,
) -> pd.DataFrame:
    """Like :func:`combo_runner`, as a DataFrame: one row per combo.

    Columns: each argument, then each of ``var_names``.
    """
    todo = (
        parse_combos(combos)
        if cases is None
        else to_cases(cases, None, constants, combos)
    )
    return _rows(fn, todo, var_names, constants, resources, settings)


def case_runner_to_df(
    fn: Callable,
    fn_args: Any,
    cases: Any,
    var_names: str | Sequence[str],
    *,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    **settings: Any,
) -> pd.DataFrame:
    """Like :func:`case_runner`, as a DataFrame: one row per case."""
    todo = to_cases(cases, fn_args, constants)
    return _rows(fn, todo, var_names, constants, resources, settings)


def _rows(fn, combos, var_names, constants, resources, settings) -> pd.DataFrame:
    from .. import frames

    names = labels.parse_var_names(var_names)
    start = labelling.utc_now()
    buffer = _engine_run(
        fn,
        combos,
        var_names=names,
        var_dims={},
        var_coords={},
        constants=dict(constants or {}),
        resources=dict(resources or {}),
        settings=settings,
    )
    return frames.buffer_to_frame(
        buffer,
        combos,
        var_names=names,
        provenance=labelling.provenance_attrs(fn, start, labelling.utc_now()),
    )


def results_to_ds(
    results: Any,
    combos: Any,
    var_names: str | Sequence[str],
    var_dims: Any,
    var_coords: Mapping[str, Any],
    constants: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Label results already computed over ``combos`` (nested as
    :func:`combo_runner` gives them, or arrays of shape ``combos.shape``)."""
    grid = parse_combos(combos)
    names = labels.parse_var_names(var_names)
    dims = labels.parse_var_dims(var_dims, names)
    if len(names) == 1:
        arrays = {names[0]: np.asarray(results)}
    else:
        arrays = {n: np.asarray(r) for n, r in zip(names, results, strict=True)}
    return labelling.arrays_to_dataset(
        arrays,
        grid,
        var_dims=dims,
        var_coords=labels.parse_var_coords(var_coords),
        constants=constants,
        attrs=attrs,
    )

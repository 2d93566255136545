"""Run a function over combos or cases and label the results (xyzpy's API).

``combo_runner`` / ``case_runner`` (:mod:`xsweep.farming.raw`) return nested
tuples as xyzpy does;
``combo_runner_to_ds`` / ``case_runner_to_ds`` and :class:`Runner` return
labelled :class:`xarray.Dataset` objects. Settings shared by all of them:

verbosity : {0, 1, 2}
    0 silent, 1 a progress bar (``tqdm.auto``), 2 a bar with details.
progbar : bool, optional
    Shortcut: ``False`` hides the bar, ``True`` shows it.
chunksize, in_process_below : optional
    Passed to :func:`xsweep.engine.run` (combos per task; below how many
    estimated seconds a sweep runs in this process even with workers).
num_workers : int, optional
    Run in that many local worker processes.
num_threads : int, optional
    Threads of the numerical libraries in each local worker (OMP, MKL,
    OpenBLAS, vecLib, numexpr, numba); default: usable CPUs // num_workers.
parallel : bool, optional
    Run in one worker process per core.
executor : object, optional
    Anything with ``submit`` (``concurrent.futures``, ``dask.distributed``
    ``Client``, ...) or ``apply_async`` (``multiprocessing.Pool``, ipyparallel
    views). ``pool=`` is accepted as an alias (older xyzpy).
on_error : {"raise", "record"}
    ``"raise"`` (default): the first failing combo raises
    :class:`~xsweep.errors.ComboFailedError` naming its parameters, the
    original exception chained. ``"record"``: keep going; failed combos are
    missing (NaN) and listed in ``ds.attrs["xsweep_failures"]`` (JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import labelling
from ..combos import Cases, Grid, check_names_disjoint, parse_cases, parse_combos
from ..errors import InvalidCombosError
from . import labels

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "case_runner_to_ds",
    "combo_runner_to_ds",
]

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
    if cases and all(isinstance(c, Mapping) for c in cases):
        names = tuple(fn_args) if fn_args is not None else tuple(cases[0])
        if isinstance(fn_args, str):
            names = (fn_args,)
        rows = []
        for i, case in enumerate(cases):
            if set(case) != set(names):
                raise InvalidCombosError(
                    f"case {i} has arguments {sorted(case)} but the cases are for "
                    f"{sorted(names)}; every case must give the same arguments."
                )
            rows.append(tuple(case[n] for n in names))
        return Cases(names, rows)
    if fn_args is None:
        raise InvalidCombosError(
            "cases given as tuples need fn_args naming their values, e.g. "
            "fn_args=['a', 'b']; or give each case as a dict."
        )
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


def _label_run(
    fn: Callable,
    combos: Grid | Cases,
    var_names: Any,
    var_dims: Any,
    var_coords: Any,
    constants: Any,
    resources: Any,
    attrs: Any,
    parse: bool,
    settings: Mapping[str, Any],
) -> xr.Dataset:
    """Shared body of the ``*_to_ds`` runners and :class:`Runner`."""
    if parse:
        var_names = labels.parse_var_names(var_names)
        var_dims = labels.parse_var_dims(var_dims, var_names)
        var_coords = labels.parse_var_coords(var_coords)
        constants = dict(constants or {})
        resources = dict(resources or {})
    labels.check_var_dims(var_dims, var_coords, constants, combos.names)
    dim_coords = {
        d: (var_coords[d] if d in var_coords else np.asarray(constants[d]))
        for dims in var_dims.values()
        for d in dims
        if d in var_coords or d in constants  # else: sized by the results
    }
    start = labelling.utc_now()
    buffer = _engine_run(
        fn,
        combos,
        var_names=var_names,
        var_dims=var_dims,
        var_coords=dim_coords,
        constants=constants,
        resources=resources,
        settings=settings,
    )
    end = labelling.utc_now()
    return labelling.buffer_to_dataset(
        buffer,
        combos,
        var_names=var_names,
        var_dims=var_dims,
        var_coords=var_coords,
        constants=constants,
        attrs=attrs,
        provenance=labelling.provenance_attrs(fn, start, end),
    )


# --------------------------------------------------------- function API --


def combo_runner_to_ds(
    fn: Callable,
    combos: Any,
    var_names: str | Sequence[str] | None,
    *,
    var_dims: Any = None,
    var_coords: Mapping[str, Any] | None = None,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    parse: bool = True,
    **settings: Any,
) -> xr.Dataset:
    """Evaluate ``fn`` at every combination of ``combos`` into a Dataset.

    Parameters
    ----------
    fn : callable
        Function to evaluate.
    combos : dict, sequence of (name, values), or one (name, values) pair
        Each argument's values; each becomes a dimension coordinate.
        With ``cases=[{...}, ...]`` in ``settings``, every combination runs
        at each case (xyzpy's mixed form).
    var_names : str, sequence of str, or None
        Names of ``fn``'s outputs (a tuple of values or a dict with these
        keys); ``None`` if ``fn`` returns a Dataset or DataArray itself.
    var_dims : dict, sequence or str, optional
        Internal dimension names of each output.
    var_coords : dict, optional
        Values of internal dimensions (else taken from ``constants``).
    constants : dict, optional
        Passed to every call; saved as attributes (or coordinates when they
        label an internal dimension).
    resources : dict, optional
        Passed to every call, not saved.
    attrs : dict, optional
        Extra attributes for the dataset.
    parse : bool, optional
        Parse the labels (``False`` when they already are).
    **settings
        Run settings (see the module docstring).

    Returns
    -------
    xarray.Dataset
        Its provenance record (``xsweep.provenance(ds)``: xsweep's version,
        the function, start and end times in ISO 8601 UTC) is kept in
        ``ds.encoding``, out of ``ds.attrs``.
    """
    cases = settings.pop("cases", None)
    if settings.pop("to_df", False):  # xyzpy: rows instead of a dataset
        from .raw import combo_runner_to_df

        return combo_runner_to_df(
            fn, combos, var_names, constants=constants, resources=resources,
            cases=cases, **settings,
        )  # fmt: skip
    if cases is not None:
        grid = to_cases(cases, None, constants, combos)
    else:
        grid = parse_combos(combos)
    return _label_run(
        fn, grid, var_names, var_dims, var_coords, constants, resources, attrs,
        parse, settings,
    )  # fmt: skip


def case_runner_to_ds(
    fn: Callable,
    fn_args: Any,
    cases: Any,
    var_names: str | Sequence[str] | None,
    *,
    var_dims: Any = None,
    var_coords: Mapping[str, Any] | None = None,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    parse: bool = True,
    **settings: Any,
) -> xr.Dataset:
    """Evaluate ``fn`` at each case into a Dataset.

    The dataset's coordinates are each argument's distinct values (sorted when
    possible); cells that no case reaches are missing. Other parameters are
    as for :func:`combo_runner_to_ds`; ``fn_args`` names the values of each
    case (not needed when cases are dicts).
    """
    if settings.pop("to_df", False):  # xyzpy: rows instead of a dataset
        from .raw import case_runner_to_df

        return case_runner_to_df(
            fn, fn_args, cases, var_names, constants=constants,
            resources=resources, **settings,
        )  # fmt: skip
    return _label_run(
        fn, to_cases(cases, fn_args, constants), var_names, var_dims, var_coords,
        constants, resources, attrs, parse, settings,
    )  # fmt: skip

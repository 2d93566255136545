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

from .. import labelling, labels
from ..combos import Cases, Grid, parse_combos
from .running import _engine_run, to_cases

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "case_runner_to_ds",
    "combo_runner_to_ds",
]


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

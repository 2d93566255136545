"""Which cases a dataset has no data for yet (xyzpy's names).

A case (a value for each combo dimension) counts as missing when every
variable is null there, across any other dimensions: a partial result (one
output of several, or part of an internal dimension) counts as present.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["find_missing_cases", "is_case_missing", "parse_into_cases"]


def _null(da: xr.DataArray, method: str) -> xr.DataArray:
    if method == "isnull":
        return da.isnull()
    if method == "isfinite":
        return ~np.isfinite(da)
    raise ValueError(f"method must be 'isnull' or 'isfinite', not {method!r}")


def is_case_missing(
    ds: Any, setting: Mapping[str, Any], method: str = "isnull"
) -> bool:
    """Whether ``ds`` holds no data at all at ``setting`` ({dim: value}).

    A value that is not among the coordinates counts as missing.
    """
    try:
        sub = ds.sel(dict(setting))
    except (KeyError, ValueError):
        return True
    variables = sub.data_vars.values() if hasattr(sub, "data_vars") else [sub]
    return all(bool(_null(v, method).all()) for v in variables)


def find_missing_cases(
    ds: xr.Dataset,
    ignore_dims: str | Iterable[str] | None = None,
    method: str = "isnull",
    show_progbar: bool = False,
) -> tuple[tuple[str, ...], tuple[tuple, ...]]:
    """Every case of ``ds``'s grid that has no data.

    Parameters
    ----------
    ds : xarray.Dataset
        Results laid out on a grid (NaN or None where missing).
    ignore_dims : str or iterable of str, optional
        Internal dimensions (``var_dims``), not function arguments.
    method : {"isnull", "isfinite"}, optional
        What counts as no data.
    show_progbar : bool, optional
        Accepted for xyzpy's signature (the search is vectorised).

    Returns
    -------
    fn_args, cases
        The argument names, and one tuple of values per missing case,
        ready for :func:`xsweep.case_runner` or ``Runner.run_cases``.
    """
    import xarray as xr

    ignore = {ignore_dims} if isinstance(ignore_dims, str) else set(ignore_dims or ())
    fn_args = tuple(d for d in ds.dims if d not in ignore)
    missing = None
    for var in ds.data_vars.values():
        null = _null(var, method)
        other = [d for d in null.dims if d not in fn_args]
        null = null.all(other) if other else null
        missing = null if missing is None else (missing & null)
    if missing is None:  # no variables: every case is missing
        missing = xr.DataArray(True)
    template = xr.DataArray(
        np.ones([ds.sizes[d] for d in fn_args], dtype=bool),
        dims=fn_args,
        coords={d: ds[d].values for d in fn_args},
    )
    missing = (missing & template).transpose(*fn_args)
    values = [ds[d].values for d in fn_args]
    cases = tuple(
        tuple(_plain(v[i]) for v, i in zip(values, idx, strict=True))
        for idx in np.argwhere(missing.values)
    )
    return fn_args, cases


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def parse_into_cases(
    combos: Any = None,
    cases: Iterable[Mapping[str, Any]] | None = None,
    ds: Any = None,
    method: str = "isnull",
) -> list[dict[str, Any]]:
    """``combos`` and ``cases`` as one list of case dicts (every combination
    at each case), keeping only those ``ds`` has no data for, if given."""
    if combos is None:
        combos = {}
    pairs = list(combos.items() if isinstance(combos, Mapping) else combos)
    names = [name for name, _ in pairs]
    out = []
    for case in cases if cases is not None else [{}]:
        for values in itertools.product(*(v for _, v in pairs)):
            setting = {**case, **dict(zip(names, values, strict=True))}
            if ds is None or is_case_missing(ds, setting, method=method):
                out.append(setting)
    return out

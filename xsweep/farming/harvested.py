"""What a Harvester already holds: which combos are done, and what fits."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from ..combos import Cases, Grid
from ..errors import MergeConflictError

if TYPE_CHECKING:
    import xarray as xr

    from .runner import Runner

__all__ = ["check_same_layout"]


def _done_mask(full_ds: xr.Dataset, combos: Grid | Cases, runner: Runner, settings):
    """Which combos already have a value in ``full_ds`` (None: cannot tell).

    A combo is done if any output has a non-missing value there. Dimensions
    of ``full_ds`` that are not combos must be internal (``var_dims``) or
    pinned by a constant of this run; otherwise nothing can be told.
    """
    inner = {d for dims in (runner.var_dims or {}).values() for d in dims}
    outer = {d for d in full_ds.dims if d not in inner}
    constants = {**(runner.constants or {}), **dict(settings.get("constants", ()))}
    names = set(combos.names)
    if not (names <= outer <= names | set(constants)):
        return None
    done = None
    for var in full_ds.data_vars:
        has = full_ds[var].notnull()
        pinned = {d: constants[d] for d in has.dims if d in outer and d not in names}
        try:
            has = has.sel(pinned) if pinned else has
        except (KeyError, ValueError, TypeError):
            return None
        rest = [d for d in has.dims if d not in names]
        has = has.any(rest) if rest else has
        done = has if done is None else (done | has)
    if done is None or set(done.dims) != names:
        return None
    done = done.transpose(*combos.names)
    lookups = [
        {v: i for i, v in enumerate(done[d].values.tolist())} for d in combos.names
    ]
    try:
        if isinstance(combos, Grid):
            idx = [
                np.array([lk.get(v, -1) for v in values], dtype=np.intp)
                for lk, values in zip(lookups, combos.values, strict=True)
            ]
            grid = np.ix_(*[np.where(i >= 0, i, 0) for i in idx])
            ndim = len(idx)
            known = [
                (i >= 0).reshape([-1 if j == k else 1 for j in range(ndim)])
                for k, i in enumerate(idx)
            ]
            mask = done.values[grid] & functools.reduce(np.logical_and, known)
            return mask.reshape(-1)
        mask = np.zeros(combos.size, dtype=bool)
        values = done.values
        for k, case in enumerate(combos.cases):
            pos = [lk.get(v, -1) for lk, v in zip(lookups, case, strict=True)]
            mask[k] = min(pos) >= 0 and bool(values[tuple(pos)])
        return mask
    except TypeError:  # unhashable combo values: cannot tell
        return None


def _missing_cases(full_ds, combos, runner, settings) -> Cases | None:
    """The combos without a value yet, as Cases (None: run them all as given)."""
    mask = _done_mask(full_ds, combos, runner, settings)
    if mask is None or not mask.any():
        return None
    rows = [
        args
        for args, done in zip(combos.iter_range(0, combos.size), mask, strict=True)
        if not done
    ]
    return Cases(combos.names, rows)


def check_same_layout(old: xr.Dataset, new: xr.Dataset, where: Any = None) -> None:
    """Raise :class:`~xsweep.errors.MergeConflictError` unless ``new`` fits ``old``.

    It fits when it has the same variables, each with the same dimensions,
    and merging changes no variable's dtype (an integer variable saved
    becoming float because the new results have gaps, say).
    """
    place = f" in {where}" if where is not None else ""
    fix = (
        " Harvest it into another file, or pass allow_mismatch=True to merge "
        "anyway (missing values where either has none)."
    )
    if set(old.data_vars) != set(new.data_vars):
        raise MergeConflictError(
            f"the new results have the variables {sorted(new.data_vars)} but the "
            f"results saved{place} have {sorted(old.data_vars)}: not the same "
            f"sweep.{fix}"
        )
    for name in old.data_vars:
        a, b = old[name], new[name]
        if set(a.dims) != set(b.dims):
            raise MergeConflictError(
                f"variable {name!r} has the dimensions {list(b.dims)} in the new "
                f"results but {list(a.dims)} in the results saved{place}.{fix}"
            )
        merged = np.result_type(a.dtype, b.dtype)
        if a.dtype.kind in "biu" and merged.kind not in "biu":
            raise MergeConflictError(
                f"variable {name!r} is {a.dtype} in the results saved{place} but "
                f"{b.dtype} in the new results (missing values, or the function "
                f"now returns other numbers): merging would turn the saved "
                f"values into {merged}.{fix}"
            )

"""Parse and check the labels of a sweep's outputs: var_names, var_dims, var_coords.

Accepts the same forms as xyzpy, and fails before a run starts when the labels
cannot fit together. Used by the farmers (:mod:`xsweep.farming`) and by the
crop (``Crop.reap_combos_to_ds`` labels a reap with labels given there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import InvalidCombosError


def parse_var_names(var_names: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``var_names`` as a tuple of names (``None`` stays ``None``)."""
    if var_names is None:
        return None
    names = (var_names,) if isinstance(var_names, str) else tuple(var_names)
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidCombosError(
                f"var_names must be strings, got {name!r} in {var_names!r}."
            )
    if len(set(names)) != len(names):
        raise InvalidCombosError(f"var_names has a repeated name: {names}.")
    return names


def _as_dims(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def parse_var_dims(
    var_dims: Any, var_names: tuple[str, ...] | None
) -> dict[str, tuple[str, ...]]:
    """Map each output name to its internal dimension names.

    Accepts a dict ``{var: dims}`` (a key may be a tuple of several vars that
    share dims), a sequence of ``(var, dims)`` pairs, a sequence with one
    entry per output, or one string when there is a single output with a
    single internal dimension.
    """
    names = var_names or ()
    out: dict[str, tuple[str, ...]] = {n: () for n in names}
    if not var_dims:
        return out
    if isinstance(var_dims, str):
        if len(names) != 1:
            raise InvalidCombosError(
                f"var_dims={var_dims!r} is a single dimension name, which only "
                f"works for one output, but var_names is {list(names)}; pass a "
                "dict {var_name: dims} instead."
            )
        return {names[0]: (var_dims,)}
    if not isinstance(var_dims, Mapping):
        var_dims = list(var_dims)
        if _name_dims_pairs(var_dims, names):  # [("x", ["t"]), ...], as in xyzpy
            var_dims = dict(var_dims)
        elif len(var_dims) != len(names):
            raise InvalidCombosError(
                f"var_dims has {len(var_dims)} entries but var_names has "
                f"{len(names)} ({list(names)}); pass a dict {{var_name: dims}}."
            )
        else:
            var_dims = dict(zip(names, var_dims, strict=True))
    for key, dims in var_dims.items():
        for name in (key,) if isinstance(key, str) else tuple(key):
            if var_names is not None and name not in out:
                raise InvalidCombosError(
                    f"var_dims names the output {name!r}, which is not in "
                    f"var_names {list(names)}."
                )
            out[name] = _as_dims(dims)
    return out


def _name_dims_pairs(entries: list, names: tuple[str, ...]) -> bool:
    """Whether ``entries`` are ``(output name, dims)`` pairs."""
    return bool(entries) and all(
        isinstance(e, (tuple, list))
        and len(e) == 2
        and isinstance(e[0], str)
        and e[0] in names
        and isinstance(e[1], (str, tuple, list))
        for e in entries
    )


def parse_var_coords(var_coords: Mapping | None) -> dict[str, Any]:
    """``var_coords`` as a dict of 1-D value arrays."""
    out = {}
    for name, values in dict(var_coords or {}).items():
        values = np.asarray(values)
        if values.ndim != 1:
            raise InvalidCombosError(
                f"var_coords[{name!r}] must be 1-D, got shape {values.shape}."
            )
        out[name] = values
    return out


def check_var_dims(
    var_dims: Mapping[str, tuple[str, ...]],
    var_coords: Mapping[str, Any],
    constants: Mapping[str, Any],
    combo_names: Iterable[str],
) -> None:
    """Check before a run that ``var_dims`` and ``var_coords`` fit together.

    An internal dimension takes its values (1-D) from ``var_coords`` or
    ``constants`` (else ``0..n-1``), and must not also be a combo dimension;
    ``var_coords`` must not relabel a combo dimension.
    """
    combo_names = set(combo_names)
    relabelled = sorted(combo_names & set(var_coords))
    if relabelled:
        raise InvalidCombosError(
            f"var_coords gives values for {relabelled}, which are combo dimensions "
            "(their values come from the combos); remove them from var_coords."
        )
    for var, dims in var_dims.items():
        for dim in dims:
            if dim in combo_names:
                raise InvalidCombosError(
                    f"var_dims gives output {var!r} the internal dimension {dim!r}, "
                    "which is also a combo dimension; rename one of them."
                )
            if dim not in var_coords and dim not in constants:
                continue  # labelled 0..n-1, sized by the results (as in xyzpy)
            values = var_coords[dim] if dim in var_coords else constants[dim]
            shape = np.shape(values)
            if len(shape) != 1:
                raise InvalidCombosError(
                    f"the values of internal dimension {dim!r} (of output {var!r}) "
                    f"must be 1-D, one label per position; got shape {shape}."
                )

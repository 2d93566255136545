"""Plot a reaped sweep quickly: a thin layer over xarray's own plotting.

``xsweep.plot(ds)`` picks sensible dimensions when none are given: the longest
numeric dimension along the x axis, the next one as coloured lines (``hue``),
then a column of panels per value of a third; any dimension left over is fixed
at its first value (the panel title says which). Name the dimensions yourself
with ``x=``, ``hue=``, ``col=``, ``row=`` (or ``y=`` for a colour map).

matplotlib is imported only when a plot is made, never by ``import xsweep``.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.figure import Figure

#: Dimensions longer than this are not chosen as ``hue`` automatically.
MAX_AUTO_HUE = 12
#: Dimensions longer than this are not chosen as ``col`` automatically.
MAX_AUTO_COL = 6


def plot(
    data: xr.Dataset | xr.DataArray,
    var: Hashable | None = None,
    *,
    x: Hashable | None = None,
    y: Hashable | None = None,
    hue: Hashable | None = None,
    col: Hashable | None = None,
    row: Hashable | None = None,
    select: Mapping[Hashable, Any] | None = None,
    **kwargs: Any,
) -> Figure:
    """Plot one variable of a swept dataset along chosen dimensions.

    Parameters
    ----------
    data : xarray.Dataset or xarray.DataArray
        A reaped or run dataset (``Runner.run_combos``, ``Crop.reap``, ...).
    var : hashable, optional
        The data variable to plot; by default the dataset's first one.
    x, hue, col, row : hashable, optional
        Dimensions for the x axis, the line colour, and columns / rows of
        panels. Unnamed ones are chosen automatically (see the module notes);
        pass ``hue=False`` or ``col=False`` to keep a role empty.
    y : hashable, optional
        A second axis dimension: draws a colour map (``pcolormesh``) of ``x``
        against ``y`` instead of lines.
    select : mapping, optional
        Values to fix dimensions at before plotting, as for ``.sel``.
    **kwargs
        Passed on to xarray's plotting method (``figsize``, ``marker``,
        ``col_wrap``, ``cmap``, ...).

    Returns
    -------
    matplotlib.figure.Figure
        Save it with ``fig.savefig("sweep.png")``.

    Examples
    --------
    >>> fig = xsweep.plot(ds, "energy", x="t", hue="beta")  # doctest: +SKIP
    >>> fig.savefig("energy.png")  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    da = _variable(data, var)
    if select:
        da = da.sel(dict(select))
    roles = _choose_dims(da, x=x, y=y, hue=hue, col=col, row=row)
    leftover = [d for d in da.dims if d not in roles.values()]
    if leftover:
        da = da.isel({d: 0 for d in leftover})
    if da.dtype.kind == "c":
        da = abs(da).rename(f"|{da.name}|")
    elif da.dtype.kind == "b":
        da = da.astype(float)

    facets = {k: roles[k] for k in ("col", "row") if k in roles}
    if "y" in roles:
        method, args = da.plot.pcolormesh, {"x": roles["x"], "y": roles["y"]}
    else:
        method, args = da.plot.line, {"x": roles["x"]}
        if "hue" in roles:
            args["hue"] = roles["hue"]
        elif not facets and da.ndim == 1:
            kwargs.setdefault("marker", "o" if da.sizes[roles["x"]] <= 30 else None)
    if facets:
        grid = method(**args, **facets, **kwargs)
        return grid.fig
    figsize = kwargs.pop("figsize", None)
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    method(**args, ax=ax, **kwargs)
    return fig


def _variable(data: Any, var: Hashable | None) -> xr.DataArray:
    """The DataArray to plot from a Dataset or DataArray."""
    if not hasattr(data, "data_vars"):
        return data
    names = list(data.data_vars)
    if var is None:
        if not names:
            raise ValueError("nothing to plot: the dataset has no data variables")
        var = names[0]
    if var not in data.data_vars:
        raise KeyError(f"no data variable {var!r} to plot; the dataset has {names}")
    return data[var]


def _choose_dims(da: xr.DataArray, **given: Hashable | None) -> dict[str, Hashable]:
    """Map plot roles (x, y, hue, col, row) to dimensions of ``da``."""
    for role, dim in given.items():
        if dim not in (None, False) and dim not in da.dims:
            raise ValueError(
                f"{role}={dim!r} is not a dimension of {da.name!r}; "
                f"its dimensions are {list(da.dims)}"
            )
    roles = {role: dim for role, dim in given.items() if dim not in (None, False)}
    free = [d for d in da.dims if d not in roles.values()]
    # Longest first; numeric coordinates before labels for the x axis.
    free.sort(key=lambda d: (not _is_numeric(da, d), -da.sizes[d]))
    if given["x"] is None:
        if not free:
            raise ValueError(f"{da.name!r} has no dimension left for the x axis")
        roles["x"] = free.pop(0)
    free.sort(key=lambda d: da.sizes[d])
    if given["y"] is None and given["hue"] is None:
        small = [d for d in free if da.sizes[d] <= MAX_AUTO_HUE]
        if small:
            roles["hue"] = small[-1]
            free.remove(small[-1])
    if given["col"] is None and given["row"] is None:
        small = [d for d in free if da.sizes[d] <= MAX_AUTO_COL]
        if small:
            roles["col"] = small[-1]
    return roles


def _is_numeric(da: xr.DataArray, dim: Hashable) -> bool:
    return dim not in da.coords or da.coords[dim].dtype.kind in "iufcmM"


class _CallableModule(types.ModuleType):
    """Lets ``xsweep.plot(ds)`` work even after ``import xsweep.plot``.

    Importing the submodule sets the attribute ``xsweep.plot`` to this module,
    shadowing the function that ``xsweep`` exports under the same name.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Figure:
        return plot(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

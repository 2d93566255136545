"""The Runner: a function together with the labels of its outputs.

Also re-exports the function API (:func:`combo_runner`, :func:`case_runner`
and their ``_to_ds`` variants) from :mod:`xsweep.farming.functions`, so
``from xsweep.farming.runner import combo_runner`` works as in xyzpy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import labels
from ..combos import parse_combos
from .cropping import CropMaker
from .functions import _label_run, case_runner_to_ds, combo_runner_to_ds, to_cases
from .raw import (
    case_runner,
    case_runner_to_df,
    combo_runner,
    combo_runner_to_df,
    results_to_ds,
)

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "Runner",
    "case_runner",
    "case_runner_to_df",
    "case_runner_to_ds",
    "combo_runner",
    "combo_runner_to_df",
    "combo_runner_to_ds",
    "label",
    "results_to_ds",
    "to_cases",
]


class _Parsed:
    """An attribute normalised by ``parser`` whenever it is set."""

    def __init__(self, parser: Callable[[Any, Any], Any], doc: str) -> None:
        self.parser = parser
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj, self.name, self.parser(obj, value))

    def __delete__(self, obj: Any) -> None:  # ``del runner.constants``: unset
        setattr(obj, self.name, None)


def _names_or_none(obj: Any, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


class Runner(CropMaker):
    """A function, the labels of its outputs, and default run settings.

    Parameters
    ----------
    fn : callable
        Produces one result per call.
    var_names : str, sequence of str, or None
        Names of ``fn``'s outputs (it returns a tuple of values, or a dict
        with these keys); ``None`` if ``fn`` returns a Dataset or DataArray.
    fn_args : str or sequence of str, optional
        Names of ``fn``'s arguments, needed only for cases given as tuples.
    var_dims : dict, sequence or str, optional
        Internal dimension names of each output, e.g. ``{"spectrum": "k"}``.
    var_coords : dict, optional
        Values of internal dimensions, e.g. ``{"k": [0, 1, 2]}``.
    constants : dict, optional
        Passed to every call and saved with the dataset (as attributes, or
        as coordinates when they label an internal dimension).
    resources : dict, optional
        Passed to every call, never saved (big or unpicklable-to-disk things).
    attrs : dict, optional
        Extra attributes for every dataset.
    **default_runner_settings
        Run settings used by every run unless overridden: ``verbosity``,
        ``progbar``, ``num_workers``, ``num_threads``, ``parallel``,
        ``executor``, ``on_error``.

    Attributes
    ----------
    last_ds : xarray.Dataset or None
        The dataset of the last run.
    """

    var_names = _Parsed(
        lambda self, v: labels.parse_var_names(v), "Names of the outputs."
    )
    fn_args = _Parsed(_names_or_none, "Names of the function's case arguments.")
    var_dims = _Parsed(
        lambda self, v: labels.parse_var_dims(v, self.var_names),
        "Internal dimension names of each output.",
    )
    var_coords = _Parsed(
        lambda self, v: labels.parse_var_coords(v), "Values of internal dims."
    )
    constants = _Parsed(lambda self, v: dict(v or {}), "Constant arguments (saved).")
    resources = _Parsed(lambda self, v: dict(v or {}), "Constant arguments (unsaved).")
    attrs = _Parsed(lambda self, v: dict(v or {}), "Extra dataset attributes.")

    def __init__(
        self,
        fn: Callable,
        var_names: str | Sequence[str] | None,
        fn_args: str | Sequence[str] | None = None,
        var_dims: Any = None,
        var_coords: Mapping[str, Any] | None = None,
        constants: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        attrs: Mapping[str, Any] | None = None,
        **default_runner_settings: Any,
    ) -> None:
        self.fn = fn
        self.var_names = var_names
        self.fn_args = fn_args
        self.var_dims = var_dims
        self.var_coords = var_coords
        self.constants = constants
        self.resources = resources
        self.attrs = attrs
        self.default_runner_settings = dict(default_runner_settings)
        self.last_ds: xr.Dataset | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function itself."""
        return self.fn(*args, **kwargs)

    def _run(self, combos: Any, constants: Any, settings: Mapping) -> xr.Dataset:
        self.last_ds = _label_run(
            self.fn,
            combos,
            self.var_names,
            self.var_dims or {},
            self.var_coords or {},
            {**(self.constants or {}), **dict(constants or ())},
            self.resources or {},
            self.attrs or {},
            False,
            {**self.default_runner_settings, **settings},
        )
        return self.last_ds

    def run_combos(
        self,
        combos: Any,
        constants: Any = (),
        cases: Any = None,
        **runner_settings: Any,
    ) -> xr.Dataset:
        """Run every combination of ``combos``; also kept as ``last_ds``.

        Parameters
        ----------
        combos : dict, sequence of (name, values), or one (name, values) pair
            Each argument's values.
        constants : dict, optional
            Extra constants for this run only (override the stored ones).
        cases : sequence of dict, optional
            Run every combination of ``combos`` at each of these cases.
        **runner_settings
            Override the default run settings for this run.

        Returns
        -------
        xarray.Dataset
        """
        if cases is not None:
            todo = to_cases(cases, None, None, combos)
        else:
            todo = parse_combos(combos)
        return self._run(todo, constants, runner_settings)

    def run_cases(
        self,
        cases: Any,
        constants: Any = (),
        fn_args: str | Sequence[str] | None = None,
        **runner_settings: Any,
    ) -> xr.Dataset:
        """Run explicit ``cases``; also kept as ``last_ds``.

        Parameters
        ----------
        cases : sequence of dict or of tuples
            One entry per call; tuples are named by ``fn_args``.
        constants : dict, optional
            Extra constants for this run only.
        fn_args : str or sequence of str, optional
            Names of the tuple values (default: the Runner's ``fn_args``).
        **runner_settings
            Override the default run settings for this run.

        Returns
        -------
        xarray.Dataset
            Laid out on the distinct values of each argument; cells no case
            reaches are missing.
        """
        names = fn_args if fn_args is not None else self.fn_args
        every = {**(self.constants or {}), **dict(constants or ())}
        return self._run(to_cases(cases, names, every), constants, runner_settings)

    def __repr__(self) -> str:
        lines = [f"<xsweep.Runner> fn: {labels_fn_name(self.fn)}"]
        lines.append(f"    var_names: {self.var_names}")
        if self.fn_args:
            lines.append(f"    fn_args: {self.fn_args}")
        if any((self.var_dims or {}).values()):
            lines.append(f"    var_dims: {self.var_dims}")
        if self.constants:
            lines.append(f"    constants: {list(self.constants)}")
        if self.resources:
            lines.append(f"    resources: {list(self.resources)}")
        return "\n".join(lines)


def labels_fn_name(fn: Any) -> str:
    from ..labelling import fn_name

    return fn_name(fn)


def label(
    var_names: str | Sequence[str] | None,
    fn_args: str | Sequence[str] | None = None,
    var_dims: Any = None,
    var_coords: Mapping[str, Any] | None = None,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    harvester: bool | str = False,
    sampler: bool | str = False,
    engine: str | None = None,
    **default_runner_settings: Any,
) -> Callable[[Callable], Any]:
    """Decorate a function into a :class:`Runner` (or Harvester / Sampler).

    Parameters
    ----------
    var_names, fn_args, var_dims, var_coords, constants, resources, attrs
        As for :class:`Runner`.
    harvester : bool or str, optional
        Return a :class:`~xsweep.Harvester` instead; a string is its
        ``data_name`` (the file).
    sampler : bool or str, optional
        Return a :class:`~xsweep.Sampler` instead; a string is its file.
    engine : str, optional
        File engine for the Harvester or Sampler.
    **default_runner_settings
        Default run settings.

    Examples
    --------
    >>> @label(var_names=["sum", "diff"])
    ... def fn(a, b):
    ...     return a + b, a - b
    >>> fn.run_combos({"a": [1, 2], "b": [3]})["sum"].values.tolist()
    [[4], [5]]
    """
    if harvester and sampler:
        raise ValueError("label(): pick one of harvester= and sampler=, not both.")

    def decorator(fn: Callable) -> Any:
        runner = Runner(
            fn,
            var_names,
            fn_args=fn_args,
            var_dims=var_dims,
            var_coords=var_coords,
            constants=constants,
            resources=resources,
            attrs=attrs,
            **default_runner_settings,
        )
        extra = {} if engine is None else {"engine": engine}
        if harvester:
            from .harvester import Harvester

            name = harvester if isinstance(harvester, str) else None
            return Harvester(runner, data_name=name, **extra)
        if sampler:
            from .sampler import Sampler

            name = sampler if isinstance(sampler, str) else None
            return Sampler(runner, data_name=name, **extra)
        return runner

    return decorator

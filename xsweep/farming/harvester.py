"""The Harvester: run a Runner again and again, merging every run into one file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import merging, netcdf
from ..combos import Cases, Grid, parse_combos
from ..errors import InvalidCombosError
from ..file_engines import check_engine
from .cropping import CropMaker
from .files import delete_file
from .harvested import _missing_cases, check_same_layout

if TYPE_CHECKING:
    import xarray as xr

    from .runner import Runner

__all__ = ["Harvester"]


def _delegate(name: str) -> property:
    return property(
        lambda self: getattr(self.runner, name),
        doc=f"The runner's ``{name}``.",
    )


class Harvester(CropMaker):
    """Collect the results of many runs of a :class:`Runner` into one dataset.

    Each harvest runs the combos or cases, then merges the new dataset into
    ``full_ds`` and, when ``data_name`` is given, into the file on disk. The
    file is replaced atomically: a crash at any moment leaves either the old
    complete file or the new one, never a broken or half-merged file.

    Parameters
    ----------
    runner : Runner
        Runs the function and labels its results.
    data_name : str or os.PathLike, optional
        The netCDF file to keep in sync; ``None`` keeps ``full_ds`` in memory.
    chunks : int or dict, optional
        If given, the saved dataset is opened lazily with these dask chunks.
    engine : str, optional
        ``"netcdf4"`` (default), ``"h5netcdf"`` (the same files), ``"scipy"``
        or ``"joblib"`` (see :mod:`xsweep.file_engines`).
    full_ds : xarray.Dataset, optional
        A dataset to start from instead of the file.
    """

    def __init__(
        self,
        runner: Runner,
        data_name: str | Path | None = None,
        chunks: Any = None,
        engine: str = netcdf.DEFAULT_ENGINE,
        full_ds: xr.Dataset | None = None,
    ) -> None:
        self.runner = runner
        self.data_name = data_name
        self.chunks = chunks
        check_engine(engine)  # refuse an unusable engine now, not at the first save
        self.engine = engine
        self._full_ds = full_ds

    # farmer protocol (for Crop): the runner's description of the function
    fn = _delegate("fn")
    fn_args = _delegate("fn_args")
    var_names = _delegate("var_names")
    var_dims = _delegate("var_dims")
    var_coords = _delegate("var_coords")
    constants = _delegate("constants")
    resources = _delegate("resources")
    attrs = _delegate("attrs")

    @property
    def last_ds(self) -> xr.Dataset | None:
        """The dataset of the last run only."""
        return self.runner.last_ds

    @property
    def full_ds(self) -> xr.Dataset | None:
        """Everything harvested so far (read from disk on first access)."""
        if self._full_ds is None:
            self.load_full_ds()
        return self._full_ds

    def load_full_ds(self, chunks: Any = None, engine: str | None = None) -> None:
        """(Re)load ``full_ds`` from ``data_name``; nothing if there is no file."""
        if self.data_name is None or not Path(self.data_name).exists():
            return
        self._full_ds = netcdf.load_dataset(
            self.data_name,
            engine=engine or self.engine,
            chunks=self.chunks if chunks is None else chunks,
        )

    def save_full_ds(
        self, new_full_ds: xr.Dataset | None = None, engine: str | None = None
    ) -> None:
        """Save ``full_ds`` (or ``new_full_ds``, which replaces it) atomically."""
        if new_full_ds is not None:
            self._full_ds = new_full_ds
        if self.data_name is None:
            raise ValueError("this Harvester has no data_name to save to")
        netcdf.save_dataset(self._full_ds, self.data_name, engine=engine or self.engine)

    def delete_ds(self, backup: bool = False) -> None:
        """Delete the file on disk (first copied to ``<name>.BAK-<time>``)."""
        self._full_ds = None
        delete_file(self.data_name, backup)

    def add_ds(
        self,
        new_ds: xr.Dataset,
        sync: bool = True,
        overwrite: bool | None = None,
        chunks: Any = None,
        engine: str | None = None,
        allow_mismatch: bool = False,
    ) -> None:
        """Merge ``new_ds`` into ``full_ds`` (and the file, if ``sync``).

        Parameters
        ----------
        new_ds : xarray.Dataset or xarray.DataArray
            New results.
        sync : bool, optional
            Merge into the file on disk too (default), under a lock, so
            concurrent harvesters of the same file do not lose each other's
            results.
        overwrite : {None, True, False}, optional
            Clashing non-missing values: ``None`` raises
            :class:`~xsweep.errors.MergeConflictError`, ``True`` keeps the new
            ones, ``False`` the old ones. Missing values never clash.
        chunks, engine
            Override the Harvester's settings for this call.
        allow_mismatch : bool, optional
            Merge even if ``new_ds`` does not have the variables, the
            dimensions of each variable, or the dtypes of what is saved (see
            :func:`check_same_layout`); refused by default, with the file
            untouched.
        """
        import xarray as xr

        if isinstance(new_ds, xr.DataArray):
            new_ds = new_ds.to_dataset()
        if not allow_mismatch and self.full_ds is not None:
            check_same_layout(self.full_ds, new_ds, self.data_name)
        if sync and self.data_name is not None:
            merged = merging.merge_into(
                self.data_name, new_ds, overwrite, engine=engine or self.engine
            )
            if chunks or self.chunks:
                self.load_full_ds(chunks=chunks, engine=engine)
            else:
                self._full_ds = merged
        elif self._full_ds is None:
            self._full_ds = new_ds.copy(deep=True)
        else:
            self._full_ds = merging.merge_datasets(self._full_ds, new_ds, overwrite)

    #: what a Crop calls to merge reaped results (farmer protocol)
    def merge_reaped(
        self, ds: xr.Dataset, overwrite: bool | None = None, *, source: Any = None
    ) -> None:
        """Merge a dataset reaped from a crop into this harvester.

        ``source`` (the crop sowing's id) is unused: merging the same results
        again changes nothing. The reaped dataset becomes ``last_ds``.
        """
        self.runner.last_ds = ds
        self.add_ds(ds, overwrite=overwrite)

    def harvest_combos(
        self,
        combos: Any,
        *,
        sync: bool = True,
        overwrite: bool | None = None,
        chunks: Any = None,
        engine: str | None = None,
        skip_existing: bool = False,
        cases: Any = None,
        allow_mismatch: bool = False,
        **runner_settings: Any,
    ) -> xr.Dataset | None:
        """Run every combination of ``combos`` and merge the results in.

        Parameters
        ----------
        combos : dict or sequence of (name, values)
            As for :meth:`Runner.run_combos`.
        sync, overwrite, chunks, engine
            See :meth:`add_ds`.
        skip_existing : bool, optional
            Run only the combos that have no value yet in ``full_ds`` (any
            non-missing output counts as done). The rest run as cases.
        **runner_settings
            Passed to :meth:`Runner.run_combos` (``num_workers``, ...).

        Returns
        -------
        xarray.Dataset or None
            The new results (``None`` if ``skip_existing`` left nothing to run).
        """
        skip_existing = runner_settings.pop("missing_only", skip_existing)  # xyzpy
        combos = self._fill_ellipsis(combos)
        if cases is not None:
            from ..combos_mixed import mix_cases_and_combos

            grid = mix_cases_and_combos(cases, combos)
        else:
            grid = parse_combos(combos)
        if skip_existing and self.full_ds is not None:
            todo = _missing_cases(self.full_ds, grid, self.runner, runner_settings)
            if todo is None and isinstance(grid, Cases):
                ds = self.runner.run_cases(grid, **runner_settings)
            elif todo is None:
                ds = self.runner.run_combos(grid, **runner_settings)
            elif not todo.size:
                return None
            else:
                ds = self.runner.run_cases(
                    todo.cases, fn_args=todo.names, **runner_settings
                )
        elif isinstance(grid, Cases):
            ds = self.runner.run_cases(grid, **runner_settings)
        else:
            ds = self.runner.run_combos(grid, **runner_settings)
        self.add_ds(
            ds, sync=sync, overwrite=overwrite, chunks=chunks, engine=engine,
            allow_mismatch=allow_mismatch,
        )  # fmt: skip
        return ds

    def _fill_ellipsis(self, combos: Any) -> Any:
        """``combos`` with ``...`` values replaced by the harvested ones."""
        from ..combos import _is_bare_pair

        if combos is None or isinstance(combos, Grid):
            return combos
        pairs = [combos] if _is_bare_pair(combos) else combos
        items = list(pairs.items() if isinstance(pairs, dict) else pairs)
        if not any(v is Ellipsis for _, v in items):
            return combos
        full = self.full_ds
        out = {}
        for name, values in items:
            if values is Ellipsis:
                if full is None or name not in full.coords:
                    raise InvalidCombosError(
                        f"combo dimension {name!r} is ... (the values already "
                        f"harvested), but {self.data_name or 'full_ds'} has no "
                        f"{name!r} coordinate yet; list its values."
                    )
                values = full.coords[name].values.tolist()
            out[name] = values
        return out

    def expand_dims(self, name: str, value: Any, engine: str | None = None) -> None:
        """Give ``full_ds`` (and the file) a new dimension ``name`` = ``value``.

        For a function argument that was a default so far and is now to be
        swept: existing results are labelled with that value.
        """
        new = self.full_ds.expand_dims({name: [value]})
        if self.data_name is not None:
            self.save_full_ds(new, engine=engine)
        else:
            self._full_ds = new

    def drop_sel(
        self, labels: Any = None, *, engine: str | None = None, **labels_kwargs: Any
    ) -> None:
        """Remove the results at these coordinate values (file rewritten)."""
        new = self.full_ds.drop_sel(labels, **labels_kwargs)
        if self.data_name is not None:
            self.save_full_ds(new, engine=engine)
        else:
            self._full_ds = new

    def harvest_cases(
        self,
        cases: Any,
        *,
        sync: bool = True,
        overwrite: bool | None = None,
        chunks: Any = None,
        engine: str | None = None,
        skip_existing: bool = False,
        fn_args: Any = None,
        allow_mismatch: bool = False,
        **runner_settings: Any,
    ) -> xr.Dataset | None:
        """Run explicit ``cases`` and merge the results in.

        Parameters are as for :meth:`harvest_combos`; ``cases`` and
        ``fn_args`` as for :meth:`Runner.run_cases`.
        """
        from .running import to_cases

        skip_existing = runner_settings.pop("missing_only", skip_existing)  # xyzpy
        parsed = to_cases(
            cases,
            fn_args if fn_args is not None else self.runner.fn_args,
            self.runner.constants,
        )
        if skip_existing and self.full_ds is not None:
            todo = _missing_cases(self.full_ds, parsed, self.runner, runner_settings)
            parsed = parsed if todo is None else todo
            if not parsed.size:
                return None
        ds = self.runner.run_cases(parsed, **runner_settings)
        self.add_ds(
            ds, sync=sync, overwrite=overwrite, chunks=chunks, engine=engine,
            allow_mismatch=allow_mismatch,
        )  # fmt: skip
        return ds

    def __repr__(self) -> str:
        return (
            f"<xsweep.Harvester>\n{self.runner!r}\n"
            f"  file: {self.data_name} [{self.engine}]"
        )

"""The Sampler: random samples of a function's arguments into a DataFrame.

Each sampled case is one row: its arguments, then the function's outputs.
Rows accumulate in ``full_df`` and, with a file name, in a pickle on disk,
replaced atomically (a crash never leaves a broken file). A Sampler's crop
(:meth:`Sampler.Crop`) sows samples as cases; reaping it merges its rows in
once per sowing (see :meth:`Sampler.merge_reaped`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import frames, labelling
from ..atomic import atomic_open
from ..crop.sow import Samples
from ..errors import FileFormatError, InvalidCombosError
from ..merging import merge_lock
from .cropping import CropMaker
from .files import delete_file
from .running import _engine_run
from .sampler_rows import _append, _merge_sowing

if TYPE_CHECKING:
    import pandas as pd

    from .runner import Runner

__all__ = ["Sampler"]

ENGINES = ("pickle", "csv")


def _draw(name: str, spec: Any, n: int, rng: np.random.Generator) -> list:
    """``n`` samples of one argument (see :meth:`Sampler.sample_combos`)."""
    if hasattr(spec, "rvs"):  # scipy.stats distributions
        return list(np.asarray(spec.rvs(size=n, random_state=rng)).tolist())
    if callable(spec):
        try:
            takes_rng = bool(inspect.signature(spec).parameters)
        except (TypeError, ValueError):
            takes_rng = False
        return [spec(rng) if takes_rng else spec() for _ in range(n)]
    if isinstance(spec, (str, bytes, Mapping)) or not hasattr(spec, "__len__"):
        raise InvalidCombosError(
            f"cannot sample {name!r} from {spec!r}: give a sequence of values, a "
            "callable returning one sample (optionally taking a numpy "
            "Generator), or a distribution with .rvs (scipy.stats)."
        )
    if not len(spec):
        raise InvalidCombosError(f"cannot sample {name!r} from an empty sequence.")
    picks = rng.integers(len(spec), size=n)
    values = list(spec)
    return [values[i] for i in picks]


class Sampler(CropMaker):
    """Run a :class:`Runner` on random samples of its arguments.

    Parameters
    ----------
    runner : Runner
        Runs the function; its ``var_names`` name the output columns.
    data_name : str or os.PathLike, optional
        Pickle file kept in sync with ``full_df`` (``file_name`` is an alias).
    default_combos : dict, optional
        What to sample from when :meth:`sample_combos` gets no ``combos``.
    full_df : pandas.DataFrame, optional
        Rows to start from instead of the file.
    engine : {"pickle", "csv"}, optional
        File format. A CSV file keeps no ``attrs`` (no provenance record, no
        failure records) and turns array values into text: use it only for
        plain numbers and strings.
    """

    def __init__(
        self,
        runner: Runner,
        data_name: str | Path | None = None,
        default_combos: Mapping[str, Any] | None = None,
        full_df: pd.DataFrame | None = None,
        engine: str = "pickle",
        *,
        file_name: str | Path | None = None,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"Sampler engine must be one of {ENGINES}, not {engine!r}")
        self.runner = runner
        self.data_name = data_name if data_name is not None else file_name
        self.default_combos = dict(default_combos or {})
        self.engine = engine
        self._full_df = full_df
        self.last_df: pd.DataFrame | None = None

    @property
    def file_name(self) -> str | Path | None:
        """Alias of ``data_name``."""
        return self.data_name

    @property
    def full_df(self) -> pd.DataFrame | None:
        """Every sample so far (read from disk on first access)."""
        if self._full_df is None:
            self.load_full_df()
        return self._full_df

    def load_full_df(self) -> None:
        """(Re)load ``full_df`` from the file; nothing if there is none."""
        if self.data_name is not None and Path(self.data_name).exists():
            self._full_df = _read(self.data_name, self.engine)

    def save_full_df(self, new_full_df: pd.DataFrame | None = None) -> None:
        """Save ``full_df`` (or ``new_full_df``, which replaces it) atomically."""
        if new_full_df is not None:
            self._full_df = new_full_df
        if self.data_name is None:
            raise ValueError("this Sampler has no data_name to save to")
        _write(self._full_df, self.data_name, self.engine)

    def delete_df(self, backup: bool = False) -> None:
        """Delete the file (first copied to ``<name>.BAK-<time>``)."""
        self._full_df = None
        delete_file(self.data_name, backup)

    def add_df(self, new_df: pd.DataFrame, sync: bool = True) -> None:
        """Append rows to ``full_df`` (and the file, if ``sync``).

        The attributes of the result are those of both frames (the new one's
        win), failure records of both kept.
        """
        self._update(lambda old: _append(old, new_df), sync)

    #: farmer protocol: a crop of a Sampler reaps rows (a DataFrame), not a dataset
    reap_to_df = True

    def merge_reaped(
        self, df: pd.DataFrame, overwrite: bool | None = None, *, source: Any = None
    ) -> None:
        """Merge rows reaped from this Sampler's crop (``Crop.reap`` calls it).

        The rows of one sowing are added once: reaping the same sowing again
        (after more batches were grown, or failed combos retried) replaces the
        rows it added before, NaN rows included, instead of adding them twice.
        The file, if any, is updated under a lock and replaced atomically.

        Parameters
        ----------
        df : pandas.DataFrame
            The reaped rows; they also become ``last_df``.
        overwrite : optional
            Unused (rows never clash); part of the farmer protocol.
        source : str, optional
            The id of the crop sowing the rows come from; None appends them.
        """
        self.last_df = df
        if source is None:
            self.add_df(df)
            return
        inputs = [c for c in df.columns if c not in (self.var_names or ())]
        self._update(lambda old: _merge_sowing(old, df, str(source), inputs), True)

    def _update(
        self, combine: Callable[[pd.DataFrame | None], pd.DataFrame], sync: bool
    ) -> None:
        """Replace ``full_df`` (and the file, if ``sync``) by ``combine(old)``."""
        if sync and self.data_name is not None:
            path = Path(self.data_name)
            path.parent.mkdir(parents=True, exist_ok=True)
            with merge_lock(path):
                full = combine(_read(path, self.engine) if path.exists() else None)
                _write(full, path, self.engine)
            self._full_df = full
        else:
            self._full_df = combine(self.full_df)

    def _check_labels(self) -> None:
        """Raise unless the runner names its outputs (one column each)."""
        if self.runner.var_names is None:
            raise InvalidCombosError(
                "a Sampler needs var_names (one column per output); functions "
                "returning Datasets are not supported here."
            )

    def gen_cases_fnargs(
        self, n: int, combos: Mapping[str, Any] | None = None, seed: Any = None
    ) -> tuple[tuple[str, ...], list[tuple]]:
        """Draw ``n`` cases; returns ``(fn_args, cases)``."""
        combos = dict(combos if combos is not None else self.default_combos)
        if not combos:
            raise InvalidCombosError(
                "nothing to sample: give combos={name: values or distribution}."
            )
        rng = np.random.default_rng(seed)
        columns = [_draw(k, v, int(n), rng) for k, v in combos.items()]
        return tuple(combos), list(zip(*columns, strict=True))

    def sample_combos(
        self,
        n: int,
        combos: Mapping[str, Any] | None = None,
        *,
        seed: Any = None,
        sync: bool = True,
        **runner_settings: Any,
    ) -> pd.DataFrame:
        """Run ``n`` random samples and append them to ``full_df``.

        Parameters
        ----------
        n : int
            How many samples.
        combos : dict, optional
            For each argument: a sequence (sampled uniformly), a callable
            returning one sample (it may take a ``numpy.random.Generator``),
            or a distribution with ``.rvs`` (scipy.stats). Default:
            ``default_combos``.
        seed : int or numpy.random.Generator, optional
            For reproducible samples.
        sync : bool, optional
            Append to the file too (default).
        **runner_settings
            Run settings (``num_workers``, ``on_error``, ...).

        Returns
        -------
        pandas.DataFrame
            The new rows (also ``last_df``); ``df.attrs`` holds the
            provenance record (``xsweep.provenance(df)``) and, with
            ``on_error="record"``, ``xsweep_failures``.
        """
        fn_args, rows = self.gen_cases_fnargs(n, combos, seed=seed)
        self.last_df = self._run(fn_args, rows, runner_settings)
        self.add_df(self.last_df, sync=sync)
        return self.last_df

    def _run(self, fn_args, rows, settings) -> pd.DataFrame:
        self._check_labels()
        runner = self.runner
        samples = Samples(fn_args, rows)
        start = labelling.utc_now()
        buffer = _engine_run(
            runner.fn,
            samples,
            var_names=runner.var_names,
            var_dims=runner.var_dims,
            var_coords={
                d: runner.var_coords.get(d, runner.constants.get(d))
                for dims in runner.var_dims.values()
                for d in dims
            },
            constants=runner.constants,
            resources=runner.resources,
            settings={**runner.default_runner_settings, **settings},
        )
        end = labelling.utc_now()
        return frames.buffer_to_frame(
            buffer,
            samples,
            var_names=runner.var_names,
            attrs=runner.attrs,
            provenance=labelling.provenance_attrs(runner.fn, start, end),
            constants=runner.constants,
        )

    # farmer protocol (for Crop)
    fn = property(lambda self: self.runner.fn)
    var_names = property(lambda self: self.runner.var_names)
    var_dims = property(lambda self: self.runner.var_dims)
    var_coords = property(lambda self: self.runner.var_coords)
    constants = property(lambda self: self.runner.constants)
    resources = property(lambda self: self.runner.resources)
    attrs = property(lambda self: self.runner.attrs)

    def __repr__(self) -> str:
        return f"<xsweep.Sampler>\n{self.runner!r}\n  file: {self.data_name}"


def _read(path: Any, engine: str = "pickle") -> pd.DataFrame:
    import pandas as pd

    try:
        if engine == "csv":
            return pd.read_csv(path)
        return pd.read_pickle(path)
    except Exception as exc:
        raise FileFormatError(
            f"{path} is not a readable {engine} DataFrame ({type(exc).__name__}: "
            f"{exc}); move it away or delete it, then sample again"
        ) from exc


def _write(df: pd.DataFrame, path: Any, engine: str = "pickle") -> None:
    with atomic_open(path, "wb") as f:
        if engine == "csv":  # (a CSV keeps no attrs: no provenance, no failures)
            f.write(df.to_csv(index=False).encode())
        else:
            df.to_pickle(f)

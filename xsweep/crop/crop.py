"""The :class:`Crop`: a sweep persisted in a shared directory.

Sow combos once, grow batches from any number of independent processes (on
any machines that see the directory), reap the labelled dataset. Importing
this module is light (numpy only): a grow process never pays for xarray.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CropError, FileFormatError
from . import claims
from .cluster import ClusterMethods
from .grow import Grower, GrowReport
from .grow_options import DOC, supervisions
from .layout import CropLayout
from .queries import CropQueries
from .sow import SowRecord, read_sow
from .sowing import SowMethods
from .sown_function import check_function, load_function
from .store import ResultStore
from .supervised import Supervision
from .xyzpy_methods import XyzpyMethods

if TYPE_CHECKING:
    import datetime

__all__ = ["Crop", "CropLayout"]


class Crop(SowMethods, CropQueries, ClusterMethods, XyzpyMethods):
    """A sweep persisted in ``<parent_dir>/.xyz-<name>/``.

    Parameters
    ----------
    fn : callable, optional
        The function; the crop's name defaults to its name.
    name : str, optional
        The crop's name (required if neither ``fn`` nor ``farmer`` is given).
    parent_dir : str or path, optional
        Where the crop directory goes; the current directory by default.
    save_fn : bool, optional
        Save the function (cloudpickled) so growers need not import it; by
        default when there is a function.
    batchsize, num_batches : int, optional
        Combos per batch, or batches in all (one of them). By default one combo
        per batch up to 1000 combos, then 1000 batches of balanced size.
    shuffle : bool or int, optional
        Spread combos over batches at random (an int is the seed), to balance
        load when combos differ in cost.
    farmer : Runner, Harvester or Sampler, optional
        Gives the function and how to label results; reap then returns a
        dataset (a Harvester also merges it into its file).
    autoload : bool, optional
        Load the settings of a crop already sown in that directory: sowing
        again uses its batching and shuffling (unless given) and, for a crop
        opened by name alone (no ``fn`` nor ``farmer``), its function, labels
        and constants (as defaults), so that the same combos keep every result.
    heartbeat_timeout : float, optional
        Seconds without a heartbeat after which another grower may take over a
        claimed batch (default ``$XSWEEP_HEARTBEAT_TIMEOUT`` or 600). A holder
        that is provably dead (same host, pid gone) is taken over at once.
    """

    def __init__(
        self,
        *,
        fn: Callable | None = None,
        name: str | None = None,
        parent_dir: str | os.PathLike | None = None,
        save_fn: bool | None = None,
        batchsize: int | None = None,
        num_batches: int | None = None,
        shuffle: bool | int = False,
        farmer: Any = None,
        autoload: bool = True,
        heartbeat_timeout: float | None = None,
    ) -> None:
        if farmer is not None:
            if fn is not None and fn is not getattr(farmer, "fn", None):
                raise ValueError(
                    "give either fn or a farmer (which has its fn), not both"
                )
            fn = getattr(farmer, "fn", None)
        if name is None:
            if fn is None:
                raise ValueError(
                    "a Crop needs a name, or a fn (or farmer) to name it by"
                )
            name = getattr(fn, "__name__", None) or type(fn).__name__
        if save_fn and fn is None:
            raise ValueError("save_fn=True but there is no function to save")
        self._fn = fn
        self._farmer = farmer
        self.name = name
        self._layout = CropLayout.for_name(name, parent_dir)
        self.parent_dir = str(self._layout.location.parent)
        self.save_fn = save_fn
        self.batchsize = batchsize
        self.num_batches = num_batches
        self._batching = (batchsize, num_batches)  # as asked, not as sown
        self.shuffle = shuffle
        self.heartbeat_timeout = claims.heartbeat_timeout(heartbeat_timeout)
        self._sow: SowRecord | None = None
        self._sow_stamp: tuple | None = None
        self._autoload = autoload
        if autoload and self.is_prepared():
            sow = self._read_sow()
            self.batchsize, self.num_batches = sow.batchsize, sow.num_batches
            if batchsize is None and num_batches is None:  # sow again as sown
                self._batching = tuple(sow.asked[:2])
            if shuffle is False:
                self.shuffle = sow.asked[2]

    # -------------------------------------------------------------- basics
    @property
    def farmer(self) -> Any:
        """The Runner, Harvester or Sampler: the one given, else (for a crop
        reopened by name) the one saved with the crop when it was sown."""
        if self._farmer is None and self._autoload and self.is_prepared():
            from .reap import load_farmer

            sow = self._read_sow(missing_ok=True)
            if sow is not None and sow.farmer_kind:
                with contextlib.suppress(FileNotFoundError, FileFormatError):
                    self._farmer = load_farmer(self._layout)
        return self._farmer

    @farmer.setter
    def farmer(self, farmer: Any) -> None:
        self._farmer = farmer

    @property
    def location(self) -> str:
        """The crop directory."""
        return str(self._layout.location)

    @property
    def layout(self) -> CropLayout:
        """Every path in the crop directory."""
        return self._layout

    @property
    def fn(self) -> Callable | None:
        """The function (loaded from the crop directory if it was saved)."""
        if self._fn is None and self.is_prepared():
            sow = self._read_sow()
            if sow.fn_saved:
                self._fn = load_function(self._layout, sow)
        return self._fn

    @fn.setter
    def fn(self, fn: Callable | None) -> None:
        self._fn = fn

    def is_prepared(self) -> bool:
        """Whether the crop has been sown (and not yet cleaned up)."""
        return self._layout.sow_file.exists()

    def _read_sow(self, missing_ok: bool = False) -> SowRecord | None:
        try:
            st = os.stat(self._layout.sow_file)
        except FileNotFoundError:
            if missing_ok:
                return None
            return read_sow(self._layout)  # raises the clear error
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._sow is None or stamp != self._sow_stamp:
            self._sow, self._sow_stamp = read_sow(self._layout), stamp
        return self._sow

    # --------------------------------------------------------------- grow
    def _grower(
        self, fn: Callable | None = None, supervision: Supervision | None = None
    ) -> Grower:
        sow = self._read_sow()
        fn = fn if fn is not None else self._fn
        if fn is None:
            fn = load_function(self._layout, sow)
            check_function(fn, sow, self._layout, loaded=True)
        elif sow.fn_fingerprint != "none":
            check_function(fn, sow, self._layout)
        return Grower(self._layout, sow, fn, self.heartbeat_timeout, supervision)

    def grow(
        self,
        batch_ids: int | str | Iterable[int | str] | None = None,
        *,
        fn: Callable | None = None,
        wait: bool = True,
        supervise: bool = True,
        subprocess: bool = False,
        combo_time_limit: float | None = None,
        max_deaths: int = 3,
        num_threads: int | None = None,
        affinities: Sequence[int] | None = None,
        gpus: Sequence[int] | None = None,
        deadline: float | datetime.datetime | None = None,
        verbosity: int = 0,
    ) -> GrowReport:
        """Grow batches here (by default: claim and grow all missing).

        Each batch is claimed first; batches already grown or claimed by a live
        grower are skipped. The function runs in one supervised child
        process (see ``supervise``).

        Parameters
        ----------
        batch_ids : int or sequence of int, optional
            Which batches (from 1); a string of digits (``sys.argv[1]`` of a
            job array task) is taken as its number.
        fn : callable, optional
            The function, if not saved with the crop (checked against it).
        deadline : float or datetime, optional
            Stop by then: seconds from now, or a time. A batch is claimed only
            if the longest batch measured so far (here and in the crop's
            results) fits before it with a margin (1 s + a quarter of that
            duration); a batch still running at the deadline is interrupted
            and released. Default: when the scheduler's allocation ends, if
            it can be known (``SLURM_JOB_END_TIME``, else one ``squeue``
            query; Grid Engine ``h_rt``; PBS ``PBS_WALLTIME``), else none.
            ``report.stopped`` says why growing stopped early.
        wait : bool, optional
            Before returning, watch batches held by other growers whose
            heartbeat has not been seen to move, and take over those whose
            claims go stale (at most about one heartbeat timeout; a live
            holder is recognised within one heartbeat interval). False
            returns at once, leaving them to their holders.
        {options}

        For this one process, ``affinities`` are all its CPUs and ``gpus`` all
        its devices. ``verbosity`` (xyzpy's) is accepted; what grew is in
        the returned report.
        """
        from .deadline import DeadlineReached, resolve

        if isinstance(affinities, Sequence) and not isinstance(affinities, str):
            affinities = [tuple(affinities)] if affinities else None
        supervision = supervisions(
            1, supervise=supervise, subprocess=subprocess,
            combo_time_limit=combo_time_limit, max_deaths=max_deaths,
            num_threads=num_threads, affinities=affinities, gpus=gpus,
            gpus_per_task=len(_as_list(gpus)) or 1,
        )[0]  # fmt: skip
        grower = self._grower(fn, supervision)
        grower.deadline = resolve(deadline)
        grower.measure_crop()
        report = GrowReport()
        try:
            with grower.deadline.enforced():
                if batch_ids is None:
                    return grower.pull(report, wait=wait)
                if isinstance(batch_ids, (int, str)):
                    batch_ids = [batch_ids]
                ids = [_batch_number(b) for b in batch_ids]
                return grower.grow(ids, report, wait=wait)
        except DeadlineReached:
            report.stopped = (
                f"the deadline ({grower.deadline.source}) passed while a batch was "
                "being grown: it was released, unfinished"
            )
            return report

    def grow_missing(
        self, num_workers: int | None = None, executor: Any = None, *,
        num_tasks: int | None = None, resources: dict | None = None,
        **options: Any,
    ) -> GrowReport:  # fmt: skip
        """Grow every missing batch, here or on workers.

        Parameters
        ----------
        num_workers : int, optional
            Grow with this many local workers: each a supervised child
            process of this one (the default with ``affinities`` or ``gpus``:
            one per CPU set or device). SIGTERM or Ctrl-C stops them within
            seconds: finished results are written, claims released.
        executor : optional
            Anything with ``submit`` (``concurrent.futures``, a dask
            ``Client``, ...): pull tasks are submitted that write results
            straight to the crop directory, so workers must see it.
        num_tasks : int, optional
            Pull tasks to submit to ``executor`` (default: its worker count).
        resources : dict, optional
            With a dask ``Client``: the worker resources each pull task needs,
            e.g. ``{{"GPU": 1}}`` (passed to ``Client.submit``).
        **options
            As for :meth:`grow`: deadline (one end for every worker),
            supervise, subprocess, combo_time_limit, max_deaths; with workers
            also num_threads, affinities, gpus and gpus_per_task, split
            between them. xyzpy's ``parallel=True`` (a worker per core; an
            int: that many) and ``verbosity`` are accepted.

        {options}
        """
        from .workers import grow_missing

        parallel = options.pop("parallel", False)  # xyzpy: a worker per core
        options.pop("verbosity", None)  # xyzpy's; what grew is in the report
        if parallel and num_workers is None and executor is None:
            cores = (
                len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else os.cpu_count()
            )
            num_workers = cores if parallel is True else int(parallel)
        return grow_missing(
            self, num_workers, executor, num_tasks, resources=resources, **options
        )

    def retry_failed(self, *, fn: Callable | None = None) -> GrowReport:
        """Rerun only the combos that failed, keeping every other result.

        Parameters
        ----------
        fn : callable, optional
            The function, if not saved with the crop. A function whose code
            differs from the one sown is a fix: the crop is sown again with
            it, keeping the results of the old code for the combos that did
            not fail (the reaped dataset names both versions in
            ``crop_code_versions``), and the failed combos are computed with
            the fix. Combos not grown yet will be grown with the fix too.
        """
        sow = self._read_sow()
        if fn is not None and sow.fn_fingerprint != "none":
            from .fingerprint import function_fingerprint

            if function_fingerprint(fn) != sow.fn_fingerprint:
                return self._retry_with_fix(fn, sow)
        grower = self._grower(fn)
        report = GrowReport()
        for bid in self.failed_results():
            grower.retry_batch(bid, report)
        return report

    def _retry_with_fix(self, fn: Callable, sow: SowRecord) -> GrowReport:
        """Sow again with ``fn``, keeping the old code's results, and grow the
        batches holding the combos that failed."""
        failed = sorted({f.index for f in self.failures()})
        if not failed:
            raise CropError(
                f"no combo of the crop at {self.location} failed, so there is "
                "nothing for retry_failed(fn=...) to fix. To compute every combo "
                "with the new function, sow again with it (crop.sow_combos(...); "
                "keep_old_code=True keeps the results of the old one)."
            )
        batchsize, num_batches, shuffle = sow.asked
        self._sow_grid(
            sow.kind, sow.combos, sow.constants, batchsize, num_batches, shuffle,
            1, keep_old_code=True, fn=fn, save_fn=sow.fn_saved,
        )  # fmt: skip
        self._fn = fn
        new = self._read_sow()
        batch_of = new.batch_of_flat()
        todo = sorted({int(batch_of[i]) for i in failed} - {0})
        return self._grower(fn).grow(todo)

    # --------------------------------------------------------------- reap
    def reap(
        self,
        wait: bool = False,
        clean_up: bool | None = None,
        allow_incomplete: bool = False,
        *,
        timeout: float | None = None,
        overwrite: bool | None = None,
        sync: bool = True,
    ) -> Any:
        """Gather every result: a dataset with a farmer, else raw results.

        A Sampler's crop gives a :class:`pandas.DataFrame` instead (one row per
        sown case: arguments, then outputs), also when reaped by a crop opened
        by name without its Sampler. A Harvester or Sampler (the one given, or
        the one saved with the crop at sow time) gets the result merged in.

        Parameters
        ----------
        wait : bool, optional
            Poll until every batch has a result (at most ``timeout`` seconds).
        clean_up : bool, optional
            Remove the crop's files once the result is safely saved (default:
            ``not allow_incomplete``). The reaped result stays, so reaping
            again returns it.
        allow_incomplete : bool, optional
            Reap what is there: NaN at failed or missing combos only; failures
            are listed in the attributes.
        timeout : float, optional
            Seconds ``wait`` may take (default 3600); then
            :class:`~xsweep.errors.CropTimeoutError`.
        overwrite : bool, optional
            How a Harvester merges conflicting data (see its ``merge_reaped``).
        sync : bool, optional
            Merge the result into the Harvester or Sampler (default; a Sampler
            adds a sowing's rows once, see its ``merge_reaped``).
        """
        from .reap import reap_sown

        return reap_sown(
            self, wait=wait, clean_up=clean_up, allow_incomplete=allow_incomplete,
            timeout=timeout, overwrite=overwrite, sync=sync,
        )  # fmt: skip

    def compact(self) -> int:
        """Merge every result file into one (atomically); how many results.

        Refused while a grower holds a live claim: it might miss a moved
        result and grow its batch again.
        """
        held = self._layout.list_claims().values()
        if busy := sum(not claims.is_stale(p, self.heartbeat_timeout) for p in held):
            raise CropError(
                f"{busy} batch(es) of {self.location} are being grown (live "
                "claims): compact once the growers have finished."
            )
        sow = self._read_sow()
        keep = {(k, fp) for k, fp in enumerate(sow.fingerprints, 1)}
        return ResultStore(self._layout).compact(keep)

    def delete_all(self) -> None:
        """Delete the crop directory and everything in it."""
        shutil.rmtree(self._layout.location, ignore_errors=True)
        self._sow, self._sow_stamp = None, None
        self.batchsize, self.num_batches = None, None  # as sown: nothing now

    # ------------------------------------------------------------- display
    def __repr__(self) -> str:
        from .render import render_text

        return render_text(self.status())

    def _repr_html_(self) -> str:
        from .render import render_html

        return render_html(self.status())


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v.strip()]
    return list(value) if isinstance(value, Sequence) else [value]


if Crop.grow.__doc__ and Crop.grow_missing.__doc__:  # not under python -OO
    Crop.grow.__doc__ = Crop.grow.__doc__.format(options=DOC)
    Crop.grow_missing.__doc__ = Crop.grow_missing.__doc__.format(options=DOC)


def _batch_number(batch_id: Any) -> Any:
    """A batch id given as a string of digits (from ``sys.argv``) as an int."""
    if isinstance(batch_id, str) and batch_id.strip().isdigit():
        return int(batch_id.strip())
    return batch_id

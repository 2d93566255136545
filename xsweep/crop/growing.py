"""Growing: the half of :class:`~xsweep.crop.crop.Crop` that computes what
was sown, here, on local workers or on an executor, and reruns failures."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CropError
from .advice import LABELS_DO_NOT_FIT, labels_do_not_fit
from .grow import Grower, GrowReport
from .grow_options import DOC, supervisions
from .sown_function import check_function, load_function
from .supervised import Supervision

if TYPE_CHECKING:
    import datetime

    from .layout import CropLayout
    from .sow import SowRecord


class GrowMethods:
    """Growing methods, mixed into :class:`~xsweep.crop.crop.Crop`.

    They need the crop's ``_layout``, ``_fn``, ``heartbeat_timeout``,
    ``_read_sow``, ``_sow_grid``, ``failures`` and ``failed_results``.
    """

    _layout: CropLayout
    _fn: Callable | None
    heartbeat_timeout: float

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

        supervision = _one_supervision(
            supervise=supervise, subprocess=subprocess,
            combo_time_limit=combo_time_limit, max_deaths=max_deaths,
            num_threads=num_threads, affinities=affinities, gpus=gpus,
        )  # fmt: skip
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
            from ..engine.parallel import default_num_workers

            num_workers = default_num_workers() if parallel is True else int(parallel)
        return grow_missing(
            self, num_workers, executor, num_tasks, resources=resources, **options
        )

    def retry_failed(
        self,
        *,
        fn: Callable | None = None,
        supervise: bool = True,
        subprocess: bool = False,
        combo_time_limit: float | None = None,
        max_deaths: int = 3,
        num_threads: int | None = None,
        affinities: Sequence[int] | None = None,
        gpus: Sequence[int] | None = None,
    ) -> GrowReport:
        """Rerun only the combos that failed, keeping every other result.

        They run as :meth:`grow` runs them: by default in a supervised child
        process, so a combo that crashes, kills its process or outlives
        ``combo_time_limit`` is recorded as a failure again and the retry
        goes on. A combo that failed on a time limit runs again without one
        unless ``combo_time_limit`` is given again.

        Parameters
        ----------
        fn : callable, optional
            The function, if not saved with the crop. A function whose code
            differs from the one sown is a fix: the crop is sown again with
            it, keeping the results of the old code for the combos that did
            not fail (the reaped dataset names both versions in
            ``crop_code_versions``), and the failed combos are computed with
            the fix. Combos not grown yet will be grown with the fix too.
        {options}

        Raises
        ------
        OutputMismatchError
            Every failure is a label mismatch (``OutputMismatchError``) and
            ``fn`` is no fix: a retry would fail them the same way. Nothing
            is run; sow the same combos again with labels that fit.
        """
        supervision = _one_supervision(
            supervise=supervise, subprocess=subprocess,
            combo_time_limit=combo_time_limit, max_deaths=max_deaths,
            num_threads=num_threads, affinities=affinities, gpus=gpus,
        )  # fmt: skip
        sow = self._read_sow()
        if fn is not None and sow.fn_fingerprint != "none":
            from .fingerprint import function_fingerprint

            if function_fingerprint(fn) != sow.fn_fingerprint:
                return self._retry_with_fix(fn, sow, supervision)
        check_labels_fit(self.failures(), self.location)
        grower = self._grower(fn, supervision)
        report = GrowReport()
        try:
            for bid in self.failed_results():
                grower.retry_batch(bid, report)
        finally:
            grower.close()  # ends the supervised child
        return report

    def _retry_with_fix(
        self, fn: Callable, sow: SowRecord, supervision: Supervision | None
    ) -> GrowReport:
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
        return self._grower(fn, supervision).grow(todo)


def _one_supervision(
    affinities: Sequence[int] | None = None, gpus: Sequence[int] | None = None,
    **options: Any,
) -> Supervision | None:  # fmt: skip
    """How one process runs the function: every CPU and device given is its own."""
    if isinstance(affinities, Sequence) and not isinstance(affinities, str):
        affinities = [tuple(affinities)] if affinities else None
    return supervisions(
        1, affinities=affinities, gpus=gpus,
        gpus_per_task=len(_as_list(gpus)) or 1, **options,
    )[0]  # fmt: skip


def check_labels_fit(failures: list, location: str) -> None:
    """Raise :class:`~xsweep.errors.OutputMismatchError` if every failure is a
    label mismatch: rerunning the same code cannot fix it."""
    if labels_do_not_fit(failures):
        from ..errors import OutputMismatchError

        n = len(failures)
        raise OutputMismatchError(
            f"{n} combo{'s' if n != 1 else ''} of the crop at {location} failed "
            f"because the labels do not fit the outputs, e.g. {failures[0].combo}: "
            f"{failures[0].message.rstrip('.')}. Nothing was rerun. "
            f"{LABELS_DO_NOT_FIT}."
        )


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v.strip()]
    return list(value) if isinstance(value, Sequence) else [value]


for _method in (GrowMethods.grow, GrowMethods.grow_missing, GrowMethods.retry_failed):
    if _method.__doc__:  # not -OO
        _method.__doc__ = _method.__doc__.format(options=DOC)


def _batch_number(batch_id: Any) -> Any:
    """A batch id given as a string of digits (from ``sys.argv``) as an int."""
    if isinstance(batch_id, str) and batch_id.strip().isdigit():
        return int(batch_id.strip())
    return batch_id

"""``xsweep grow CROP [BATCH ...]``: grow given batches, or pull until none is left.

This is what a job-array task runs, so it stays import-light: nothing here
(nor on the path it takes through ``xsweep.crop``) imports xarray, pandas,
matplotlib or tqdm.
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from typing import Any

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STOPPED,
    CliError,
    add_crop_arguments,
    open_crop,
    positive_float,
    positive_int,
)

HELP = "grow the given batches, or claim and grow batches until none is left"
DESCRIPTION = (
    "Grow the given batch ids (numbered from 1). With none, claim batches that "
    "are missing and grow them one after the other until nothing is left (pull "
    "mode): start as many of these as you like, on any machine that sees the "
    "crop, and they split the work. A batch already grown, or claimed by a live "
    "grower, is skipped. Exit code 0 also when there was nothing left to grow "
    "(a job-array task that finds the crop done has done its job), 1 when some "
    "combos failed, 4 when the file system failed (the crop directory vanished, "
    "a networked file system went away), 75 when it stopped early with batches "
    "left (--deadline, the scheduler's end time, or SIGUSR2: the scheduler's "
    "warning signal, after which the batch being grown is finished and no "
    "other claimed), 130 when interrupted by Ctrl-C, 143 by SIGTERM (a time "
    "limit, scancel, qdel): the batches being grown are released at once."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``grow``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "batches",
        nargs="*",
        type=positive_int,
        metavar="BATCH",
        help="batch ids to grow (from 1); none = pull mode",
    )
    parser.add_argument(
        "--heartbeat-timeout",
        type=positive_float,
        metavar="S",
        help="seconds without a heartbeat after which another grower's claim "
        "is stale and taken over (default: $XSWEEP_HEARTBEAT_TIMEOUT or 600); "
        "a claim whose holder died on this host is taken over at once",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="exit at once when the batches left are held by other growers; by "
        "default a grower first watches those whose heartbeat it has not seen "
        "move (at most one heartbeat interval for a live holder), and grows "
        "those whose claims go stale (at most about one heartbeat timeout)",
    )
    parser.add_argument(
        "--max-batches",
        type=positive_int,
        metavar="N",
        help="in pull mode, stop after growing N batches",
    )
    parser.add_argument(
        "--deadline",
        type=positive_float,
        metavar="SECONDS",
        help="stop within SECONDS: claim a batch only if the longest batch "
        "measured so far fits before then with a margin (default: when the "
        "scheduler's allocation ends, if known: SLURM_JOB_END_TIME or squeue, "
        "Grid Engine h_rt, PBS_WALLTIME); exit 75 if batches are left",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors"
    )
    add_how_arguments(parser, workers=True)


def add_how_arguments(parser: argparse.ArgumentParser, *, workers: bool) -> None:
    """Add the options saying how the function runs (supervision, time limit,
    placement) to ``parser``; with ``workers``, those of local workers too."""
    how = parser.add_argument_group(
        "how the function runs",
        "By default it runs in a child process that the grower watches: a combo "
        "that kills its process (a segfault, the out-of-memory killer, "
        "os._exit) is recorded as a failure of that combo, and growing goes on.",
    )
    if workers:
        how.add_argument(
            "--num-workers",
            type=positive_int,
            metavar="N",
            help="in pull mode, grow with N local workers (default 1; with "
            "--affinities or --gpus, one per CPU or device)",
        )
    how.add_argument(
        "--num-threads",
        type=positive_int,
        metavar="T",
        help="threads per worker for OpenMP, MKL, OpenBLAS, vecLib, numexpr, "
        "numba (default with N workers: usable CPUs // N; with one: unchanged)",
    )
    how.add_argument(
        "--affinities",
        type=_ints("--affinities"),
        metavar="CPUS",
        help="comma-separated CPUs: worker k is pinned to the k-th",
    )
    how.add_argument(
        "--gpus",
        type=_ints("--gpus"),
        metavar="IDS",
        help="comma-separated GPU ids: each worker sees its own device "
        "(CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES)",
    )
    if workers:
        how.add_argument(
            "--gpus-per-task",
            type=positive_float,
            metavar="F",
            default=1,
            help="devices per worker (default 1; 0.5: two workers share one)",
        )
    how.add_argument(
        "--subprocess",
        action="store_true",
        help="a fresh process for every batch (memory the function leaks is "
        "returned after each batch)",
    )
    how.add_argument(
        "--combo-time-limit",
        type=positive_float,
        metavar="S",
        help="kill a combo running longer than S seconds and record it as failed",
    )
    how.add_argument(
        "--max-deaths",
        type=positive_int,
        metavar="N",
        default=3,
        help="after N process deaths in one batch, record its combos not yet run "
        "as failed (default 3)",
    )
    how.add_argument(
        "--no-supervise",
        dest="supervise",
        action="store_false",
        help="run the function in the grower itself (a crash then kills it)",
    )


def _ints(option: str) -> Any:
    def parse(text: str) -> list[int]:
        from ..crop.placement import parse_ints

        try:
            return parse_ints(text, option)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse


def how_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of :func:`add_how_arguments` given on the command line
    (``--affinities`` and ``--gpus`` apart: they depend on the workers)."""
    return {
        "supervise": args.supervise,
        "subprocess": args.subprocess,
        "combo_time_limit": args.combo_time_limit,
        "max_deaths": args.max_deaths,
        "num_threads": args.num_threads,
    }


def run(args: argparse.Namespace) -> int:
    """Grow; exit 0 (also when nothing was left to grow), 1 when combos failed.

    A task of a job array that finds every batch done or claimed has done its
    job: it exits 0, so the scheduler does not show it as failed.
    """
    if args.name is not None and args.crop is not None:
        # ``xsweep grow --name N 3 4``: the first batch id landed in CROP
        args.batches = [positive_int(args.crop), *args.batches]
        args.crop = None
    if args.batches and args.max_batches is not None:
        raise CliError("--max-batches goes with pull mode (no BATCH given)")
    single = bool(args.batches) or args.max_batches is not None
    if args.num_workers and single:
        raise CliError("--num-workers goes with pull mode (no BATCH, no --max-batches)")
    workers = not single and (args.num_workers or args.affinities or args.gpus)
    from ..crop.deadline import resolve, stop_on_warning
    from ..crop.sigterm import released_on_sigterm

    crop = open_crop(args, heartbeat_timeout=args.heartbeat_timeout)
    options = how_options(args)
    # one end for the whole command
    options["deadline"] = None if args.deadline is None else resolve(args.deadline)
    if single:  # one process: all the CPUs and devices given are its own
        options.update(affinities=args.affinities, gpus=args.gpus)
    wait = not args.no_wait
    with released_on_sigterm(), stop_on_warning(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # said below, once
        if workers:
            report = crop.grow_missing(
                args.num_workers, affinities=args.affinities, gpus=args.gpus,
                gpus_per_task=args.gpus_per_task, **options,
            )  # fmt: skip
        elif args.batches:
            report = crop.grow(args.batches, wait=wait, **options)
        elif args.max_batches is not None:
            report = pull_at_most(crop, args.max_batches, {**options, "wait": wait})
        else:
            report = crop.grow(wait=wait, **options)
    if not args.quiet:
        print(describe(report, crop.location))
    if report.discarded:
        print(f"xsweep: note: {discarded(report)}", file=sys.stderr)
    return exit_code(report, crop, args.batches)


def exit_code(report: Any, crop: Any, batches: list[int] | None = None) -> int:
    """75 when stopped early with batches left, else 1 if combos failed, else 0."""
    if report.stopped:
        missing = set(crop.missing_results())
        if report.resown or (missing if not batches else missing & set(batches)):
            return EXIT_STOPPED
    return EXIT_FAILED if report.failed_combos else EXIT_OK


def pull_at_most(crop: Any, limit: int, options: dict[str, Any] | None = None) -> Any:
    """Claim and grow missing batches, at most ``limit`` of them."""
    from ..crop.grow import GrowReport

    crop.fn  # noqa: B018  (load the saved function once, not per batch)
    todo = list(crop.missing_results())
    shift = random.randrange(len(todo)) if todo else 0
    report = GrowReport()
    for batch in todo[shift:] + todo[:shift]:
        if len(report.grown) >= limit or report.stopped:
            break
        report.merge(crop.grow(batch, **(options or {})))
    return report


def describe(report: Any, location: str) -> str:
    """One line saying what a grow did."""
    parts = [f"grew {len(report.grown)} batch(es) in {location}"]
    if report.failed_combos:
        parts.append(f"{report.failed_combos} combo(s) failed (see xsweep status)")
    if report.skipped:
        parts.append(f"{len(report.skipped)} already grown")
    if report.held:
        shown = ", ".join(map(str, report.held[:10]))
        parts.append(f"held by other growers: {shown}")
    if report.resown:
        parts.append(
            "the crop was sown again while growing, and this grower went on "
            f"with the new sowing: of the {report.superseded} batch(es) it had "
            "grown for the sowing replaced, every result is kept by combo where "
            "the new sowing has that combo (kept when it was sown, or adopted "
            f"here into {len(report.adopted)} of its batches)"
        )
    if report.stopped:
        parts.append(f"stopped early: {report.stopped}")
    if report.discarded:
        parts.append(f"{len(report.discarded)} discarded (written first elsewhere)")
    return "; ".join(parts)


def discarded(report: Any) -> str:
    """What a grow that discarded results says about them."""
    shown = ", ".join(map(str, report.discarded[:10]))
    return (
        f"batch(es) {shown} computed here were discarded, not written: this "
        "grower had lost their claims (paused past the heartbeat timeout?) or "
        "another grower wrote them first; the result written first counts"
    )

"""``xsweep retry CROP``: run the failed combos again (and nothing else)."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from ._common import (
    EXIT_FAILED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_crop_arguments,
    open_crop,
    positive_float,
)
from .grow import add_how_arguments, how_options

HELP = "run the failed combos again, only them"
DESCRIPTION = (
    "Run again every combo that failed, keeping every result that succeeded. "
    "They run as 'xsweep grow' runs them: in a child process that this one "
    "watches, so a combo that crashes, kills its process or outlives "
    "--combo-time-limit is recorded as failed again and the retry goes on. "
    "Exit code 1 when some combos still fail (also, with nothing run, when the "
    "failures come from labels that do not fit the outputs: sow again with "
    "labels that fit), 2 on bad input (--adopt-code for a function saved by "
    "value), 3 when none had failed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``retry``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "--adopt-code",
        action="store_true",
        help="the function's code was edited to fix the failed combos: rerun "
        "them with the code as it is on disk now, keeping the other results "
        "(of the code sown); the reaped dataset names both versions. For a "
        "function saved by reference (importable from its module); one "
        "defined in a script or notebook is refused (exit 2): adopt it from "
        "Python, crop.retry_failed(fn=fixed)",
    )
    parser.add_argument(
        "--heartbeat-timeout",
        type=positive_float,
        metavar="S",
        help="seconds without a heartbeat after which another grower's claim "
        "is stale (default: $XSWEEP_HEARTBEAT_TIMEOUT or 600)",
    )
    add_how_arguments(parser, workers=False)


def run(args: argparse.Namespace) -> int:
    """Retry the failed combos; exit 1 if some still fail, 3 if none had."""
    crop = open_crop(args, heartbeat_timeout=args.heartbeat_timeout)
    # the crop's function as its module defines it now (imported afresh)
    fn = adopted_function(crop) if args.adopt_code else None
    failures = crop.failures()
    if not failures:
        print(f"no failed combo to retry in {crop.location}")
        return EXIT_NOTHING
    options = {
        **how_options(args),
        "affinities": args.affinities,
        "gpus": args.gpus,
    }
    timed_out = sum(f.exc_type == "TimeLimitExceeded" for f in failures)
    if timed_out and args.combo_time_limit is None:
        print(
            f"xsweep: note: {timed_out} of the combos failed on a time limit; "
            "they run again without one (give --combo-time-limit S to keep one)",
            file=sys.stderr,
        )
    from ..crop.sigterm import released_on_sigterm
    from ..errors import OutputMismatchError

    with released_on_sigterm(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # said below, once
        try:
            report = crop.retry_failed(fn=fn, **options)
        except OutputMismatchError as e:  # the labels: nothing was rerun
            raise CliError(str(e), EXIT_FAILED) from None
    still = crop.failures()
    print(
        f"retried {len(failures)} failed combo(s) in {crop.location}: "
        f"{len(still)} still fail"
    )
    if report.held:
        shown = ", ".join(map(str, report.held))
        print(f"batches {shown} are held by other growers: retry them later")
    if still:
        print(f"xsweep: note: {still_failing(still, crop.location)}", file=sys.stderr)
    return EXIT_FAILED if still else EXIT_OK


def adopted_function(crop: Any) -> Any:
    """The crop's function as its module defines it now; a :class:`CliError`
    (exit 2) if the command line cannot read another version of it."""
    from ..crop.sown_function import saved_by_value

    fn = crop.fn
    if fn is None:
        raise CliError(
            f"--adopt-code: the crop at {crop.location} was sown with "
            "save_fn=False, so the command line has no function to adopt. "
            "Nothing was run. Adopt the fixed function from Python: "
            "crop.retry_failed(fn=fixed_function)."
        )
    if saved_by_value(fn):
        name = getattr(fn, "__qualname__", None) or repr(fn)
        raise CliError(
            f"--adopt-code: the function {name!r} of the crop at {crop.location} "
            "was defined in a script or notebook and saved with the crop by "
            "value, so the command line cannot read a fixed version of it: it "
            "has only the code as sown. Nothing was run. Adopt the fix from "
            "Python: crop.retry_failed(fn=fixed_function) (every other result "
            "is kept); or sow the same combos again from the fixed script with "
            "keep_old_code=True (keeps the results of the combos that did not "
            "fail), then grow.",
            EXIT_USAGE,
        )
    return fn


def still_failing(failures: list, location: str) -> str:
    """What to do about the combos that still fail after a retry."""
    from ..crop.advice import LABELS_DO_NOT_FIT, LABELS_MISMATCH

    mismatched = sum(f.exc_type == LABELS_MISMATCH for f in failures)
    text = f"see them with: xsweep status {location}"
    if mismatched:
        return f"{text}. {mismatched} failed with {LABELS_MISMATCH}: " + (
            LABELS_DO_NOT_FIT[0].lower() + LABELS_DO_NOT_FIT[1:] + "."
        )
    return text

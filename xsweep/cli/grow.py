"""``xsweep grow CROP [BATCH ...]``: grow given batches, or pull until none is left.

This is what a job-array task runs, so it stays import-light: nothing here
(nor on the path it takes through ``xsweep.crop``) imports xarray, pandas,
matplotlib or tqdm.
"""

from __future__ import annotations

import argparse

from ._common import (
    EXIT_FAILED,
    EXIT_NOTHING,
    EXIT_OK,
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
    "crop, and they split the work. Exit code 1 when some combos failed, 3 when "
    "there was nothing to grow."
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
        "is stale and taken over (default: the crop's setting)",
    )
    parser.add_argument(
        "--max-batches",
        type=positive_int,
        metavar="N",
        help="in pull mode, stop after growing N batches",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors"
    )


def run(args: argparse.Namespace) -> int:
    """Grow; exit 0, 1 when some combos failed, 3 when nothing was grown."""
    if args.name is not None and args.crop is not None:
        # ``xsweep grow --name N 3 4``: the first batch id landed in CROP
        args.batches = [positive_int(args.crop), *args.batches]
        args.crop = None
    crop = open_crop(args)
    options = {}
    if args.heartbeat_timeout is not None:
        options["heartbeat_timeout"] = args.heartbeat_timeout
    if args.batches:
        if args.max_batches is not None:
            from ._common import CliError

            raise CliError("--max-batches goes with pull mode (no BATCH given)")
        reports = [crop.grow(batch, **options) for batch in args.batches]
    else:
        reports = crop.grow_pull(max_batches=args.max_batches, **options)
    if not reports:
        if not args.quiet:
            print(f"nothing to grow in {crop.location}")
        return EXIT_NOTHING
    failed = sum(_num_failures(r) for r in reports)
    if not args.quiet:
        where = crop.location
        print(f"grew {len(reports)} batch(es) in {where}; {failed} failed combo(s)")
    return EXIT_FAILED if failed else EXIT_OK


def _num_failures(report: object) -> int:
    return len(getattr(report, "failures", ()) or ())

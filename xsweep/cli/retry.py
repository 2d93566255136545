"""``xsweep retry CROP``: run the failed combos again (and nothing else)."""

from __future__ import annotations

import argparse

from ._common import EXIT_FAILED, EXIT_NOTHING, EXIT_OK, add_crop_arguments, open_crop

HELP = "run the failed combos again, only them"
DESCRIPTION = (
    "Run again every combo that failed, in this process, keeping every result "
    "that succeeded. Exit code 1 when some combos still fail, 3 when none had "
    "failed."
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
        "function saved by reference (importable from its module).",
    )


def run(args: argparse.Namespace) -> int:
    """Retry the failed combos; exit 1 if some still fail, 3 if none had."""
    crop = open_crop(args)
    before = crop.status().failed_combos
    if not before:
        print(f"no failed combo to retry in {crop.location}")
        return EXIT_NOTHING
    from ..crop.sigterm import released_on_sigterm

    # the crop's function as its module defines it now (imported afresh)
    fn = crop.fn if args.adopt_code else None
    with released_on_sigterm():
        report = crop.retry_failed(fn=fn)
    after = crop.status().failed_combos
    print(f"retried {before} failed combo(s) in {crop.location}: {after} still fail")
    if report.held:
        shown = ", ".join(map(str, report.held))
        print(f"batches {shown} are held by other growers: retry them later")
    return EXIT_FAILED if after else EXIT_OK

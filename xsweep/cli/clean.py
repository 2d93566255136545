"""``xsweep clean CROP``: remove what killed processes left behind."""

from __future__ import annotations

import argparse

from ._common import EXIT_OK, CliError, add_crop_arguments, open_crop

HELP = "remove stale temporaries and dead claims (--all --yes: the whole crop)"
DESCRIPTION = (
    "Remove temporary files and claims left behind by killed growers (never a "
    "live grower's claim, nor a result). With --all --yes, delete the whole crop "
    "directory, results included."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``clean``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "--all",
        action="store_true",
        help="delete the whole crop, results included (needs --yes)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="confirm --all (nothing is asked)"
    )


def run(args: argparse.Namespace) -> int:
    """Clean up; exit 0."""
    if args.yes and not args.all:
        raise CliError("--yes confirms --all; give both to delete the crop")
    if args.all and not args.yes:
        raise CliError(
            "--all deletes the whole crop, results included: add --yes to confirm"
        )
    crop = open_crop(args)
    if args.all:
        location = crop.location
        crop.delete_all()
        print(f"deleted {location}")
        return EXIT_OK
    removed = crop.clean()
    print(f"removed {len(removed)} stale file(s) from {crop.location}")
    return EXIT_OK

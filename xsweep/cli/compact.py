"""``xsweep compact CROP``: merge a grown crop's results into one file."""

from __future__ import annotations

import argparse

from ._common import EXIT_NOTHING, EXIT_OK, add_crop_arguments, open_crop

HELP = "merge every result into one file (fewer files; when no grower works)"
DESCRIPTION = (
    "Merge every result of the crop into one file, written atomically, then "
    "remove the files it replaces: a crop of thousands of batches becomes a "
    "handful of files (for file-count quotas, or copying). Refused while a "
    "grower holds a live claim. Exit code 3 when there was nothing to compact."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``compact``'s arguments to ``parser``."""
    add_crop_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Compact the crop; exit 3 if it held no result."""
    crop = open_crop(args)
    merged = crop.compact()
    if not merged:
        print(f"no result to compact in {crop.location}")
        return EXIT_NOTHING
    print(f"compacted {merged} result(s) of {crop.location} into one file")
    return EXIT_OK

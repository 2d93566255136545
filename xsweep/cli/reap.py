"""``xsweep reap CROP``: gather a crop's results into one labelled dataset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    add_crop_arguments,
    open_crop,
    positive_float,
)

HELP = "gather the results into a labelled dataset (netCDF)"
DESCRIPTION = (
    "Gather every batch's results into one labelled dataset and write it to "
    "--output (netCDF), or to the file of the crop's Harvester. By default every "
    "combo must be done; --allow-incomplete fills failed or missing combos with "
    "NaN (exit code 1 then). The crop is kept unless --clean-up is given, and "
    "cleaned up only once the dataset is safely on disk."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``reap``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the dataset to this netCDF file (written atomically)",
    )
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="reap even if some combos failed or are missing (NaN there)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait for the growers to finish every batch before reaping",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="S",
        help="with --wait, give up after S seconds (exit code 2)",
    )
    parser.add_argument(
        "--clean-up",
        action="store_true",
        help="delete the crop once the dataset is safely written",
    )


def run(args: argparse.Namespace) -> int:
    """Reap; exit 1 when the dataset has failed or missing combos."""
    if args.timeout is not None and not args.wait:
        raise CliError("--timeout goes with --wait")
    crop = open_crop(args)
    if args.output is not None and Path(args.output).is_dir():
        raise CliError(f"--output {args.output} is a directory; give a file name")
    options: dict[str, Any] = {
        "wait": args.wait,
        "allow_incomplete": args.allow_incomplete,
        "clean_up": args.clean_up and args.output is None,
    }
    if args.timeout is not None:
        options["timeout"] = args.timeout
    incomplete = bool(crop.missing_results()) or bool(crop.status().failed_combos)
    result = crop.reap(**options)
    if args.output is not None:
        _save(result, Path(args.output))
        print(f"reaped {crop.location} into {args.output}")
        if args.clean_up:
            crop.delete_all()
    elif result is not None:
        print(result)
    return EXIT_FAILED if incomplete and args.allow_incomplete else EXIT_OK


def _save(result: Any, path: Path) -> None:
    if not hasattr(result, "data_vars"):
        raise CliError(
            "this crop has no Runner / Harvester to label its results, so there "
            "is no dataset to write: reap it from Python instead"
        )
    from ..netcdf import save_dataset

    save_dataset(result, path)

"""``xsweep reap CROP``: gather a crop's results into one labelled dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import IncompleteCropError
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_crop_arguments,
    emit,
    open_crop,
    positive_float,
)

HELP = "gather the results into a labelled dataset (netCDF)"
DESCRIPTION = (
    "Gather every batch's results into one labelled dataset, save it in the crop "
    "directory and, with --output, to a netCDF file too (written atomically). By "
    "default every combo must be done: exit code 1 if some combos failed, 2 if "
    "some batches have no result yet; --allow-incomplete gives NaN at failed or "
    "missing combos (exit code 1 then, naming the batches that had no result "
    "on stderr). Once the dataset "
    "is safely on disk the crop's other files are removed (unless --keep); "
    "reaping again gives the same dataset."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``reap``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="also write the dataset to this netCDF file (atomically)",
    )
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="reap even if some combos failed or are missing (NaN there)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait until every batch has a result before reaping",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="S",
        help="with --wait, give up after S seconds (exit code 2; default 3600)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the crop's batches and results after reaping",
    )


def run(args: argparse.Namespace) -> int:
    """Reap; exit 1 when the dataset has failed or missing combos."""
    if args.timeout is not None and not args.wait:
        raise CliError("--timeout goes with --wait")
    output = None if args.output is None else Path(args.output)
    if output is not None and output.is_dir():
        raise CliError(f"--output {output} is a directory; give a file name")
    crop = open_crop(args, reaped_ok=True)
    if output is not None and not _labelled(crop):
        raise CliError(
            "this crop was sown without a Runner / Harvester / Sampler, so its "
            "results have no labels to write to netCDF: reap it without "
            "--output (or in Python), or sow it with Runner.Crop(...)"
        )
    if output is not None and _reaps_rows(crop):
        raise CliError(
            "this crop was sown by a Sampler: it reaps rows (a DataFrame, merged "
            "into the Sampler's file), not a netCDF dataset; reap it without "
            "--output"
        )
    before = crop.status()
    missing = list(crop.missing_results()) if args.allow_incomplete else []
    try:
        result = crop.reap(
            wait=args.wait,
            allow_incomplete=args.allow_incomplete,
            clean_up=False if args.keep else None,
            timeout=args.timeout,
        )
    except IncompleteCropError as e:
        from ..crop.reap import incomplete_message

        text = incomplete_message(e.missing, e.failures, e.num_batches, crop.location)
        raise CliError(text, EXIT_USAGE if e.missing else EXIT_FAILED) from None
    if output is not None:
        from ..netcdf import save_dataset

        save_dataset(result, output)
        print(f"reaped {crop.location} into {output}")
    else:
        emit(str(result))
    attrs = getattr(result, "attrs", None) or {}
    if missing and attrs.get("crop_missing_batches", len(missing)):
        shown = ", ".join(map(str, missing[:20]))
        more = f" (+{len(missing) - 20} more)" if len(missing) > 20 else ""
        print(
            f"xsweep: note: {len(missing)} batch(es) had no result yet, NaN at "
            f"their combos: {shown}{more} (grow them: xsweep grow "
            f"{crop.location})",
            file=sys.stderr,
        )
    return EXIT_FAILED if _incomplete(result, before) else EXIT_OK


def _labelled(crop: Any) -> bool:
    """Whether reaping ``crop`` gives a labelled dataset (it has a farmer)."""
    from ..crop.sow import read_sow

    layout = crop.layout
    if not layout.sow_file.exists():
        return layout.reaped_dataset.exists()
    return crop.farmer is not None or read_sow(layout).farmer_kind is not None


def _reaps_rows(crop: Any) -> bool:
    """Whether reaping ``crop`` gives a Sampler's rows rather than a dataset."""
    from ..crop.sow import read_sow

    layout = crop.layout
    if not layout.sow_file.exists():
        return layout.reaped_raw.exists()  # labelled (checked before): rows
    return bool(read_sow(layout).labels.get("reap_to_df"))


def _incomplete(result: Any, before: Any) -> bool:
    """Whether the reaped result has failed or missing combos."""
    from ..provenance_record import record_of

    attrs = record_of(result) if hasattr(result, "attrs") else None
    if attrs and "crop_missing_batches" in attrs:
        return bool(attrs["crop_missing_batches"] or attrs["crop_failed_combos"])
    return bool(before.sown and (before.failed_combos or before.pending))

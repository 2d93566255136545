"""``xsweep status CROP [--json]``: how far a crop has grown, and what failed."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import EXIT_FAILED, EXIT_OK, add_crop_arguments, emit, open_crop

HELP = "show pending / claimed / done / failed batches and failed combos"
DESCRIPTION = (
    "Show how many batches are pending, claimed (being grown), done and failed, "
    "how many combos failed and why. Exit code 1 when some combos failed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``status``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON"
    )


def run(args: argparse.Namespace) -> int:
    """Print the crop's status; exit code 1 when some combos failed."""
    from ..crop.render import render_text

    crop = open_crop(args, reaped_ok=True)
    status = crop.status()
    if args.json:
        emit(json.dumps(status.to_dict(), indent=2, default=_jsonable))
    else:
        emit(render_text(status))
    return EXIT_FAILED if status.failed_combos else EXIT_OK


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write by itself: numpy values, sets, the rest as repr."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return repr(value)

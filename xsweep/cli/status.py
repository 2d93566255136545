"""``xsweep status CROP [--json] [--watch [S]]``: how far a crop has grown."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ._common import EXIT_OK, add_crop_arguments, emit, open_crop

HELP = "show pending / claimed / done / failed batches, growers and failed combos"
DESCRIPTION = (
    "Show how many batches are pending, claimed (being grown), done and failed "
    "(grown with at least one failed combo), how many combos failed and why, "
    "the growers at work and their hosts, the age of the last result, the "
    "slowest and most memory-hungry batches, and the time left (only while "
    "growers are at work). Exit code 0 whenever the query succeeds, failed "
    "combos or not (--json has the counts)."
)

#: seconds between refreshes of ``--watch`` when none is given
WATCH_INTERVAL = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``status``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON"
    )
    parser.add_argument(
        "--watch",
        nargs="?",
        const=WATCH_INTERVAL,
        type=float,
        metavar="S",
        help=f"refresh in place every S seconds (default {WATCH_INTERVAL:g}) until "
        "every batch has a result or Ctrl-C",
    )


def run(args: argparse.Namespace) -> int:
    """Print the crop's status; exit code 0 when the query succeeded."""
    from ..crop.render import render_text

    crop = open_crop(args, reaped_ok=True)
    if args.watch is not None:
        return watch(crop, args.watch, args.json)
    status = crop.status()
    if args.json:
        emit(to_json(status))
    else:
        emit(render_text(status))
    return EXIT_OK


def to_json(status: Any) -> str:
    """The status as indented JSON."""
    return json.dumps(status.to_dict(), indent=2, default=_jsonable)


def watch(crop: Any, interval: float, as_json: bool = False) -> int:
    """Redraw the status in place every ``interval`` s until complete or Ctrl-C."""
    from ..crop.render import render_text

    interval = max(0.1, interval)
    tty = sys.stdout.isatty()
    try:
        while True:
            status = crop.status()
            text = to_json(status) if as_json else render_text(status)
            stamp = time.strftime("%H:%M:%S")
            if tty:  # home the cursor, clear the screen: refresh in place
                sys.stdout.write("\x1b[H\x1b[2J")
            sys.stdout.write(f"{text}\n(at {stamp}; Ctrl-C to stop)\n")
            sys.stdout.flush()
            if status.complete or not status.sown:
                return EXIT_OK
            time.sleep(interval)
    except KeyboardInterrupt:  # how a watch ends: the query succeeded
        sys.stdout.write("\n")
        return EXIT_OK


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write by itself: numpy values, sets, the rest as repr."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return repr(value)

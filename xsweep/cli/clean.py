"""``xsweep clean CROP``: remove what killed processes left behind.

A temporary file (``.<name>.tmp-<host>-<pid>-<n>``, see :mod:`xsweep.atomic`)
is removed only when its writer is provably dead (``<host>`` names this boot
and pid namespace, and the pid is gone) or, for another writer, when it looks
older than the heartbeat timeout plus an hour (so a clock skew of less than an
hour between hosts never removes a live grower's file). A claim is removed
only when its holder is provably dead: another host's claim is taken over by
a grower watching its heartbeat (see :mod:`xsweep.crop.claims`). Results are
never removed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from ._common import (
    EXIT_OK,
    CliError,
    add_crop_arguments,
    open_crop,
    positive_float,
)

HELP = (
    "remove stale temporaries, dead claims and scheduler logs (--all --yes: "
    "the whole crop)"
)
DESCRIPTION = (
    "Remove temporary files and claims left behind by killed growers (never a "
    "live grower's, nor a result), and the job-array tasks' scheduler logs "
    "(logs/) once no grower is at work. With --all --yes, delete the whole "
    "crop directory, results included."
)

#: seconds after which a claim set aside while being broken is debris
BROKEN_CLAIM_AGE = 60.0
#: margin for clock skew between hosts when judging another host's debris by age
SKEW_MARGIN = 3600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``clean``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "--heartbeat-timeout",
        type=positive_float,
        metavar="S",
        help="another host's temporary files are removed once they look "
        "older than this plus an hour (default: $XSWEEP_HEARTBEAT_TIMEOUT or 600)",
    )
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
    crop = open_crop(args, reaped_ok=args.all, heartbeat_timeout=args.heartbeat_timeout)
    if args.all:
        crop.delete_all()
        print(f"deleted {crop.location}")
        return EXIT_OK
    removed = remove_debris(crop)
    print(f"removed {len(removed)} stale file(s) from {crop.location}")
    logs = crop.layout.list_logs()
    if logs:
        from ..crop.logs import remove_logs
        from ..crop.status import live_growers

        if live_growers(crop.layout, crop.heartbeat_timeout):
            print(f"kept {len(logs)} scheduler log(s): growers are at work")
        else:
            print(f"removed {len(remove_logs(crop.layout))} scheduler log(s)")
    return EXIT_OK


def remove_debris(crop: Any) -> list[Path]:
    """Remove dead growers' temporaries and claims from ``crop``; what went."""
    from ..crop import claims

    timeout = crop.heartbeat_timeout
    removed = []
    for path in crop.layout.list_debris():
        if _is_dead_debris(path, timeout):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(path)
    for path in crop.layout.list_claims().values():
        if claims.break_stale(path, timeout):
            removed.append(path)
    return removed


def _is_dead_debris(path: Path, timeout: float) -> bool:
    """Whether the process that left ``path`` is provably gone (or silent)."""
    from ..atomic import TMP_MARK, WRITER_HOST
    from ..crop.provenance import pid_is_alive

    try:
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return False
    if TMP_MARK not in path.name:  # a claim set aside while being broken
        return age > BROKEN_CLAIM_AGE + SKEW_MARGIN
    parts = path.name.rsplit(TMP_MARK, 1)[1].rsplit("-", 2)  # host-pid-n
    try:
        host, pid = parts[0], int(parts[1])
    except (IndexError, ValueError):
        return age > timeout + SKEW_MARGIN
    if host == WRITER_HOST:  # this boot and pid namespace: the pid tells
        return not pid_is_alive(pid, None)
    return age > timeout + SKEW_MARGIN

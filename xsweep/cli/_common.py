"""What every subcommand shares: exit codes, the CROP argument, error reporting."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Any

from ..crop.deadline import EXIT_STOPPED as _EXIT_STOPPED

#: Success.
EXIT_OK = 0
#: The command ran but some combos failed.
EXIT_FAILED = 1
#: Usage error or bad input (a message on stderr says what and where).
EXIT_USAGE = 2
#: Nothing to do: the crop is not sown or already reaped, or nothing to retry.
#: (``grow`` with nothing left to grow succeeds: exit code 0.)
EXIT_NOTHING = 3
#: The file system or the machine failed, not the input: the crop directory
#: vanished or was unmounted, a networked file system went away (ENOTCONN,
#: ESTALE, EIO), the disk or quota is full. Nothing was half-written: run the
#: command again once the file system is back.
EXIT_SYSTEM = 4
#: ``grow`` stopped early with batches left (its deadline, or SIGUSR2: the
#: scheduler's warning signal); grow again (a job script requeues itself).
#: The value is ``EX_TEMPFAIL`` of ``sysexits.h``; defined with the deadline.
EXIT_STOPPED = _EXIT_STOPPED
#: Interrupted by Ctrl-C (SIGINT), as shells report it (128 + 2).
EXIT_INTERRUPTED = 130
#: Terminated by SIGTERM (a time limit, ``scancel``, ``qdel``), 128 + 15.
EXIT_TERMINATED = 143


class CliError(Exception):
    """An error the command line reports in one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def report_error(err: BaseException, *, code: int, debug: bool = False) -> int:
    """Print ``err`` to stderr (one line, or its traceback with ``debug``).

    Returns ``code``, the exit code.
    """
    if debug:
        traceback.print_exception(type(err), err, err.__traceback__)
    text = str(err) if isinstance(err, CliError) else _describe(err)
    print(f"xsweep: error: {text}", file=sys.stderr)
    if not debug and not _expected(err):
        print("xsweep: (run with --debug for the traceback)", file=sys.stderr)
    return code


def is_system_error(err: BaseException) -> bool:
    """Whether ``err`` says the file system failed (exit code 4), not the input."""
    from ..crop.records import SYSTEM_ERRNOS
    from ..errors import FileSystemError

    seen = 0
    while err is not None and seen < 5:
        if isinstance(err, FileSystemError):
            return True
        if isinstance(err, OSError) and err.errno in SYSTEM_ERRNOS:
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


def emit(text: str) -> None:
    """Print ``text`` to stdout; a reader that stopped reading (``| head``) is fine.

    On a broken pipe, stdout is pointed at ``/dev/null`` so that Python's
    flush at exit does not complain either.
    """
    try:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    """Point stdout at ``/dev/null`` (its reader is gone)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _describe(err: BaseException) -> str:
    from ..errors import XsweepError

    if isinstance(err, XsweepError):
        return str(err)
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.strerror or err} ({type(err).__name__}): {err.filename}"
    return f"{type(err).__name__}: {err}"


def _expected(err: BaseException) -> bool:
    from ..errors import XsweepError

    return isinstance(err, CliError | XsweepError | OSError)


# ------------------------------------------------------------------ CROP argument


def add_crop_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``CROP`` (a crop directory) or ``--name N --parent-dir D``."""
    parser.add_argument(
        "crop",
        nargs="?",
        metavar="CROP",
        help="the crop's directory, or its name if its directory .xyz-NAME is "
        "here (or give --name and --parent-dir)",
    )
    parser.add_argument("--name", help="the crop's name (instead of CROP)")
    parser.add_argument(
        "--parent-dir",
        metavar="DIR",
        help="directory holding the crop named --name (default: current directory)",
    )
    parser.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory to import the crop's function from (put first on "
        "sys.path; may be repeated). The directories it was importable from "
        "when sown are searched too",
    )


def open_crop(
    args: argparse.Namespace,
    *,
    reaped_ok: bool = False,
    heartbeat_timeout: float | None = None,
) -> Any:
    """Open the sown crop that ``args`` names.

    Parameters
    ----------
    args : argparse.Namespace
        With ``crop`` (a directory), or ``name`` and ``parent_dir``.
    reaped_ok : bool, optional
        Also open a crop that was reaped and cleaned up (only its dataset left).
    heartbeat_timeout : float, optional
        Passed to :class:`~xsweep.crop.crop.Crop`.

    Raises
    ------
    CliError
        Exit code 2 for contradictory arguments or a directory that is not a
        crop's, 3 when the crop is not sown (or already reaped).
    """
    from ..crop.layout import CropLayout

    if getattr(args, "path", None):
        from ..crop.import_paths import add_to_sys_path

        missing = [p for p in args.path if not Path(p).is_dir()]
        if missing:
            raise CliError(f"--path {missing[0]}: no such directory")
        add_to_sys_path(args.path, first=True)
    if args.name is not None:
        if args.crop is not None:
            raise CliError("give either CROP or --name/--parent-dir, not both")
        layout = CropLayout.for_name(args.name, args.parent_dir)
        name = args.name
    elif args.crop is not None:
        if args.parent_dir is not None:
            raise CliError("--parent-dir goes with --name, not with CROP")
        given = Path(args.crop).absolute()
        if given.name and CropLayout.name_of(given) is None and not given.is_dir():
            # a crop's name, as it was sown: ``xsweep grow demo`` for ./.xyz-demo
            named = CropLayout.for_name(given.name, given.parent)
            if named.location.is_dir():
                given = named.location
        layout = CropLayout(given)
        name = CropLayout.name_of(layout.location)
        if name is None:
            raise CliError(
                f"{args.crop} is not a crop directory (their names start with "
                "'.xyz-', and there is no .xyz-"
                f"{Path(args.crop).name} beside it); give the crop's directory, "
                "or --name and --parent-dir"
            )
    else:
        raise CliError("which crop? give its directory (CROP) or --name")
    if not layout.sow_file.exists():
        reaped = [p for p in (layout.reaped_dataset, layout.reaped_raw) if p.exists()]
        if not reaped:
            where = (
                f"the crop at {layout.location} is not sown (no {layout.sow_file.name})"
                if layout.location.is_dir()
                else f"there is no crop at {layout.location} (no such directory)"
            )
            raise CliError(
                f"{where}: check the path, or sow it first (crop.sow_combos(...))",
                code=EXIT_NOTHING,
            )
        if not reaped_ok:
            raise CliError(
                f"the crop at {layout.location} is already reaped (its result is "
                f"in {reaped[0]}): nothing to do",
                code=EXIT_NOTHING,
            )
    from ..crop.crop import Crop

    return Crop(
        name=name,
        parent_dir=str(layout.location.parent),
        heartbeat_timeout=heartbeat_timeout,
    )


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value

"""The ``xsweep`` command line: look at, grow, reap, retry and clean a crop.

Usage::

    xsweep status CROP [--json]
    xsweep grow CROP [BATCH ...] [--heartbeat-timeout S] [--max-batches N]
    xsweep reap CROP [--allow-incomplete] [--output FILE] [--wait [--timeout S]]
    xsweep retry CROP [--adopt-code] [--combo-time-limit S] [--max-deaths N]
    xsweep clean CROP [--all --yes]
    xsweep compact CROP

``CROP`` is the crop's directory, or ``--name N [--parent-dir D]``.

Exit codes (a batch script can rely on them)
--------------------------------------------
0
    Success.
1
    The command ran, but some combos failed (their errors are kept in the
    crop: ``xsweep status CROP`` lists them, ``xsweep retry CROP`` reruns them).
2
    Usage error or bad input: a wrong option, an unreadable or garbled file...
    A one-line message on stderr says what and where (no traceback unless
    ``--debug``).
3
    Nothing to do: the crop is not sown (yet) or already reaped, or there is
    no failed combo to retry. (``grow`` with nothing left to grow exits 0.)
4
    The file system failed, not the input: the crop directory vanished or was
    unmounted, a networked file system went away (ENOTCONN, ESTALE, EIO), the
    disk or quota is full. Nothing was half-written; run it again once the
    file system is back.
130
    Interrupted (Ctrl-C, SIGINT): a batch being grown is released at once,
    nothing half-written counts as done.
143
    Terminated (SIGTERM: a scheduler's time limit, ``scancel``, ``qdel``): the
    same, batches already computed are written first.

Each subcommand lives in its own module of this package, named after it, with
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Registering one is adding its name to :data:`SUBCOMMANDS`. Only the module of
the subcommand being run is imported, and none of them imports xarray, pandas
or matplotlib at module level, so ``xsweep grow`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import textwrap
from collections.abc import Sequence
from types import ModuleType

from ..errors import CropReapedError, Terminated
from ._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_SYSTEM,
    EXIT_TERMINATED,
    EXIT_USAGE,
    CliError,
    is_system_error,
    report_error,
    silence_stdout,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOTHING",
    "EXIT_OK",
    "EXIT_SYSTEM",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "SUBCOMMANDS",
    "build_parser",
    "main",
]

#: Subcommands, in the order ``--help`` lists them; each is ``xsweep.cli.<name>``.
SUBCOMMANDS: list[str] = [
    "status",
    "grow",
    "reap",
    "retry",
    "clean",
    "compact",
    "submit",
]

_EPILOG = """\
exit codes:
  0  success
  1  some combos failed (see 'xsweep status CROP', rerun with 'xsweep retry CROP')
  2  usage error or bad input (message on stderr)
  3  nothing to do: crop not sown or already reaped, nothing to retry
  4  the file system failed (crop directory vanished, network file system gone,
     disk full); nothing half-written: run again once it is back
  75  grow stopped early with batches left (deadline, SIGUSR2): grow again
  130  interrupted (Ctrl-C); a batch being grown is released
  143  terminated (SIGTERM, e.g. a time limit); likewise
"""


def _available() -> list[str]:
    """Registered subcommands whose module exists (another helper may add one)."""
    return [
        name
        for name in SUBCOMMANDS
        if importlib.util.find_spec(f"{__name__}.{name}") is not None
    ]


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (first non-option word), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, import and build that subcommand alone.

    Parameters
    ----------
    only : str, optional
        Name of the one subcommand to build (the others are not imported).
        By default, every registered subcommand is built, for ``--help``.
    """
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="xsweep",
        description="Grow, inspect and reap xsweep crops (sweeps persisted on disk).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"xsweep {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of a one-line message",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    names = [only] if only is not None else _available()
    for name in names:
        module = _load(name)
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=textwrap.fill(getattr(module, "DESCRIPTION", module.HELP), 79),
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``xsweep`` command line; return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 some combos failed, 2 usage error or bad input,
        3 nothing to do (crop not sown or already reaped, nothing to retry),
        4 the file system failed, 130 interrupted, 143 terminated (SIGTERM).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = _chosen(argv)
    only = chosen if chosen in _available() else None
    parser = build_parser(only)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("xsweep: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("xsweep: terminated (SIGTERM); claims released", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:  # the reader of stdout stopped reading (``| head``)
        silence_stdout()
        return EXIT_OK
    except CliError as err:
        return report_error(err, code=err.code, debug=args.debug)
    except CropReapedError as err:
        return report_error(err, code=EXIT_NOTHING, debug=args.debug)
    except Exception as err:  # a clear message, not a traceback (unless --debug)
        code = EXIT_SYSTEM if is_system_error(err) else EXIT_USAGE
        return report_error(err, code=code, debug=args.debug)

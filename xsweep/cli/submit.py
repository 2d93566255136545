"""``xsweep submit CROP --scheduler S [BATCH ...]``: write a job script, submit it.

The script (kept in the crop's ``cluster/`` directory unless ``--output-dir``
says otherwise) grows only missing batches: one per array task, or, with
``--num-tasks N`` / ``--pull``, N tasks that claim batches until none is left.
``--dry-run`` prints the script instead of submitting it.
"""

from __future__ import annotations

import argparse

from ._common import (
    EXIT_NOTHING,
    EXIT_OK,
    CliError,
    add_crop_arguments,
    open_crop,
    positive_float,
    positive_int,
)

HELP = "submit a job array that grows the crop on a batch scheduler"
DESCRIPTION = (
    "Write a job script growing the crop's missing batches and submit it to "
    "SLURM, Grid Engine, PBS/Torque, LSF or HTCondor; print the job id. Give "
    "BATCH ids (right after CROP) to submit only those, if missing. Directive "
    "lines starting with '-' need '=': --header='-l h=node1'. Exit code 2 for "
    "a bad option or a refused submission (the scheduler's message is shown), "
    "3 when nothing is left to grow."
)
SCHEDULERS = ("slurm", "sge", "pbs", "lsf", "htcondor")

#: command-line flag -> job option, for the options passed straight through
_OPTIONS = {
    "time": str, "hours": positive_float, "minutes": positive_float,
    "mem": str, "mem_per_cpu": str, "cpus": positive_int, "threads": positive_int,
    "gpus": int, "nodes": positive_int, "ranks": positive_int, "partition": str,
    "account": str, "max_running": positive_int, "python_setup": str,
    "output_dir": str, "launcher": str, "python": str, "name": str, "pe": str,
}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``submit``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "batches", nargs="*", type=positive_int, metavar="BATCH",
        help="batch ids to grow (default: every missing batch)",
    )  # fmt: skip
    parser.add_argument("-s", "--scheduler", required=True, choices=SCHEDULERS)
    parser.add_argument(
        "--mode", choices=("array", "single"), default="array",
        help="an array job (default) or one job growing everything",
    )  # fmt: skip
    parser.add_argument(
        "--pull", action="store_true",
        help="each task claims and grows batches until none is left",
    )  # fmt: skip
    parser.add_argument(
        "--num-tasks", type=positive_int, metavar="N",
        help="array tasks in pull mode (e.g. 50 for 10,000 batches)",
    )  # fmt: skip
    parser.add_argument(
        "--max-array-size", type=positive_int, metavar="N",
        help="the scheduler's array limit (SLURM: read from scontrol by default)",
    )  # fmt: skip
    res = parser.add_argument_group("job options")
    for name, kind in _OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if name == "name":
            flag = "--job-name"
        aliases = {"partition": ["--queue"], "account": ["--project"]}.get(name, [])
        res.add_argument(flag, *aliases, dest=name, type=kind, metavar=name.upper())
    res.add_argument(
        "--header", action="append", default=[], metavar="LINE",
        help="extra directive line (repeatable), e.g. --header='--qos=high'",
    )  # fmt: skip
    res.add_argument(
        "--setup", action="append", default=[], metavar="LINE",
        help="shell line run before Python (repeatable), e.g. 'module load python'",
    )  # fmt: skip
    res.add_argument("--pbs-flavor", choices=("pro", "torque"), default=None)
    parser.add_argument(
        "--dry-run", action="store_true", help="print the script, submit nothing"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print the id only")


def run(args: argparse.Namespace) -> int:
    """Submit (or print) the script; exit 0, 2 for a bad option, 3 if nothing left."""
    from ..errors import NothingToSubmitError, SchedulerError

    crop = open_crop(args)
    options = {k: getattr(args, k) for k in _OPTIONS if getattr(args, k) is not None}
    if args.header:
        options["header_lines"] = args.header
    if args.setup:
        options["shell_setup"] = args.setup
    if args.pbs_flavor:
        options["pbs_flavor"] = args.pbs_flavor
    kwargs = dict(
        mode=args.mode,
        pull=True if args.pull else None,
        num_tasks=args.num_tasks,
        max_array_size=args.max_array_size,
        **options,
    )
    batches = args.batches or None
    try:
        if args.dry_run:
            print(crop.gen_cluster_script(args.scheduler, batches, **kwargs), end="")
            return EXIT_OK
        job_id = crop.grow_cluster(args.scheduler, batches, **kwargs)
    except NothingToSubmitError as e:
        raise CliError(str(e), code=EXIT_NOTHING) from None
    except SchedulerError as e:
        raise CliError(str(e)) from None
    if args.quiet:
        print(job_id)
    else:
        print(f"submitted {args.scheduler} job {job_id} for {crop.location}")
    return EXIT_OK

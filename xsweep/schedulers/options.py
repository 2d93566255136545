"""Job options for every scheduler, parsed and checked in one place.

:func:`parse_options` turns the keyword arguments of
:func:`~xsweep.schedulers.gen_cluster_script` into a frozen :class:`JobOptions`:
times become seconds, memory becomes megabytes, counts become positive ints.
Anything that cannot be a valid job raises :class:`~xsweep.errors.SchedulerError`
naming the option and what would be accepted, before a script is written or
anything is submitted.
"""

from __future__ import annotations

import datetime
import difflib
import re
import shlex
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import SchedulerError

#: thread-count variables exported before Python starts, so that numpy's BLAS,
#: OpenMP code and numexpr do not oversubscribe the CPUs a task was given
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_TIME_RE = re.compile(r"^(?:(\d+)-)?(\d+):(\d{1,2}):(\d{1,2})$")
_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_MEM_UNITS_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024, "": 1024}
_NAME_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_PYTHON_RE = re.compile(r"^python[0-9.]*$")


@dataclass(frozen=True)
class JobOptions:
    """Validated options of one job (array), common to all schedulers.

    Attributes
    ----------
    name : str
        Job name (letters, digits, ``_ . + -``).
    time : int or None
        Wall-clock limit in seconds.
    mem_mb, mem_per_cpu_mb : int or None
        Memory per task, total or per CPU, in megabytes (at most one is set).
    cpus : int
        CPUs per task (per MPI rank when ``ranks > 1``).
    ranks : int
        MPI ranks (processes) per task, started by ``launcher``.
    threads : int
        Value of ``OMP_NUM_THREADS`` and friends (default: ``cpus``).
    gpus, nodes : int or None
        GPUs per task, nodes per task.
    partition, account : str or None
        Partition / queue, and account / project to charge.
    max_running : int or None
        At most this many array tasks run at once (``%N``).
    header_lines : tuple of str
        Extra directive lines (the scheduler's prefix is added when missing).
    shell_setup : tuple of str
        Shell lines run before Python (``module load``, venv or conda activation).
    python_setup : str
        Python code run in the task before growing.
    output_dir : str or None
        Directory for the script (and the scheduler's log files, unless
        ``log_dir`` is set).
    log_dir : str or None
        Directory for the scheduler's log files (a crop's ``logs/`` when
        ``output_dir`` is not given).
    launcher : str
        Command put before Python, e.g. ``mpiexec -n 4``.
    python : str
        The Python interpreter the tasks run.
    pe : str
        Grid Engine parallel environment used for ``cpus > 1``.
    pbs_flavor : {'pro', 'torque'}
        Which PBS dialect to write.
    requeue : bool
        Ask for the scheduler's warning signal ``warning_time`` seconds before
        the time limit; a task stopped by it (or by its deadline) with batches
        left requeues itself (see :func:`xsweep.schedulers.script.requeue_body`).
    warning_time : int
        Seconds between the warning signal and the time limit (default 120).
    """

    name: str = "xsweep"
    time: int | None = None
    mem_mb: int | None = None
    mem_per_cpu_mb: int | None = None
    cpus: int = 1
    ranks: int = 1
    threads: int = 1
    gpus: int | None = None
    nodes: int | None = None
    partition: str | None = None
    account: str | None = None
    max_running: int | None = None
    header_lines: tuple[str, ...] = ()
    shell_setup: tuple[str, ...] = ()
    python_setup: str = ""
    output_dir: str | None = None
    log_dir: str | None = None
    launcher: str = ""
    python: str = field(default_factory=lambda: sys.executable)
    pe: str = "smp"
    pbs_flavor: str = "pro"
    requeue: bool = False
    warning_time: int = 120

    def logs(self) -> Path:
        """Where the scheduler writes the tasks' output."""
        return Path(self.log_dir or self.output_dir or ".")


#: keyword arguments accepted by :func:`parse_options` (besides JobOptions fields)
ALIASES = {
    "queue": "partition",
    "project": "account",
    "cpus_per_task": "cpus",
    "ntasks": "ranks",
    # xyzpy's names
    "num_procs": "cpus",
    "num_threads": "threads",
    "num_nodes": "nodes",
    "gigabytes": "mem",
    "output_directory": "output_dir",
    "setup": "python_setup",
}
_TIME_UNITS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
_TIME_KEYS = ("time", *_TIME_UNITS)
_MEM_KEYS = ("mem", "mem_per_cpu")
_DIRECT = {f.name for f in fields(JobOptions)} - {"time", "mem_mb", "mem_per_cpu_mb"}
OPTION_NAMES = frozenset(
    _DIRECT | set(ALIASES) | set(_TIME_KEYS) | set(_MEM_KEYS) | {"conda_env"}
)


def parse_options(**options: Any) -> JobOptions:
    """Check and normalise job options.

    Parameters
    ----------
    time : str or datetime.timedelta, optional
        ``"H:M:S"`` or ``"D-H:M:S"`` (hours may exceed 24).
    days, hours, minutes, seconds : float, optional
        The limit as numbers, summed (not together with ``time``).
    mem, mem_per_cpu : float or str, optional
        Memory per task, total or per CPU: a number of gigabytes or a string
        with a unit, ``"500M"``, ``"4G"``, ``"1.5GB"``, ``"2GiB"``.
    cpus (alias cpus_per_task), ranks, threads, gpus, nodes, max_running : int, optional
    partition (alias queue), account (alias project) : str, optional
    name, header_lines, shell_setup, python_setup, output_dir, launcher,
    python, pe, pbs_flavor
        See :class:`JobOptions`.
    conda_env : str, optional
        Activate this conda environment before Python starts (as xyzpy).
        xyzpy's ``num_procs``, ``num_threads``, ``num_nodes``, ``gigabytes``,
        ``output_directory`` and ``setup`` are accepted too, and a
        ``launcher`` ending in a Python interpreter (``"python"``,
        ``"mpiexec python3"``) sets ``python``.

    Returns
    -------
    JobOptions

    Raises
    ------
    SchedulerError
        For an unknown option or a value that cannot be a valid job.
    """
    opts = {}
    for key, value in options.items():
        key = ALIASES.get(key, key)
        if key not in OPTION_NAMES:
            close = difflib.get_close_matches(key, sorted(OPTION_NAMES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SchedulerError(
                f"unknown job option {key!r}{hint}; known options: "
                f"{', '.join(sorted(OPTION_NAMES))}"
            )
        if key in opts:
            raise SchedulerError(f"job option {key!r} given twice (through an alias)")
        if value is not None:
            opts[key] = value
    out: dict[str, Any] = {"time": _parse_time_options(opts)}
    if "mem" in opts and "mem_per_cpu" in opts:
        raise SchedulerError("give either mem (per task) or mem_per_cpu, not both")
    if "mem" in opts:
        out["mem_mb"] = parse_memory(opts.pop("mem"), "mem")
    if "mem_per_cpu" in opts:
        out["mem_per_cpu_mb"] = parse_memory(opts.pop("mem_per_cpu"), "mem_per_cpu")
    out["cpus"] = _positive_int(opts.pop("cpus", 1), "cpus")
    out["ranks"] = _positive_int(opts.pop("ranks", 1), "ranks")
    out["threads"] = _positive_int(opts.pop("threads", out["cpus"]), "threads")
    out["gpus"] = _count(opts.pop("gpus", None), "gpus", minimum=0)
    for key in ("nodes", "max_running"):
        out[key] = _count(opts.pop(key, None), key, minimum=1)
    for key in ("partition", "account", "pe", "python"):
        if key in opts:
            out[key] = _word(opts.pop(key), key)
    if "name" in opts:
        name = str(opts.pop("name"))
        if not _NAME_RE.match(name):
            raise SchedulerError(
                f"invalid job name {name!r}: use letters, digits and _ . + - only"
            )
        out["name"] = name
    flavor = opts.pop("pbs_flavor", "pro")
    if flavor not in ("pro", "torque"):
        raise SchedulerError(f"pbs_flavor must be 'pro' or 'torque', not {flavor!r}")
    out["pbs_flavor"] = flavor
    requeue = opts.pop("requeue", False)
    if not isinstance(requeue, bool):
        raise SchedulerError(f"requeue must be True or False, not {requeue!r}")
    out["requeue"] = requeue
    if "warning_time" in opts:  # seconds, or 'H:M:S'
        lead = opts.pop("warning_time")
        if isinstance(lead, int) and not isinstance(lead, bool):
            out["warning_time"] = _positive_int(lead, "warning_time")
        else:
            out["warning_time"] = parse_time(lead, "warning_time")
    out["header_lines"] = _lines(opts.pop("header_lines", ()), "header_lines")
    out["shell_setup"] = _lines(opts.pop("shell_setup", ()), "shell_setup")
    if "conda_env" in opts:  # xyzpy's option: activate a conda environment first
        env = _word(opts.pop("conda_env"), "conda_env")
        activate = f'eval "$(conda shell.bash hook)" && conda activate {env}'
        out["shell_setup"] = (activate, *out["shell_setup"])
    out["python_setup"] = _python_code(opts.pop("python_setup", ""))
    for key in ("output_dir", "log_dir"):
        if key in opts:
            out[key] = str(opts.pop(key))
    launcher = _launcher(opts.pop("launcher", ""))
    words = shlex.split(launcher)
    if words and _PYTHON_RE.match(words[-1].rsplit("/", 1)[-1]):
        # xyzpy's launcher="python" (or "mpiexec -n 4 python"): the interpreter
        out.setdefault("python", words[-1])
        launcher = shlex.join(words[:-1])
    out["launcher"] = launcher
    return JobOptions(**out)


def parse_time(value: str | datetime.timedelta | float, what: str = "time") -> int:
    """Seconds in ``"H:M:S"``, ``"D-H:M:S"`` or a timedelta.

    A bare number is refused: ``"2"`` could mean hours or minutes (xyzpy once
    turned ``time='2:00:00'`` into a 20-hour limit); use ``hours=2`` instead.
    """
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        m = _TIME_RE.match(value.strip())
        if not m:
            raise SchedulerError(
                f"invalid {what} {value!r}: use 'H:M:S' (e.g. '2:30:00') or "
                f"'D-H:M:S' (e.g. '1-12:00:00'), or hours=/minutes= numbers"
            )
        d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        if mi >= 60 or s >= 60:
            raise SchedulerError(
                f"invalid {what} {value!r}: minutes and seconds must be below 60"
            )
        seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    else:
        raise SchedulerError(
            f"invalid {what} {value!r}: give a string 'H:M:S' / 'D-H:M:S', a "
            f"datetime.timedelta, or hours=/minutes= numbers"
        )
    if seconds <= 0:
        raise SchedulerError(f"invalid {what} {value!r}: must be positive")
    return int(-(-seconds // 1))


def parse_memory(value: str | float, what: str = "mem") -> int:
    """Megabytes in a number of gigabytes or a string with a unit (K/M/G/T)."""
    if isinstance(value, bool):
        raise SchedulerError(f"invalid {what} {value!r}")
    if isinstance(value, int | float):
        mb = float(value) * 1024
    elif isinstance(value, str) and (m := _MEM_RE.match(value)):
        mb = float(m.group(1)) * _MEM_UNITS_MB[m.group(2).upper()]
    else:
        raise SchedulerError(
            f"invalid {what} {value!r}: give gigabytes as a number (4) or a string "
            f"with a unit ('500M', '4G', '1.5GB')"
        )
    if mb <= 0:
        raise SchedulerError(f"invalid {what} {value!r}: must be positive")
    return max(1, int(-(-mb // 1)))


def format_hms(seconds: int, *, days: bool = False) -> str:
    """``HH:MM:SS`` (hours may exceed 24), or ``D-HH:MM:SS`` with ``days``."""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    if days and h >= 24:
        d, h = divmod(h, 24)
        return f"{d}-{h:02d}:{m:02d}:{s:02d}"
    return f"{h:02d}:{m:02d}:{s:02d}"


def _parse_time_options(opts: dict[str, Any]) -> int | None:
    numbers = {k: opts.pop(k) for k in _TIME_UNITS if k in opts}
    if "time" in opts:
        if numbers:
            raise SchedulerError(f"give either time= or {'/'.join(numbers)}=, not both")
        return parse_time(opts.pop("time"))
    if not numbers:
        return None
    total = 0.0
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise SchedulerError(f"invalid {key}={value!r}: give a number >= 0")
        total += value * _TIME_UNITS[key]
    if total <= 0:
        raise SchedulerError(f"invalid time limit {numbers}: must be positive")
    return int(-(-total // 1))


def _positive_int(value: Any, what: str) -> int:
    out = _count(value, what, minimum=1)
    assert out is not None
    return out


def _count(value: Any, what: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        try:
            ok = not isinstance(value, bool) and int(value) == value >= minimum
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise SchedulerError(
                f"invalid {what}={value!r}: give a whole number >= {minimum}"
            )
    return int(value)


def _word(value: Any, what: str) -> str:
    text = str(value)
    if not text or any(c.isspace() for c in text) or text == "None":
        raise SchedulerError(f"invalid {what}={value!r}: give a non-empty name")
    return text


def _lines(value: str | Sequence[str], what: str) -> tuple[str, ...]:
    items = value.splitlines() if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise SchedulerError(f"invalid {what}: {item!r} is not a string")
        if item.strip():
            out.append(item.rstrip())
    return tuple(out)


def _python_code(code: str) -> str:
    if not isinstance(code, str):
        raise SchedulerError(f"python_setup must be a string of code, not {code!r}")
    code = textwrap.dedent(code)
    if any(line.strip() == "XSWEEP_PY" for line in code.splitlines()):
        raise SchedulerError("python_setup may not contain a line 'XSWEEP_PY'")
    try:
        compile(code, "<python_setup>", "exec")
    except SyntaxError as e:
        raise SchedulerError(f"python_setup is not valid Python: {e}") from None
    return code.strip()


def _launcher(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return value.strip()
    return shlex.join(str(v) for v in value)

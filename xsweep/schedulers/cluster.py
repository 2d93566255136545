"""Generate and submit job scripts for a crop: the logic behind
``Crop.gen_cluster_script``, ``Crop.grow_cluster`` and ``xsweep submit``.

These functions take the crop by protocol (``crop.location``,
``crop.layout``, ``crop.missing_results()``): they never import the crop
layer, which sits above them and calls them from the Crop's methods.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ..atomic import write_bytes
from ..errors import SchedulerError
from .base import Scheduler
from .htcondor import HTCondor
from .lsf import LSF
from .options import parse_options
from .pbs import PBS
from .plan import TaskPlan, make_plan
from .script import render_script
from .sge import GridEngine
from .slurm import Slurm

#: scheduler name -> back end class
SCHEDULERS: dict[str, type[Scheduler]] = {
    "slurm": Slurm,
    "sge": GridEngine,
    "pbs": PBS,
    "lsf": LSF,
    "htcondor": HTCondor,
}
_ALIASES = {
    "grid engine": "sge",
    "gridengine": "sge",
    "uge": "sge",
    "condor": "htcondor",
}

#: sub-directory of the crop holding scripts and scheduler logs by default
CLUSTER_DIR = "cluster"


class CropLike(Protocol):
    """What these functions need of a crop."""

    @property
    def location(self) -> Any: ...

    @property
    def layout(self) -> Any: ...  # a CropLayout: where the logs go

    def missing_results(self) -> Sequence[int]: ...


def get_scheduler(
    name: str, *, max_array_size: int | None = None, pbs_flavor: str = "pro"
) -> Scheduler:
    """The back end called ``name`` (``'slurm'``, ``'sge'``, ``'pbs'``, ...)."""
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in SCHEDULERS:
        raise SchedulerError(
            f"unknown scheduler {name!r}: choose one of {', '.join(SCHEDULERS)}"
        )
    if max_array_size is not None and (
        isinstance(max_array_size, bool)
        or not isinstance(max_array_size, int)
        or max_array_size < 1
    ):
        raise SchedulerError(
            f"max_array_size must be an int >= 1, not {max_array_size!r}"
        )
    if key == "pbs":
        return PBS(max_array_size, flavor=pbs_flavor)
    return SCHEDULERS[key](max_array_size)


@dataclasses.dataclass(frozen=True)
class JobScript:
    """A generated script and what it will do."""

    scheduler: Scheduler
    plan: TaskPlan
    text: str
    output_dir: Path
    name: str


def prepare_script(
    crop: CropLike,
    scheduler: str,
    batch_ids: Sequence[int] | None = None,
    *,
    mode: str = "array",
    pull: bool | None = None,
    num_tasks: int | None = None,
    max_array_size: int | None = None,
    **options: Any,
) -> JobScript:
    """Check everything and build the script (nothing written or submitted)."""
    location = Path(os.fspath(crop.location)).absolute()
    is_prepared = getattr(crop, "is_prepared", None)
    if is_prepared is not None and not is_prepared():
        raise SchedulerError(
            f"the crop at {location} is not sown: sow it (crop.sow_combos(...)) "
            "before submitting jobs to grow it"
        )
    options.setdefault("name", _default_name(location))
    opts = parse_options(**options)
    if opts.output_dir is None:  # scripts in cluster/, logs in logs/
        opts = dataclasses.replace(
            opts,
            output_dir=str(location / CLUSTER_DIR),
            log_dir=opts.log_dir or str(crop.layout.logs_dir),
        )
    try:  # the scheduler cannot write a log into a missing directory
        opts.logs().mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SchedulerError(
            f"cannot create the log directory {opts.logs()}: {e}"
        ) from None
    backend = get_scheduler(
        scheduler, max_array_size=max_array_size, pbs_flavor=opts.pbs_flavor
    )
    plan = make_plan(
        batch_ids,
        list(crop.missing_results()),
        mode=mode,
        pull=pull,
        num_tasks=num_tasks,
        index_base=backend.index_base,
        direct_ok=backend.direct_ok,
        max_index=backend.max_index() if mode == "array" else None,
    )
    text = render_script(backend, opts, plan, str(location))
    return JobScript(backend, plan, text, Path(opts.output_dir or "."), opts.name)


def gen_cluster_script(
    crop: CropLike,
    scheduler: str,
    batch_ids: Sequence[int] | None = None,
    *,
    mode: str = "array",
    **options: Any,
) -> str:
    """The job script that grows ``crop`` on ``scheduler``, as text.

    Parameters
    ----------
    crop : Crop
        A sown crop.
    scheduler : {'slurm', 'sge', 'pbs', 'lsf', 'htcondor'}
    batch_ids : sequence of int, optional
        Batches to grow (default: all missing). Batches already grown are
        dropped: only missing batches are ever submitted.
    mode : {'array', 'single'}
        An array job, or one job growing everything in one process.
    pull : bool, optional
        Pull mode: each task claims and grows batches until none is left
        (default when ``num_tasks`` is given, or when all missing batches are
        asked for and the array would exceed the scheduler's limit).
    num_tasks : int, optional
        Array size in pull mode (e.g. 50 tasks for 10,000 batches), or the
        number of tasks sharing a list of batches.
    max_array_size : int, optional
        The scheduler's array limit (SLURM: read from ``scontrol show config``).
    **options
        Job options: ``time``, ``hours``, ``minutes``, ``mem``, ``mem_per_cpu``,
        ``cpus``, ``threads``, ``gpus``, ``nodes``, ``ranks``, ``partition``
        (``queue``), ``account``, ``max_running``, ``header_lines``,
        ``shell_setup``, ``python_setup``, ``output_dir``, ``launcher``,
        ``python``, ``name``; see :func:`xsweep.schedulers.options.parse_options`.

    Returns
    -------
    str

    Raises
    ------
    SchedulerError
        For a bad option or when nothing is left to grow.
    """
    return prepare_script(crop, scheduler, batch_ids, mode=mode, **options).text


def grow_cluster(
    crop: CropLike,
    scheduler: str,
    batch_ids: Sequence[int] | None = None,
    *,
    mode: str = "array",
    **options: Any,
) -> str:
    """Write the job script into the output directory and submit it.

    Takes the arguments of :func:`gen_cluster_script`.

    Returns
    -------
    str
        The scheduler's job id.

    Raises
    ------
    SchedulerError
        For a bad option, nothing to grow, or a submission the scheduler refused
        (with its message).
    """
    job = prepare_script(crop, scheduler, batch_ids, mode=mode, **options)
    path = write_script(job)
    return job.scheduler.submit(path)


def write_script(job: JobScript) -> Path:
    """Write ``job``'s script (executable) into its output directory."""
    try:
        job.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SchedulerError(
            f"cannot create the output directory {job.output_dir}: {e}"
        ) from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in itertools.count():
        suffix = f"-{n}" if n else ""
        path = job.output_dir / f"{job.name}-{stamp}{suffix}.sh"
        if not path.exists():
            break
    write_bytes(path, job.text.encode())
    path.chmod(0o755)
    return path


def _default_name(location: Path) -> str:
    name = location.name.removeprefix(".xyz-") or "crop"
    return "xsweep-" + re.sub(r"[^A-Za-z0-9_.+-]", "_", name)

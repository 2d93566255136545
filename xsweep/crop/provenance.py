"""Who computed a result: host, process and scheduler job / array ids."""

from __future__ import annotations

import os
import re
import resource
import socket
import sys
import time
from typing import Any

from ..atomic import BOOT_ID, pid_namespace

#: environment variables naming a scheduler job or array task, by scheduler
SCHEDULER_VARS: dict[str, tuple[str, ...]] = {
    "slurm": (
        "SLURM_JOB_ID",
        "SLURM_ARRAY_JOB_ID",
        "SLURM_ARRAY_TASK_ID",
        "SLURM_RESTART_COUNT",  # > 0 in a requeued job
    ),
    "sge": ("JOB_ID", "SGE_TASK_ID"),
    "pbs": ("PBS_JOBID", "PBS_ARRAY_INDEX", "PBS_ARRAYID"),
    "lsf": ("LSB_JOBID", "LSB_JOBINDEX"),
    "htcondor": ("_CONDOR_JOB_AD", "CLUSTER_ID", "PROCESS_ID", "CONDOR_ID"),
}

HOST = socket.gethostname()


def same_pid_table(info: dict[str, Any]) -> bool:
    """Whether the process described by ``info`` has its pid in OUR pid table.

    Only then can its pid be looked up here: the same boot of the same machine
    and the same pid namespace. A hostname proves nothing (containers and some
    clusters repeat hostnames; a namespace has its own pids).
    """
    ns = pid_namespace()
    return (
        BOOT_ID is not None
        and ns is not None
        and info.get("boot_id") == BOOT_ID
        and info.get("pid_ns") == ns
    )


def scheduler_ids(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The scheduler variables set in this process (name -> value)."""
    env = os.environ if environ is None else environ
    out = {}
    for names in SCHEDULER_VARS.values():
        for name in names:
            value = env.get(name)
            if value and value != "undefined":
                out[name] = value
    return out


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), if knowable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    try:
        return int(stat.rsplit(b")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


_static: dict[str, Any] = {}


def this_process() -> dict[str, Any]:
    """Host, pid, process start, scheduler ids of this process, and the time.

    Everything but the time is looked up once per process (the environment
    of a grow process does not change while it runs).
    """
    pid = os.getpid()
    if _static.get("pid") != pid:
        _static.clear()
        from .code_info import versions

        _static.update(
            host=HOST,
            pid=pid,
            pid_start=process_start_ticks(pid),
            boot_id=BOOT_ID,
            pid_ns=pid_namespace(),
            scheduler=scheduler_ids(),
            versions=versions(),
        )
    out = dict(_static)
    out["scheduler"] = dict(_static["scheduler"])
    out["versions"] = dict(_static["versions"])
    out["time"] = time.time()
    return out


_peak = {"pid": 0, "read": -1.0, "bytes": None}
#: seconds between two reads of ``/proc/self/status`` (about 0.1 ms each)
PEAK_READ_INTERVAL = 0.05


def resource_usage() -> tuple[float, int | None]:
    """CPU seconds (user + system) used by this process so far, and its peak
    resident memory (max RSS) in bytes.

    The peak is the process's since it started (``VmHWM``; not
    ``ru_maxrss``, which keeps the peak of the process that forked it before
    ``exec``): a batch grown in a process of its own gets its own peak,
    batches grown one after the other in one process each record the peak
    reached by the end of that batch. Read at most every
    :data:`PEAK_READ_INTERVAL` seconds, so fast batches pay nothing.
    """
    ru = resource.getrusage(resource.RUSAGE_SELF)
    now = time.monotonic()
    pid = os.getpid()
    if _peak["pid"] != pid or now - _peak["read"] >= PEAK_READ_INTERVAL:
        _peak.update(pid=pid, read=now, bytes=_high_water_mark(ru))
    return ru.ru_utime + ru.ru_stime, _peak["bytes"]


def _high_water_mark(ru: resource.struct_rusage) -> int | None:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "darwin":  # bytes there; no /proc
        return ru.ru_maxrss
    return None


def pid_is_alive(pid: int, start_ticks: int | None) -> bool:
    """Whether process ``pid`` of OUR pid table still runs (and is the same one).

    Meaningful only for a process of this boot and pid namespace (see
    :func:`same_pid_table`).
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return True
    if start_ticks is not None:
        now = process_start_ticks(pid)
        if now is not None and now != start_ticks:
            return False  # the pid was reused by another process
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        if state in (b"Z", b"X"):
            return False
    except (OSError, IndexError):
        pass
    return True


#: per scheduler, the variables naming the job (first set one wins): an array's
#: tasks share it, so the summary lists one entry per job, not per task
JOB_VARS: tuple[str, ...] = (
    "SLURM_ARRAY_JOB_ID",
    "SLURM_JOB_ID",
    "JOB_ID",  # Grid Engine
    "PBS_JOBID",
    "LSB_JOBID",
    "CLUSTER_ID",  # HTCondor, as xsweep's submit file passes it on
)

_ARRAY_INDEX = re.compile(r"\[\d+\]")


def job_of(sched: dict[str, str]) -> str | None:
    """``NAME=id`` of the job a result was computed in, if under a scheduler.

    A PBS array task's ``PBS_JOBID`` (``123[4].server``) names its array
    (``123[].server``), as the other schedulers' job ids do.
    """
    for key in JOB_VARS:
        if key in sched:
            value = sched[key]
            if key == "PBS_JOBID":
                value = _ARRAY_INDEX.sub("[]", value)
            return f"{key}={value}"
    return None


def summarise(provs: list[dict[str, Any]]) -> dict[str, Any]:
    """Dataset attributes summarising the provenance of many results."""
    hosts = sorted({p.get("host", "?") for p in provs})
    jobs = {job_of(p.get("scheduler") or {}) for p in provs} - {None}
    starts = [p["start"] for p in provs if p.get("start") is not None]
    ends = [p["end"] for p in provs if p.get("end") is not None]
    out: dict[str, Any] = {
        "crop_hosts": ", ".join(hosts),
        "crop_num_processes": len({(p.get("host"), p.get("pid")) for p in provs}),
    }
    if jobs:
        out["crop_scheduler_jobs"] = ", ".join(sorted(jobs))
    if starts:
        out["crop_first_start"] = _iso(min(starts))
    if ends:
        out["crop_last_finish"] = _iso(max(ends))
    for name in ("python", "numpy", "xsweep"):  # the growers' versions
        found = {(p.get("versions") or {}).get(name) for p in provs} - {None}
        if found:
            out[f"crop_{name}"] = ", ".join(sorted(found))
    out["crop_batches"] = batch_table(provs)
    return out


def batch_table(provs: list[dict[str, Any]]) -> dict[str, list]:
    """Per batch growth: batch id, host, job, start, duration, peak memory and
    CPU time, as columns (one list per field, one entry per growth: a retried
    batch has one per run), JSON-able."""
    rows = [p for p in provs if p.get("start") is not None]
    cols: dict[str, list] = {
        "batch_id": [p.get("batch_id") for p in rows],
        "host": [p.get("host") for p in rows],
        "job": [job_of(p.get("scheduler") or {}) for p in rows],
        "start": [_iso(p["start"]) for p in rows],
        "duration": [round(p["end"] - p["start"], 6) for p in rows],
        "max_rss": [p.get("max_rss") for p in rows],
        "cpu_time": [
            None if p.get("cpu_time") is None else round(p["cpu_time"], 6) for p in rows
        ],
    }
    return cols


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

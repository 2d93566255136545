"""Where a grow worker runs: its CPUs, its thread counts and its GPUs.

A :class:`Placement` is applied in the child process that runs the user's
function (see :mod:`xsweep.crop.supervised`), before its first combo:

- ``threads``: the thread-count variables that OpenMP, MKL, OpenBLAS,
  Accelerate (vecLib), numexpr and numba read (:data:`THREAD_VARS`) are set,
  and the BLAS / OpenMP pools already loaded in the process (numpy's, at
  least: a grower imports numpy before it forks) are limited with
  ``threadpoolctl``;
- ``cpus``: the process is pinned to these CPUs (``os.sched_setaffinity``);
- ``gpus``: ``CUDA_VISIBLE_DEVICES``, ``HIP_VISIBLE_DEVICES`` and
  ``ROCR_VISIBLE_DEVICES`` name the worker's devices only.

:func:`placements` splits CPUs, threads and GPUs between ``num_workers``
workers.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

from ..engine.forked import limit_loaded_pools
from ..engine.parallel import THREAD_VARS, default_threads

#: environment variables choosing the GPUs a process sees (CUDA, ROCm / HIP)
GPU_VARS = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES")


@dataclasses.dataclass(frozen=True)
class Placement:
    """The CPUs, thread count and GPUs of one worker (None: left as they are).

    Attributes
    ----------
    cpus : tuple of int, optional
        CPUs the worker is pinned to.
    threads : int, optional
        Threads each numerical library may use.
    gpus : str, optional
        The devices the worker sees, as ``CUDA_VISIBLE_DEVICES`` writes them
        (``"0"``, ``"2,3"``).
    explicit : bool
        ``threads`` was asked for; a default one sets only the variables not
        already set in the environment, and limits loaded pools only if none
        is set.
    """

    cpus: tuple[int, ...] | None = None
    threads: int | None = None
    gpus: str | None = None
    explicit: bool = True

    def environ(self) -> dict[str, str]:
        """The environment variables this placement sets."""
        env = {}
        if self.threads is not None:
            for name in THREAD_VARS:
                if self.explicit or name not in os.environ:
                    env[name] = str(self.threads)
        if self.gpus is not None:
            env.update(dict.fromkeys(GPU_VARS, self.gpus))
        return env

    def apply(self) -> None:
        """Apply to this process (a worker's child, before any combo runs)."""
        user_set = any(name in os.environ for name in THREAD_VARS)
        os.environ.update(self.environ())
        if self.cpus is not None:
            os.sched_setaffinity(0, self.cpus)
        if self.threads is not None and (self.explicit or not user_set):
            limit_loaded_pools(self.threads)

    def __bool__(self) -> bool:
        return self != Placement()


def usable_cpus() -> list[int]:
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return list(range(os.cpu_count() or 1))


def parse_ints(text: str, what: str) -> list[int]:
    """``"0,1,3"`` -> ``[0, 1, 3]``, or a ValueError naming ``what``."""
    try:
        out = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(
            f"{what} must be comma-separated integers like 0,1, got {text!r}"
        ) from None
    if not out or min(out) < 0:
        raise ValueError(f"{what} must be integers >= 0 like 0,1, got {text!r}")
    return out


def _cpu_sets(affinities: Sequence | str | int) -> list[tuple[int, ...]]:
    if isinstance(affinities, str):
        affinities = parse_ints(affinities, "affinities")
    if isinstance(affinities, int):
        affinities = [affinities]
    sets = []
    for entry in affinities:
        cpus = (entry,) if isinstance(entry, int) else tuple(int(c) for c in entry)
        if not cpus or min(cpus) < 0:
            raise ValueError(f"affinities: {entry!r} names no CPU")
        sets.append(cpus)
    usable = set(usable_cpus())
    for cpus in sets:
        if not set(cpus) <= usable:
            raise ValueError(
                f"affinities: CPU(s) {sorted(set(cpus) - usable)} are not among "
                f"the CPUs this process may use ({sorted(usable)})"
            )
    return sets


def _gpu_slots(gpus: Sequence | str | int, gpus_per_task: float) -> list[str]:
    """One device string per worker slot: ``gpus`` shared out ``gpus_per_task``
    each (a fraction < 1 lets ``round(1 / gpus_per_task)`` workers share one)."""
    if isinstance(gpus, str):
        gpus = parse_ints(gpus, "gpus")
    if isinstance(gpus, int):
        gpus = [gpus]
    devices = [str(int(g)) for g in gpus]
    if len(set(devices)) != len(devices):
        raise ValueError(f"gpus: a device is listed twice in {list(gpus)}")
    if not gpus_per_task > 0:
        raise ValueError(f"gpus_per_task must be > 0, got {gpus_per_task}")
    if gpus_per_task < 1:
        share = round(1 / gpus_per_task)
        return [d for d in devices for _ in range(share)]
    per = math.ceil(gpus_per_task)
    if per > len(devices):
        raise ValueError(
            f"gpus_per_task={gpus_per_task} but only {len(devices)} gpus given"
        )
    return [
        ",".join(devices[i : i + per]) for i in range(0, len(devices) - per + 1, per)
    ]


def placements(
    num_workers: int | None,
    *,
    num_threads: int | None = None,
    affinities: Sequence | str | int | None = None,
    gpus: Sequence | str | int | None = None,
    gpus_per_task: float = 1,
) -> tuple[int, list[Placement]]:
    """How many workers, and each one's :class:`Placement`.

    Parameters
    ----------
    num_workers : int, optional
        Workers asked for; by default one per CPU set in ``affinities``, or
        per GPU slot in ``gpus``, else 1.
    num_threads : int, optional
        Threads per worker. Not given (and ``affinities`` not given either):
        left alone for one worker, else :func:`default_threads`, so that
        workers x threads fits the usable CPUs.
    affinities : sequence, optional
        One CPU (int) or several (a sequence of ints) per worker, in turn.
    gpus : sequence of int, optional
        Devices to share out: each worker gets ``gpus_per_task`` of them.
    gpus_per_task : float, optional
        Devices per worker (default 1); a fraction ``1/k`` lets ``k`` workers
        share each device. Never more workers than device slots.

    Raises
    ------
    ValueError
        More workers than CPU sets or device slots, or a CPU this process may
        not use.
    """
    cpu_sets = None if affinities is None else _cpu_sets(affinities)
    slots = None if gpus is None else _gpu_slots(gpus, gpus_per_task)
    if num_workers is None:
        num_workers = len(cpu_sets or slots or [None])
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    if cpu_sets is not None and num_workers > len(cpu_sets):
        raise ValueError(
            f"{num_workers} workers but {len(cpu_sets)} affinities "
            f"{[list(c) for c in cpu_sets]}: give one CPU (or set) per worker"
        )
    if slots is not None and num_workers > len(slots):
        raise ValueError(
            f"{num_workers} workers but {len(slots)} GPU slot(s) ({slots} with "
            f"gpus_per_task={gpus_per_task}): give more gpus, fewer workers, or "
            "a fractional gpus_per_task to let workers share a device"
        )
    if num_threads is not None and num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    out = []
    for k in range(num_workers):
        cpus = cpu_sets[k] if cpu_sets is not None else None
        threads = num_threads
        if threads is None and cpus is not None:
            threads = len(cpus)
        elif threads is None and num_workers > 1:
            threads = default_threads(num_workers)
        gpu = slots[k] if slots is not None else None
        out.append(Placement(cpus, threads, gpu, explicit=num_threads is not None))
    return num_workers, out

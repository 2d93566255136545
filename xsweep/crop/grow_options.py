"""The options of ``Crop.grow`` / ``grow_missing`` that say how the function runs.

Turned here into one :class:`~xsweep.crop.supervised.Supervision` per worker
(or None: in this process, unsupervised).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .placement import placements
from .supervised import Supervision

#: the docstring entries of these options, shared by the grow methods
DOC = """supervise : bool, optional
            Run the function in a child process that this process watches
            (default): a combo that kills its process (segfault, out of
            memory, ``os._exit``) is recorded as a failure of that combo and
            growing goes on. ``False`` runs it here (a crash then kills this
            process; local workers are then a plain process pool). Where
            there is no ``os.fork`` (Windows), the function runs here.
        subprocess : bool, optional
            A fresh process for every batch: memory the function leaks is
            returned after each batch.
        combo_time_limit : float, optional
            Seconds a combo may run; one still running then is killed and
            recorded as a failure (``TimeLimitExceeded``). Combos are then
            sent to the child one at a time.
        max_deaths : int, optional
            Process deaths in one batch (default 3) after which its combos
            not yet run are recorded as failures ("NotRun") instead.
        num_threads : int, optional
            Threads each worker's numerical libraries use (OMP, MKL,
            OpenBLAS, vecLib, numexpr, numba variables, and the BLAS pools
            already loaded, through threadpoolctl). Default with several
            workers: the usable CPUs divided by the number of workers (at
            least 1); with one worker, left alone.
        affinities : sequence of int (or of sequences of int), optional
            Pin worker ``k`` to CPU(s) ``affinities[k]``; the number of
            workers defaults to their count.
        gpus : sequence of int, optional
            Give each worker its own device(s) through
            ``CUDA_VISIBLE_DEVICES``, ``HIP_VISIBLE_DEVICES`` and
            ``ROCR_VISIBLE_DEVICES``; the number of workers defaults to the
            number of devices, and is never more.
        gpus_per_task : float, optional
            Devices per worker (default 1); ``0.5`` lets two workers share
            each device."""


def supervisions(
    num_workers: int | None,
    *,
    supervise: bool = True,
    subprocess: bool = False,
    combo_time_limit: float | None = None,
    max_deaths: int = 3,
    num_threads: int | None = None,
    affinities: Sequence | str | int | None = None,
    gpus: Sequence | str | int | None = None,
    gpus_per_task: float = 1,
) -> list[Supervision | None]:
    """One supervision per worker (None: run in the worker itself, unwatched).

    Raises
    ------
    ValueError
        Options that need a supervised child with ``supervise=False``, or
        placements that do not fit (see :func:`~xsweep.crop.placement.placements`).
    """
    if supervise and not hasattr(os, "fork"):  # Windows: no fork, run here
        supervise = False
    if not supervise:
        asked = [
            name
            for name, value in (
                ("subprocess", subprocess),
                ("combo_time_limit", combo_time_limit),
                ("num_threads", num_threads),
                ("affinities", affinities),
                ("gpus", gpus),
            )
            if value not in (None, False)
        ]
        if asked:
            raise ValueError(
                f"{', '.join(asked)} need(s) the function to run in a supervised "
                "child process: drop supervise=False (and use a system with "
                "os.fork: Linux, macOS)"
            )
        return [None] * (num_workers or 1)
    n, places = placements(
        num_workers,
        num_threads=num_threads,
        affinities=affinities,
        gpus=gpus,
        gpus_per_task=gpus_per_task,
    )
    return [
        Supervision(
            max_deaths=max_deaths,
            combo_time_limit=combo_time_limit,
            fresh=subprocess,
            placement=p,
        )
        for p in places[:n]
    ]


def pop_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The grow options in ``kwargs`` (removed from it)."""
    names = (
        "supervise", "subprocess", "combo_time_limit", "max_deaths",
        "num_threads", "affinities", "gpus", "gpus_per_task",
    )  # fmt: skip
    return {k: kwargs.pop(k) for k in names if k in kwargs}

"""Grow a crop on a batch scheduler or a dask cluster.

One module per scheduler back end (:mod:`~xsweep.schedulers.slurm`,
:mod:`~xsweep.schedulers.sge`, :mod:`~xsweep.schedulers.pbs`,
:mod:`~xsweep.schedulers.lsf`, :mod:`~xsweep.schedulers.htcondor`), each a
small :class:`~xsweep.schedulers.base.Scheduler`; options are checked in
:mod:`~xsweep.schedulers.options`, the task-to-batch mapping is chosen in
:mod:`~xsweep.schedulers.plan` and the script comes from one template in
:mod:`~xsweep.schedulers.script`. A job task runs
:func:`xsweep.schedulers.task.run_task`.

Job arrays::

    crop = xsweep.Crop(name="sweep", parent_dir="/scratch/me")
    print(crop.gen_cluster_script("slurm", time="2:00:00", mem="4G", cpus=4))
    job_id = crop.grow_cluster("slurm", time="2:00:00", mem="4G", cpus=4,
                               shell_setup=["module load python"])
    # later, anywhere that sees the directory:
    crop.status()            # from the directory alone, no scheduler query
    ds = crop.reap()

    # 10,000 batches drained by 50 tasks that claim batches until none is left
    crop.grow_cluster("sge", num_tasks=50, hours=12, max_running=50)

dask.distributed: any ``Client`` is an executor, and its workers write results
straight into the crop directory (which they must see). With ``dask-jobqueue``
the workers are themselves SLURM (or PBS, SGE, LSF, HTCondor) jobs::

    from dask.distributed import Client
    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(cores=4, processes=4, memory="16GB",
                           walltime="02:00:00", queue="normal")
    cluster.scale(jobs=10)            # 10 SLURM jobs of 4 workers each
    with Client(cluster) as client:
        crop.grow_missing(executor=client)
    ds = crop.reap()

MPI: with ``launcher="mpiexec"`` (or ``"srun"``) and ``ranks=N``, the ranks of
one task share its batches (pull mode: each rank claims on its own); see
:mod:`xsweep.mpi`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SCHEDULERS": "xsweep.schedulers.cluster",
    "get_scheduler": "xsweep.schedulers.cluster",
    "gen_cluster_script": "xsweep.schedulers.cluster",
    "grow_cluster": "xsweep.schedulers.cluster",
    "Scheduler": "xsweep.schedulers.base",
    "JobOptions": "xsweep.schedulers.options",
    "parse_options": "xsweep.schedulers.options",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(
            f"module 'xsweep.schedulers' has no attribute {name!r}"
        ) from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__

"""Growing a crop on a cluster: the two scheduler methods of :class:`Crop`.

The scheduler back ends (:mod:`xsweep.schedulers`, all but its ``task``
module) sit below the crop layer and take the crop by protocol; these thin
methods import them lazily, when called, so that importing a crop (a grow
process) never imports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ClusterMethods:
    """``gen_cluster_script`` and ``grow_cluster``, mixed into the Crop."""

    def gen_cluster_script(
        self,
        scheduler: str,
        batch_ids: Iterable[int] | None = None,
        *,
        mode: str = "array",
        **options: Any,
    ) -> str:
        """A job script growing this crop on ``scheduler``, as text.

        ``scheduler`` is one of ``'slurm'``, ``'sge'``, ``'pbs'``, ``'lsf'``,
        ``'htcondor'``; only missing batches are included. Options (``time``,
        ``mem``, ``cpus``, ``num_tasks``, ...) are those of
        :func:`xsweep.schedulers.cluster.gen_cluster_script`.
        """
        from ..schedulers.cluster import gen_cluster_script

        return gen_cluster_script(self, scheduler, batch_ids, mode=mode, **options)

    def grow_cluster(
        self,
        scheduler: str,
        batch_ids: Iterable[int] | None = None,
        *,
        mode: str = "array",
        **options: Any,
    ) -> str:
        """Submit a job (array) growing this crop; return the job id.

        Takes the arguments of :meth:`gen_cluster_script`; see
        :func:`xsweep.schedulers.cluster.grow_cluster`.
        """
        from ..schedulers.cluster import grow_cluster

        return grow_cluster(self, scheduler, batch_ids, mode=mode, **options)

"""A 30-combo sweep grown on real schedulers, pickled by value (growers import
nothing from the tests), and helpers to check where its results came from."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np

cloudpickle.register_pickle_by_value(sys.modules[__name__])

#: 6 x 5 = 30 combos; batchsize 5 makes batch k hold x == k - 1
COMBOS = {"x": [0, 1, 2, 3, 4, 5], "y": [10, 20, 30, 40, 50]}
BATCHSIZE = 5

#: variables a task would inherit from a scheduler; cleared before each run
SCHEDULER_VARS = (
    "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID", "SGE_TASK_ID",
    "JOB_ID", "PBS_ARRAY_INDEX", "PBS_ARRAYID", "PBS_JOBID", "LSB_JOBINDEX",
    "LSB_JOBID", "PROCESS_ID", "CLUSTER_ID",
)  # fmt: skip


def powsum(x, y, hold=""):
    """``[x**2 + y, x - y]``; waits at x == 2 while the file ``hold`` exists."""
    if hold and x == 2:
        deadline = time.monotonic() + 120
        while os.path.exists(hold) and time.monotonic() < deadline:
            time.sleep(0.05)
    return np.array([x**2 + y, x - y])


def make_runner():
    """The farmer: a Runner labelling ``powsum``'s output."""
    import xsweep

    return xsweep.Runner(
        powsum,
        var_names="out",
        var_dims={"out": ["k"]},
        var_coords={"k": ["sum", "diff"]},
    )


def make_crop(parent_dir, name="sweep", hold=""):
    """A sown crop of :data:`COMBOS` in ``parent_dir`` (6 batches)."""
    crop = make_runner().Crop(name=name, parent_dir=parent_dir, batchsize=BATCHSIZE)
    crop.sow_combos(COMBOS, constants={"hold": hold}, verbosity=0)
    return crop


def expected():
    """The in-memory run of the same sweep."""
    return make_runner().run_combos(COMBOS, constants={"hold": ""})


def provenance(crop, batch_id):
    """The provenance records of one batch's result."""
    from xsweep.crop.store import ResultStore

    sow = crop._read_sow()
    record = ResultStore(crop.layout).read(batch_id, sow.fingerprints[batch_id - 1])
    return record["provenance"]


def wait_for(condition, timeout, what, poll=0.1):
    """Poll ``condition()`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def fragile(x, y):
    """``x + y``, except that it raises for x == 4."""
    if x == 4:
        raise ValueError(f"x == 4 is not allowed (y={y})")
    return x + y


def task_logs(crop) -> str:
    """Every scheduler log of the crop, for a failed assertion's message."""
    logs = sorted((Path(crop.location) / "logs").glob("*"))
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in logs)


def assert_all_grown(crop):
    """Every batch has its result; else fail showing the tasks' logs."""
    missing = crop.missing_results()
    assert missing == (), f"batches {missing} missing; task logs:\n{task_logs(crop)}"

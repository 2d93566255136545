"""A Ray cluster as an engine: ``xsweep.RayExecutor`` as ``executor=`` of
``run_combos`` and ``grow_missing``, on a local Ray cluster that the test
starts (``ray.init(num_cpus=2)``) and stops. Ray is imported only when used."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import cloudpickle
import numpy as np
import pytest

import xsweep

if os.environ.get("CI", "").lower() == "true":
    import ray  # the test extra installs it: under CI this must run
else:
    ray = pytest.importorskip("ray", reason="pip install 'xsweep[ray]'")

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers import nothing


def where(x, y):
    """``x * y`` and the pid of the process that computed it (a little slow)."""
    time.sleep(0.05)
    return x * y, os.getpid()


def product(x, y):
    return np.float64(x * y)


COMBOS = {"x": [1, 2, 3, 4, 5], "y": [10, 20, 30]}


@pytest.fixture(scope="module")
def pool():
    executor = xsweep.RayExecutor(num_cpus=2)
    assert executor.submit(os.getpid).result() != os.getpid()  # workers up
    try:
        yield executor
    finally:
        executor.shutdown()
    assert not ray.is_initialized()


def test_run_combos_on_ray_equals_the_sequential_run(pool):
    runner = xsweep.Runner(where, var_names=["xy", "pid"])
    ds = runner.run_combos(COMBOS, executor=pool)
    expected = xsweep.Runner(where, var_names=["xy", "pid"]).run_combos(COMBOS)
    np.testing.assert_array_equal(ds["xy"].values, expected["xy"].values)
    # the engine computes here too until the executor answers: Ray took part
    assert set(ds["pid"].values.ravel()) - {os.getpid()}
    assert pool._max_workers == 2


def test_grow_missing_on_ray_grows_every_batch_in_ray_workers(pool, tmp_path):
    crop = xsweep.Crop(fn=product, name="onray", parent_dir=tmp_path)
    crop.sow_combos(COMBOS)
    report = crop.grow_missing(executor=pool)
    assert sorted(report.grown) == list(range(1, 16))
    assert crop.missing_results() == () and crop.layout.list_claims() == {}
    ds = crop.reap()
    np.testing.assert_array_equal(
        ds["product"].values if hasattr(ds, "data_vars") else ds,
        np.outer(COMBOS["x"], COMBOS["y"]),
    )


def test_submit_map_and_remote_options(pool):
    assert pool.submit(pow, 2, 10).result() == 1024
    assert list(pool.map(pow, [2, 3], [3, 2])) == [8, 9]
    ref = pool.scatter(np.arange(3))
    assert pool.submit(np.sum, ref).result() == 3
    half = pool.submit(os.getpid, remote_opts={"num_cpus": 0.5}).result()
    assert isinstance(half, int) and half != os.getpid()


def test_xsweep_never_imports_ray_unless_a_ray_executor_is_made():
    code = (
        "import sys, xsweep\n"
        "xsweep.RayExecutor, xsweep.RayGPUExecutor\n"
        "import xsweep.engine.ray_executor\n"
        "assert 'ray' not in sys.modules, 'ray imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

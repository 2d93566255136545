import concurrent.futures
import multiprocessing
import os

import numpy as np
import pytest

from xsweep.engine import run
from xsweep.errors import ComboFailedError, WorkerError

COMBOS = {"x": np.linspace(0, 1, 13), "n": range(17)}


def work(x, n):
    if n == 5 and x > 0.5:
        raise ArithmeticError(f"n={n}")
    if n == 3:
        return x + 1j, "s" * n, os.getpid()
    return x * n, "s" * n, os.getpid()


def check_same(parallel, sequential):
    for name in ("a", "b"):
        got, want = parallel.arrays[name], sequential.arrays[name]
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert parallel.missing == sequential.missing
    key = [(f.index, f.combo, f.exc_type, f.message) for f in parallel.failures]
    assert sorted(key, key=str) == sorted(
        [(f.index, f.combo, f.exc_type, f.message) for f in sequential.failures],
        key=str,
    )


def sweep(**kwargs):
    return run(work, COMBOS, var_names=["a", "b", "pid"], on_error="record", **kwargs)


@pytest.fixture(scope="module")
def sequential():
    return sweep()


@pytest.mark.parametrize("fork", ["0", "1"], ids=["loky", "forked-if-safe"])
def test_local_workers_equal_sequential(sequential, fork, monkeypatch):
    monkeypatch.setenv("XSWEEP_FORK_WORKERS", fork)
    result = sweep(num_workers=2, in_process_below=0, chunksize=7)
    check_same(result, sequential)
    assert set(np.unique(result.arrays["pid"])) - {os.getpid()}


@pytest.mark.parametrize(
    "make",
    [
        lambda: concurrent.futures.ProcessPoolExecutor(2),
        lambda: concurrent.futures.ThreadPoolExecutor(2),
        lambda: multiprocessing.get_context("spawn").Pool(2),
    ],
    ids=["process-pool", "thread-pool", "multiprocessing-pool"],
)
def test_executors_equal_sequential(sequential, make):
    executor = make()
    try:
        check_same(sweep(executor=executor, in_process_below=0), sequential)
    finally:
        if hasattr(executor, "shutdown"):
            executor.shutdown()
        else:
            executor.terminate()


def test_raise_in_a_worker_names_the_combo():
    with pytest.raises(ComboFailedError, match="'n': 5") as info:
        run(work, COMBOS, num_workers=2, in_process_below=0, var_names=list("abc"))
    assert isinstance(info.value.__cause__, ArithmeticError)


def test_trivial_sweeps_stay_in_this_process():
    # 1000 trivial calls take well under a second even on a loaded machine
    buffer = run(
        lambda i: os.getpid(), {"i": range(1000)}, num_workers=2, in_process_below=5
    )
    assert set(buffer.result.tolist()) == {os.getpid()}


@pytest.mark.dask
def test_dask_local_cluster_equals_sequential(sequential, dask_client):
    check_same(sweep(executor=dask_client, in_process_below=0), sequential)


def test_progress_bar_counts_every_combo(capsys):
    run(work, {"x": [0.1], "n": range(6)}, on_error="record", verbosity=2)
    err = capsys.readouterr().err
    assert "6/6" in err and "failed=0" in err


def die_on_3(i, parent):
    if i == 3 and os.getpid() != parent:
        os._exit(3)  # a worker killed mid-task
    return i


def run_with_a_dying_worker(**options):
    """Run ``die_on_3`` over 8 combos in tasks of 2 on a 2-process pool."""
    with concurrent.futures.ProcessPoolExecutor(2) as executor:
        return run(
            die_on_3,
            {"i": range(8)},
            constants={"parent": os.getpid()},
            executor=executor,
            in_process_below=0,
            chunksize=2,
            **options,
        )


def test_a_dead_worker_raises_worker_error():
    with pytest.raises(WorkerError, match=r"could not run combos"):
        run_with_a_dying_worker()


def test_record_keeps_finished_work_when_a_worker_dies():
    buffer = run_with_a_dying_worker(on_error="record")
    failed = {f.index for f in buffer.failures}
    assert {2, 3} <= failed and set(buffer.missing) == failed
    done = [i for i in range(8) if i not in failed]
    assert buffer.result[done].tolist() == done


def dot(i, weights):
    return float(weights[i % len(weights)] * i)


def test_big_constants_go_only_with_the_first_tasks():
    weights = np.arange(200_000, dtype=float)  # 1.6 MB: too big for every task
    with concurrent.futures.ProcessPoolExecutor(2) as executor:
        buffer = run(
            dot,
            {"i": range(40)},
            constants={"weights": weights},
            executor=executor,
            in_process_below=0,
            chunksize=1,
        )
    assert buffer.result.tolist() == [float(i * i) for i in range(40)]

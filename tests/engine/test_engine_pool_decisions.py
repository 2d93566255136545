"""When ``num_workers`` sends work to the local pool, and when it does not.

Each check runs in a fresh interpreter: whether the pool is warm is state of
the process, which the other tests' sweeps would set.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    os.environ["XSWEEP_FORK_WORKERS"] = "0"  # the loky pool (forks: test_engine_forked)
    from xsweep.engine import run
    from xsweep.engine import driver, parallel

    def nap(i, seconds):
        time.sleep(seconds)
        return os.getpid()

    def pool_module():
        return "loky" in sys.modules or "joblib.externals.loky" in sys.modules

    def pids(n, seconds, **kw):
        buffer = run(nap, {"i": range(n)}, constants={"seconds": seconds},
                     num_workers=2, **kw)
        return set(buffer.arrays[None].tolist())

    me = os.getpid()
    # (thresholds set here so that no estimate, however loaded the machine,
    # lands on the other side of one)
    # 1. cold pool, the rest estimated under COLD_POOL_BELOW but over
    #    in_process_below: all here, no pool started
    driver.COLD_POOL_BELOW = 1000.0
    assert pids(50, 0.001, in_process_below=1e-6) == {me}
    assert not pool_module(), "started a pool for nothing"

    # 2. over COLD_POOL_BELOW: the pool is started; this process computes
    #    until it answers; the results are all there whoever computed them
    driver.COLD_POOL_BELOW = 0.0
    assert len(pids(200, 0.002, in_process_below=1e-6)) >= 1
    assert pool_module()
    deadline = time.monotonic() + 120
    while not parallel.local_pool_is_warm(2):  # answered, during or after
        assert time.monotonic() < deadline, "the pool never answered"
        time.sleep(0.05)

    # 3. warm pool: the workers take the same kind of sweep; and since the
    #    function mostly sleeps, this process computes chunks all along too
    driver.COLD_POOL_BELOW = 1000.0
    pool = parallel.local_executor(2)  # (both workers up: no start-up race)
    while len({f.result() for f in [pool.submit(nap, i, 0.05) for i in range(4)]}) < 2:
        assert time.monotonic() < deadline, "the second worker never answered"
    got = pids(400, 0.001, in_process_below=1e-6)
    assert got - {me}, "a warm pool was unused"
    assert me in got, "this process did not help with a function that waits"
    print("ok")
    """
)


def test_cold_pool_is_started_only_for_long_sweeps_and_a_warm_one_is_used():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_an_oversubscribed_machine_needs_longer_sweeps_to_start_a_pool(monkeypatch):
    from xsweep.engine import driver, parallel

    cores = parallel.default_num_workers()
    monkeypatch.setattr(driver.os, "getloadavg", lambda: (0.5 * cores, 0, 0))
    assert driver.cold_pool_below() == driver.COLD_POOL_BELOW
    monkeypatch.setattr(driver.os, "getloadavg", lambda: (4.0 * cores, 0, 0))
    assert driver.cold_pool_below() == 4 * driver.COLD_POOL_BELOW

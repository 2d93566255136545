"""Workers forked for a sweep on a cold pool: the same results as a sequential
run, nothing left behind, a dying child costs only its chunks, and no fork
where it is unsafe (another thread running) or switched off.

Each check runs in a fresh interpreter, as a user's script does: whether the
loky pool is warm, and which threads run, are state of the process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from proctools import alive

PRELUDE = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time
    import numpy as np
    from xsweep.engine import run
    from xsweep.engine import parallel

    def work(x, n):
        if n == 5 and x > 0.5:
            raise ArithmeticError(f"n={n}")
        return x * n, "s" * n, os.getpid(), os.getppid()

    def loky_started():
        return parallel._LocalPool.executor is not None

    def children():
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == os.getpid() and fields[0] != "Z":
                    out.append(int(pid))
        return out

    COMBOS = {"x": np.linspace(0, 1, 13), "n": range(17)}
    """
)


def script(body: str, env: dict | None = None, timeout: float = 120) -> dict:
    """Run PRELUDE + ``body`` in a fresh python; the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_forked_workers_equal_sequential_and_leave_nothing_behind():
    out = script(
        """
        seq = run(work, COMBOS, var_names=list("abpq"), on_error="record")
        par = run(work, COMBOS, var_names=list("abpq"), on_error="record",
                  num_workers=2, in_process_below=0, chunksize=7)
        for k in "ab":
            assert par.arrays[k].dtype == seq.arrays[k].dtype
            np.testing.assert_array_equal(par.arrays[k], seq.arrays[k])
        assert sorted((f.index, f.message) for f in par.failures) == sorted(
            (f.index, f.message) for f in seq.failures)
        ok = ~np.isnan(par.arrays["p"])  # (NaN where a combo failed)
        pids = set(par.arrays["p"][ok].astype(int).tolist()) - {os.getpid()}
        parents = set(par.arrays["q"][ok].astype(int).tolist())
        print(json.dumps({"pids": sorted(pids), "parents": sorted(parents),
                          "me": os.getpid(), "loky": loky_started(),
                          "children": children()}))
        """
    )
    assert len(out["pids"]) == 2  # two workers computed ...
    assert out["parents"] == [out["me"]]  # ... forked from the script itself
    assert not out["loky"]  # no pool started
    assert out["children"] == []  # and none left once the sweep returned


def test_a_raise_names_the_combo_and_stops_the_children():
    out = script(
        """
        from xsweep.errors import ComboFailedError
        try:
            run(work, COMBOS, var_names=list("abpq"), num_workers=2,
                in_process_below=0, chunksize=3)
        except ComboFailedError as e:
            print(json.dumps({"error": str(e), "cause": type(e.__cause__).__name__,
                              "children": children()}))
        """
    )
    assert "'n': 5" in out["error"] and out["cause"] == "ArithmeticError"
    assert out["children"] == []


def test_a_child_killed_by_a_segfault_costs_only_its_chunk_and_is_replaced():
    out = script(
        """
        def crash(i, parent):
            if i in (9, 15, 27, 28) and os.getpid() != parent:
                os.kill(os.getpid(), signal.SIGSEGV)
            return i, os.getpid()
        buf = run(crash, {"i": range(60)}, constants={"parent": os.getpid()},
                  var_names=["i", "pid"], num_workers=2, in_process_below=0,
                  chunksize=2, on_error="record")
        failed = sorted(f.index for f in buf.failures)
        done = [i for i in range(60) if i not in failed]
        assert buf.arrays["i"][done].tolist() == done
        print(json.dumps({"failed": failed, "message": buf.failures[0].message,
                          "workers": len(set(buf.arrays["pid"][done].tolist())),
                          "children": children()}))
        """
    )
    # only the combos that crash are recorded as failed: their chunks ran
    # again in halves to find them, and those queued behind them ran on
    assert out["failed"] == [9, 15, 27, 28]
    assert "killed by signal SIGSEGV" in out["message"]
    assert out["workers"] >= 3  # replacements took over
    assert out["children"] == []


def test_no_fork_while_another_thread_runs_or_when_switched_off():
    body = """
        def nap(i):
            time.sleep(0.002)
            return os.getppid()
        from xsweep.engine import driver
        driver.COLD_POOL_BELOW = 0.0  # a loky pool is started however busy
        stop = threading.Event()
        if sys.argv[-1] == "thread":
            threading.Thread(target=stop.wait, daemon=True).start()
        buf = run(nap, {"i": range(300)}, num_workers=2, in_process_below=1e-6)
        stop.set()
        print(json.dumps({"loky": loky_started()}))
        """
    assert script(body)["loky"] is False  # (forked)
    threaded = PRELUDE + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", threaded, "thread"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["loky"] is True
    assert script(body, env={"XSWEEP_FORK_WORKERS": "0"})["loky"] is True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_script_stops_its_forked_workers(tmp_path, signum):
    started = tmp_path / "started"
    code = PRELUDE + textwrap.dedent(
        f"""
        def slow(i):
            open({str(started)!r} + str(os.getpid()), "w").close()
            time.sleep(0.05)
            return i
        run(slow, {{"i": range(2000)}}, num_workers=2, in_process_below=0)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("started*"))) < 2:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        workers = [int(p.name[len("started") :]) for p in tmp_path.glob("started*")]
        proc.send_signal(signum)
        proc.wait(timeout=30)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "a forked worker outlived its script"
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_workers_draw_their_own_random_numbers_and_their_prints_arrive():
    code = PRELUDE + textwrap.dedent(
        """
        def draw(i):
            print(f"combo {i} in {os.getpid()}")
            return np.random.random(), os.getpid()
        np.random.seed(0)
        buf = run(draw, {"i": range(200)}, var_names=["r", "pid"],
                  num_workers=2, in_process_below=0, chunksize=10)
        r, pid = buf.arrays["r"], buf.arrays["pid"]
        first = {p: r[pid == p][:5].tolist() for p in set(pid.tolist())}
        print(json.dumps({"first": list(first.values()),
                          "distinct": len(set(r.tolist()))}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(out["first"]) >= 2 and out["first"][0] != out["first"][1]
    assert out["distinct"] == 200  # no stream repeated in another worker
    # every combo's print reached the script's stdout once, from the workers
    # (two processes writing one pipe may interleave their lines' ends)
    printed = sorted(map(int, re.findall(r"combo (\d+) in", done.stdout)))
    assert printed == list(range(200))


def test_a_function_that_does_not_pickle_runs_on_forked_workers():
    out = script(
        """
        lock = threading.Lock()  # no pickler takes a lock: loky workers could not
        def locked(x):
            with lock:
                return 2 * x, os.getppid()
        buf = run(locked, {"x": range(50)}, var_names=["y", "parent"],
                  num_workers=2, in_process_below=0)
        print(json.dumps({"y": buf.arrays["y"].tolist(), "me": os.getpid(),
                          "parents": sorted(set(buf.arrays["parent"].tolist())),
                          "loky": loky_started()}))
        """
    )
    assert out["y"] == [2 * x for x in range(50)]
    assert out["parents"] == [out["me"]] and not out["loky"]

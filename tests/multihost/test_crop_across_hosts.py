"""A crop grown by several hosts sharing it over sshfs, with kills, a frozen
holder, skewed clocks and two hosts of one name (issue 10).

Hosts (own hostname, pid table and sshfs client with 20 s caches):
``twin`` and ``twin`` again (one hostname, two machines), ``ahead`` (clock
+10 min, file times stamped by it) and ``behind`` (clock -10 min). Every
grower runs ``xsweep grow`` in pull mode with a 3 s heartbeat timeout. While
they work: one grower is SIGKILLed, one holder is frozen (SIGSTOP) past the
timeout and then resumed, and the whole ``behind`` host is killed. Proven:
every batch has exactly one result, with the right value (none lost, none
mislabelled); a batch is computed to the end twice only where a killed or
frozen grower computed it too; every grower not killed exits 0 (none fails on
a lost race); the frozen one says it discarded its late result; ``xsweep
status`` through a host's cached listing counts every batch done.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import skewclock
from hosts import PY, Grower
from proctools import process_tree

import xsweep

pytestmark = pytest.mark.timeout(300)

SOURCE = """
import os
import time

def work(x, logdir):
    time.sleep(0.25)
    value = 1000 * x + 7
    grower = os.environ.get("XS_GROWER", "?")
    with open(os.path.join(logdir, "calls-" + grower + ".log"), "a") as f:
        f.write(f"{x}\\n")  # one line per call computed to the end
    return value
"""
NUM = 120
TIMEOUT = 3.0


def by_value(source: str, name: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "xsweep_multihost"}
    exec(source, namespace)
    return namespace[name]


def poll(condition, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def inner_pid(pid: int) -> int | None:
    """A process's pid in its own pid namespace (the last of ``NSpid``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except OSError:
        return None
    return None


def holding(claims_dir: Path, host: str, grower: Grower) -> list[Path]:
    """The claims ``grower`` (on host ``host``) holds now."""
    pid = grower.child()
    inner = inner_pid(pid) if pid else None
    held = []
    for path in claims_dir.glob("*.claim"):
        try:
            info = json.loads(path.read_bytes().partition(b"\n")[0])
        except (OSError, ValueError):
            continue
        if info.get("host") == host and info.get("pid") == inner:
            held.append(path)
    return held


def test_a_crop_across_hosts_over_sshfs_loses_nothing_and_duplicates_nothing(
    server, hosts, tmp_path
):
    started = time.monotonic()
    lib = skewclock.build(tmp_path)
    logdir = tmp_path / "calls"
    logdir.mkdir()
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "work"), name="mh", parent_dir=server.export, batchsize=1
    )
    crop.sow_combos({"x": list(range(NUM))}, constants={"logdir": str(logdir)})
    local = Path(crop.location)  # the server's own view: no client cache
    twin1, twin2, ahead, behind = hosts("twin", "twin", "ahead", "behind")
    skew = {
        "ahead": skewclock.skewed_env(lib, 600, stamps=True),
        "behind": skewclock.skewed_env(lib, -600),
    }
    growers: dict[str, Grower] = {}

    def grow(host, gid: str) -> Grower:
        where = f"{host.mount}/{local.name}"
        argv = [PY, "-m", "xsweep", "grow", where, "--heartbeat-timeout", str(TIMEOUT)]
        env = {"XS_GROWER": gid, **skew.get(host.name, {})}
        growers[gid] = host.start(argv, env)
        return growers[gid]

    for host, gids in (
        (twin1, "a1 a2"),
        (twin2, "b1"),
        (ahead, "c1 c2"),
        (behind, "d1"),
    ):
        for gid in gids.split():
            grow(host, gid)

    def done() -> int:
        return len(list((local / "results").glob("b*.xsr")))

    poll(lambda: done() >= 12, 90, "12 results")
    # 1. SIGKILL a grower of one twin
    growers["a1"].signal(signal.SIGKILL)
    killed = {"a1"}
    # 2. freeze a holder on the clock-ahead host past the heartbeat timeout
    frozen = None
    for gid in ("c1", "c2"):
        g = growers[gid]
        if poll(lambda g=g: holding(local / "claims", "ahead", g), 20, "a claim"):
            pids = process_tree(g.child())
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            frozen_claims = holding(local / "claims", "ahead", g)
            if frozen_claims:
                frozen = gid
                break
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
            g.signal(signal.SIGCONT)
    assert frozen is not None, "no grower of host 'ahead' caught holding a claim"
    frozen_at = time.monotonic()
    # 3. kill the whole clock-behind host (its claims are nobody's to prove dead)
    behind.kill()
    killed.add("d1")
    grow(twin2, "b2")  # a latecomer, on the second twin
    # 4. another SIGKILL, of a grower at work on the other twin
    poll(lambda: holding(local / "claims", "twin", growers["b1"]), 20, "b1 at work")
    growers["b1"].signal(signal.SIGKILL)
    killed.add("b1")
    # frozen until another grower has taken its batches over and written them
    results = [
        local / "results" / c.name.replace(".claim", ".xsr") for c in frozen_claims
    ]
    poll(lambda: all(r.exists() for r in results), 90, "its batches taken over")
    assert time.monotonic() - frozen_at > TIMEOUT  # never before the timeout
    for pid in process_tree(growers[frozen].child()):
        os.kill(pid, signal.SIGCONT)
    growers[frozen].signal(signal.SIGCONT)

    ends = {gid: g.finish(timeout=200) for gid, g in growers.items()}
    for gid, (code, _, err) in ends.items():
        if gid in killed:
            continue
        assert code == 0, f"grower {gid} exited {code}: {err}"
        assert "Traceback" not in err and "not permitted" not in err, err
    assert "discarded" in ends[frozen][2], ends[frozen]

    # every batch has one result, the right one: nothing lost or mislabelled
    assert crop.missing_results() == ()
    values = crop.reap(clean_up=False)
    assert list(map(int, values.ravel() if hasattr(values, "ravel") else values)) == [
        1000 * x + 7 for x in range(NUM)
    ]
    # a batch computed to the end twice only by a killed or frozen grower
    calls: dict[str, Counter] = {}
    for log in logdir.glob("calls-*.log"):
        gid = log.name[len("calls-") : -len(".log")]
        calls[gid] = Counter(int(x) for x in log.read_text().split())
    total = Counter()
    for counter in calls.values():
        total.update(counter)
    assert set(total) == set(range(NUM))
    excused = killed | {frozen}
    for x, n in total.items():
        by_others = sum(c[x] for gid, c in calls.items() if gid not in excused)
        assert by_others <= 1, f"batch of x={x} computed {n} times: {calls}"
    # status, through a host's sshfs (listings cached 20 s), counts every batch
    shown = twin1.run(
        [PY, "-m", "xsweep", "status", "--json", f"{twin1.mount}/{local.name}"]
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["done"] == NUM
    print(
        f"{NUM} batches, {sum(total.values())} calls, duplicates by excused growers "
        f"{sum(total.values()) - NUM}, {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    assert time.monotonic() - started < 180

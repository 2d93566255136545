"""The network file system lost under a grower: nothing half-written, and the
error says so with exit code 4 (not hidden by the release of its claim, not
"sow again")."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from hosts import PY

import xsweep

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import os
import time

def gated(x, gate):
    open(gate + ".entered", "w").close()
    while os.path.exists(gate):
        time.sleep(0.01)
    return float(x)
"""


def by_value(source: str, name: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "xsweep_multihost_loss"}
    exec(source, namespace)
    return namespace[name]


@pytest.mark.parametrize("loss", ["sshfs killed", "lazy unmount"])
def test_the_file_system_lost_under_a_grower_exits_4_leaving_nothing_half_written(
    server, hosts, tmp_path, loss
):
    gate = tmp_path / "gate"
    gate.touch()
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "gated"), name="loss", parent_dir=server.export
    )
    crop.sow_combos({"x": [1, 2]}, constants={"gate": str(gate)})
    (host,) = hosts("lossy")
    where = f"{host.mount}/{Path(crop.location).name}"
    grower = host.start(
        [PY, "-m", "xsweep", "grow", where, "1", "--heartbeat-timeout", "5"]
    )
    deadline = time.monotonic() + 60
    while not Path(f"{gate}.entered").exists():
        assert time.monotonic() < deadline and grower.proc.poll() is None
        time.sleep(0.02)
    if loss == "sshfs killed":
        sshfs = [p for p in host.processes() if _comm(p) == "sshfs"]
        assert sshfs, "no sshfs process on the host"
        for pid in sshfs:
            os.kill(pid, signal.SIGKILL)  # the network file system is gone
    else:  # the mount vanishes from under the grower
        done = host.run(["umount", "-l", str(host.mount)])
        assert done.returncode == 0, done.stderr
    gate.unlink()
    code, _, err = grower.finish(timeout=60)
    assert code == 4, err
    if loss == "sshfs killed":
        assert "not connected" in err.lower(), err
    else:
        assert "unmounted" in err, err
    assert "Sow" not in err and "Traceback" not in err
    results = Path(crop.location) / "results"
    assert [p.name for p in results.iterdir() if not p.name.startswith(".")] == []
    assert crop.missing_results() == (1, 2)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""

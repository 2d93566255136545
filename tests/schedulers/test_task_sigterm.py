"""A job-array task ended by its scheduler (SIGTERM: a time limit, ``scancel``,
``qdel``) exits 143 and frees the batch it was growing at once, instead of
leaving a claim that a task on another host must wait out."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import xsweep

SOURCE = """
import os
import time

def gated(x, gate):
    if os.path.exists(gate):
        open(gate + ".entered", "w").close()  # tells the test it is in here
    while os.path.exists(gate):
        time.sleep(0.005)
    return 10 * x
"""


def test_a_terminated_task_exits_143_and_frees_its_batch(tmp_path):
    namespace: dict[str, Any] = {"__name__": "xsweep_test_task_sigterm"}
    exec(SOURCE, namespace)
    gate = tmp_path / "gate"
    gate.touch()
    crop = xsweep.Crop(fn=namespace["gated"], name="t", parent_dir=tmp_path)
    crop.sow_combos({"x": [1, 2]}, constants={"gate": str(gate)})
    code = (
        "import sys; from xsweep.schedulers.task import run_task; "
        f"sys.exit(run_task({crop.location!r}, ['2']))"
    )
    task = subprocess.Popen(
        [sys.executable, "-c", code],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30
        while not Path(f"{gate}.entered").exists():
            assert time.monotonic() < deadline and task.poll() is None
            time.sleep(0.01)
        assert crop.status().claimed == 1
        task.send_signal(signal.SIGTERM)
        _, err = task.communicate(timeout=30)
    finally:
        gate.unlink(missing_ok=True)
        if task.poll() is None:
            task.kill()
            task.communicate()
    assert task.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert crop.layout.list_claims() == {}  # free at once, for any host
    assert crop.status().pending == 2
    crop.grow([2])
    assert crop.completed_results() == (2,)

"""``xsweep status`` of a crop being grown: the live growers and their hosts, the
age of the last result, failed combos apart from failed batches, a time left
only while growers are at work, the slowest and most memory-hungry batches,
``--watch`` redrawing in place; a successful query exits 0."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import xsweep
from xsweep.cli import EXIT_OK, main

SOURCE = """
import os
import time

def work(x, gate, mb, nap):
    if os.path.exists(f"{gate}-{x}"):
        open(f"{gate}-{x}.entered", "w").close()
    while os.path.exists(f"{gate}-{x}"):
        time.sleep(0.005)  # held here until the test removes the gate file
    if mb:
        block = bytearray(mb * 2**20)  # touched: resident
        block[:: 4096] = b"x" * len(block[:: 4096])
    time.sleep(nap)
    if x == 5:
        raise ValueError("five is bad")
    return 10 * x
"""


def sow(tmp_path: Path, **constants: Any) -> tuple[xsweep.Crop, Path]:
    namespace: dict[str, Any] = {"__name__": "xsweep_test_status_live"}
    exec(SOURCE, namespace)  # not importable: saved by value with the crop
    gate = tmp_path / "gate"
    crop = xsweep.Crop(fn=namespace["work"], name="live", parent_dir=tmp_path)
    crop.sow_combos(
        {"x": [1, 2, 3, 4, 5]},
        constants={"gate": str(gate), "mb": 0, "nap": 0.0, **constants},
    )
    return crop, gate


def grow(location: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "xsweep", "grow", "-q", location, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_until(condition, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
    return value


def status(crop: xsweep.Crop, capsys, *args: str) -> tuple[dict, str]:
    capsys.readouterr()
    assert main(["status", "--json", crop.location]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert main(["status", crop.location, *args]) == EXIT_OK
    return data, capsys.readouterr().out


def test_status_names_live_growers_and_gives_a_time_left_only_while_they_work(
    tmp_path, capsys
):
    crop, gate = sow(tmp_path)
    assert main(["grow", "-q", crop.location, "1", "5"]) == 1  # combo 5 raised
    Path(f"{gate}-3").touch()
    env = {"SLURM_ARRAY_JOB_ID": "4242", "SLURM_ARRAY_TASK_ID": "3"}
    grower = grow(crop.location, "3", env=env)
    try:
        wait_until(Path(f"{gate}-3.entered").exists, what="the grower in batch 3")
        data, text = status(crop, capsys)
        (live,) = data["live_growers"]
        assert live["host"] == socket.gethostname() and live["pid"] == grower.pid
        assert live["jobs"]["SLURM_ARRAY_JOB_ID"] == "4242"
        assert live["batches"] == 1
        assert 0 <= data["last_result_age"] < 60
        assert (data["done"], data["failed"], data["failed_combos"]) == (1, 1, 1)
        assert "1 combo failed, in 1 batch " in text
        assert f"1 grower at work: {socket.gethostname()} (pid {grower.pid}" in text
        assert "SLURM_ARRAY_JOB_ID=4242, 1 batch)" in text
        assert "left at that rate" in text
        assert "last result written" in text
    finally:
        Path(f"{gate}-3").unlink(missing_ok=True)
        _, err = grower.communicate(timeout=60)
    assert grower.returncode == EXIT_OK, err
    data, text = status(crop, capsys)
    assert data["live_growers"] == [] and data["pending"] == 2
    assert "no grower at work" in text and "left at that rate" not in text


def test_status_shows_the_slowest_and_most_memory_hungry_batches(tmp_path, capsys):
    namespace: dict[str, Any] = {"__name__": "xsweep_test_status_live2"}
    exec(SOURCE, namespace)
    crop = xsweep.Crop(fn=namespace["work"], name="heavy", parent_dir=tmp_path)
    crop.sow_cases(
        ["x", "mb", "nap"],
        [(1, 0, 0.0), (2, 0, 1.0), (3, 120, 0.0)],
        constants={"gate": str(tmp_path / "none")},
    )
    for batch in (1, 2, 3):  # each in a process of its own: its own peak memory
        done = subprocess.run(
            [sys.executable, "-m", "xsweep", "grow", "-q", crop.location, str(batch)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == EXIT_OK, done.stderr
    data, text = status(crop, capsys)
    assert data["slowest"][0]["batch_id"] == 2
    assert data["slowest"][0]["duration"] >= 1.0
    hungry = data["most_memory"][0]
    assert hungry["batch_id"] == 3 and hungry["max_rss"] >= 120 * 2**20
    assert min(b["max_rss"] for b in data["most_memory"]) < 100 * 2**20
    assert hungry["cpu_time"] > 0 and hungry["host"] == socket.gethostname()
    assert "slowest batches: 2 (" in text
    assert "peak memory (max RSS): 3 (1" in text and "MiB" in text


def test_status_watch_redraws_in_place_until_complete_and_exits_0(tmp_path):
    crop, gate = sow(tmp_path)
    Path(f"{gate}-4").touch()
    grower = grow(crop.location)
    try:
        wait_until(Path(f"{gate}-4.entered").exists, what="the grower in batch 4")
        controller, terminal = pty.openpty()  # a terminal, as a user watches on
        watcher = subprocess.Popen(
            [sys.executable, "-m", "xsweep", "status", "--watch", "0.1", crop.location],
            stdout=terminal,
            stderr=subprocess.PIPE,
        )
        os.close(terminal)
        seen = b""

        def redrawn_twice() -> bool:
            nonlocal seen
            seen += os.read(controller, 65536)
            return seen.count(b"\x1b[H\x1b[2J") >= 2

        wait_until(redrawn_twice, what="two redraws")
        assert watcher.poll() is None  # still watching: batch 4 not grown
        Path(f"{gate}-4").unlink()
        assert watcher.wait(timeout=60) == EXIT_OK  # complete: stops by itself
        try:
            while chunk := os.read(controller, 65536):
                seen += chunk
        except OSError:
            pass  # the terminal closed
        os.close(controller)
    finally:
        Path(f"{gate}-4").unlink(missing_ok=True)
        grower.communicate(timeout=60)
    text = seen.decode()
    assert "claimed" in text and "Ctrl-C to stop" in text
    last = text.rsplit("\x1b[H\x1b[2J", 1)[1]
    assert "1 combo failed, in 1 batch" in last

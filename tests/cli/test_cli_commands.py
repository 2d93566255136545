"""Each subcommand on a real crop: what it prints, does, and exits with."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import xsweep
from xsweep import atomic
from xsweep.cli import EXIT_FAILED, EXIT_NOTHING, EXIT_OK, EXIT_USAGE, main

PY = sys.executable

SOURCE = """
import os
import socket
import subprocess
import time

def f(x, y, log, fixed):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{x} {y}\\n".encode())
    finally:
        os.close(fd)
    if x == 2 and not os.path.exists(fixed):
        raise ValueError(f"x={x} is bad until fixed")
    return 10 * x + y
"""

COMBOS = {"x": [1, 2, 3], "y": [0, 1]}


class Sown:
    """A sown crop of ``f``, the log of its calls and the file that fixes x=2."""

    def __init__(self, tmp_path: Path, batchsize: int = 2) -> None:
        namespace: dict[str, Any] = {"__name__": "xsweep_test_cli_fns"}
        exec(SOURCE, namespace)
        self.log = tmp_path / "calls.log"
        self.fixed = tmp_path / "fixed"
        self.crop = xsweep.Crop(
            fn=namespace["f"], name="cli", parent_dir=str(tmp_path), batchsize=batchsize
        )
        self.crop.sow_combos(
            COMBOS, constants={"log": str(self.log), "fixed": str(self.fixed)}
        )
        self.path = str(self.crop.location)

    def calls(self) -> Counter:
        text = self.log.read_text() if self.log.exists() else ""
        return Counter(tuple(map(int, line.split())) for line in text.splitlines())


@pytest.fixture
def sown(tmp_path: Path) -> Sown:
    return Sown(tmp_path)


def status_json(path: str, capsys) -> dict:
    capsys.readouterr()
    main(["status", "--json", path])
    return json.loads(capsys.readouterr().out)


def test_status_counts_batches_and_exits_0_when_nothing_failed(sown, capsys):
    assert main(["status", sown.path]) == EXIT_OK
    text = capsys.readouterr().out
    assert "pending" in text and "3" in text
    data = status_json(sown.path, capsys)
    assert (data["num_batches"], data["pending"], data["done"]) == (3, 3, 0)
    assert data["failed_combos"] == 0


def test_grow_with_nothing_left_computes_nothing_and_exits_0(sown, capsys):
    assert main(["grow", sown.path, "1", "3"]) == EXIT_OK
    assert list(sown.crop.missing_results()) == [2]
    assert main(["grow", sown.path, "1"]) == EXIT_OK  # done already: not a failure
    assert sum(sown.calls().values()) == 4


def test_grow_max_batches_stops_after_that_many(sown, capsys):
    assert main(["grow", sown.path, "--max-batches", "2"]) in (EXIT_OK, EXIT_FAILED)
    assert len(sown.crop.missing_results()) == 1
    assert main(["grow", sown.path, "1", "--max-batches", "2"]) == EXIT_USAGE


def test_failed_combos_give_exit_1_status_lists_them_retry_reruns_only_them(
    sown, capsys
):
    assert main(["grow", sown.path]) == EXIT_FAILED  # pull mode, x=2 raises
    assert list(sown.crop.missing_results()) == []
    assert main(["grow", sown.path]) == EXIT_OK  # nothing left: the task succeeded
    assert main(["status", sown.path]) == EXIT_OK  # the query succeeded
    out = capsys.readouterr().out
    assert "x=2 is bad until fixed" in out
    assert "2 combos failed, in 1 batch " in out
    data = status_json(sown.path, capsys)
    assert (data["failed"], data["failed_combos"]) == (1, 2)
    assert {f["message"] for f in data["failures"]} == {"x=2 is bad until fixed"}
    assert {f["batch_id"] for f in data["failures"]} == {2}

    assert main(["retry", sown.path]) == EXIT_FAILED  # still broken
    sown.fixed.touch()
    assert main(["retry", sown.path]) == EXIT_OK
    assert main(["retry", sown.path]) == EXIT_NOTHING
    calls = sown.calls()
    assert calls[2, 0] == calls[2, 1] == 3  # grown, retried twice
    assert all(n == 1 for (x, _), n in calls.items() if x != 2)  # never rerun
    assert status_json(sown.path, capsys)["failed_combos"] == 0


def test_reap_refuses_an_incomplete_crop_unless_allowed(sown, tmp_path, capsys):
    assert main(["grow", sown.path, "1"]) == EXIT_OK
    assert main(["reap", sown.path]) == EXIT_USAGE
    assert "grow them" in capsys.readouterr().err
    capsys.readouterr()
    # batches missing, none failed: exit 1, and it says which are missing
    assert main(["reap", sown.path, "--allow-incomplete"]) == EXIT_FAILED
    assert "2 batch(es) had no result yet" in capsys.readouterr().err
    assert list(sown.crop.missing_results()) == [2, 3]  # kept: incomplete


def test_status_into_a_reader_that_stops_early_is_no_error(sown):
    # `| true` closes the pipe before xsweep writes: a broken pipe every time
    done = subprocess.run(
        [
            "bash",
            "-c",
            f"set -o pipefail; {PY} -m xsweep status --json {sown.path} | true",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr


def test_reap_of_an_unlabelled_crop_prints_it_and_reaps_again(sown, tmp_path, capsys):
    sown.fixed.touch()
    assert main(["grow", sown.path]) == EXIT_OK
    out = tmp_path / "out.nc"
    assert main(["reap", sown.path, "-o", str(out)]) == EXIT_USAGE
    assert "no labels" in capsys.readouterr().err and not out.exists()
    assert main(["reap", sown.path]) == EXIT_OK
    assert capsys.readouterr().out == "((10, 11), (20, 21), (30, 31))\n"
    assert main(["reap", sown.path]) == EXIT_OK  # cleaned up, reaped again
    assert capsys.readouterr().out == "((10, 11), (20, 21), (30, 31))\n"
    assert main(["status", sown.path]) == EXIT_OK
    assert main(["grow", sown.path]) == EXIT_NOTHING
    assert "already reaped" in capsys.readouterr().err


def test_reap_wait_times_out_with_exit_2(sown, capsys):
    capsys.readouterr()
    assert main(["reap", sown.path, "--wait", "--timeout", "0.2"]) == EXIT_USAGE
    assert "Traceback" not in capsys.readouterr().err


def test_clean_removes_debris_but_keeps_results_and_all_needs_yes(sown, capsys):
    assert main(["grow", sown.path, "1"]) == EXIT_OK
    results = Path(sown.path) / "results"
    host = atomic.WRITER_HOST  # host name ~ tag of this boot and pid namespace
    dead = _dead_pid()
    stray = results / f".b9.xsr.tmp-{host}-{dead}-0"  # its writer died
    live = results / f".b8.xsr.tmp-{host}-{os.getpid()}-0"  # being written
    remote = results / ".b7.xsr.tmp-node-elsewhere-123-0"  # another host's
    remote_old = results / ".b6.xsr.tmp-node-elsewhere-124-0"
    # the same host name, another pid namespace (a container): its pid means
    # nothing here, so it is judged by age like another host's
    twin = results / f".b5.xsr.tmp-{socket.gethostname().split('.')[0]}-{dead}-0"
    for path in (stray, live, remote, remote_old, twin):
        path.write_bytes(b"half a result")
    then = time.time() - 7200  # older than the heartbeat timeout
    os.utime(remote_old, (then, then))
    assert status_json(sown.path, capsys)["done"] == 1
    assert main(["clean", sown.path]) == EXIT_OK
    assert not stray.exists() and not remote_old.exists()
    assert live.exists() and remote.exists()  # their writers may be at work
    assert twin.exists()
    assert list(sown.crop.missing_results()) == [2, 3]
    assert main(["clean", sown.path, "--all"]) == EXIT_USAGE
    assert Path(sown.path).exists()
    assert main(["clean", sown.path, "--all", "--yes"]) == EXIT_OK
    assert not Path(sown.path).exists()
    assert main(["status", sown.path]) == EXIT_NOTHING


def _dead_pid() -> int:
    """The pid of a process that has exited (and been waited for)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_name_and_parent_dir_select_the_crop(sown, tmp_path, capsys):
    where = ["--name", "cli", "--parent-dir", str(tmp_path)]
    assert main(["grow", *where, "3"]) == EXIT_OK
    assert list(sown.crop.missing_results()) == [1, 2]
    assert main(["status", "--json", *where]) == EXIT_OK

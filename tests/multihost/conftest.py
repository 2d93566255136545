"""Fixtures for tests across simulated hosts over sshfs (see ``hosts.py``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hosts import FileServer, Host, require_tools


@pytest.fixture(scope="module")
def server() -> Iterator[FileServer]:
    """An sshd on 127.0.0.1 serving a fresh directory (its ``export``)."""
    require_tools()
    base = Path(tempfile.mkdtemp(prefix="xsweep-hosts-"))
    export = base / "export"
    export.mkdir()
    srv = FileServer(base, export)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def hosts(server: FileServer, tmp_path: Path) -> Iterator[object]:
    """``hosts(name, ...)`` starts simulated hosts; all are killed afterwards."""
    started: list[Host] = []

    def start(*names: str) -> list[Host]:
        new = [
            Host(server, name, tmp_path / f"mnt{len(started) + i}")
            for i, name in enumerate(names)
        ]
        started.extend(new)
        return new

    try:
        yield start
    finally:
        for host in started:
            host.kill()

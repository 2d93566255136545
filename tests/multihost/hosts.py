"""Simulated hosts sharing a directory over sshfs, on one machine.

A file server is our own OpenSSH ``sshd`` on 127.0.0.1 (a spare port, a key
made here, sftp only). A *host* is a process in its own UTS, mount and pid
namespaces (its own hostname and pid table) that mounts the served directory
with sshfs, with long attribute and directory caches as a busy cluster
client would have. Growers run on a host through ``nsenter``. Nothing here
touches any address but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CI_SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "ci"
PACKAGES = ("openssh-server", "sshfs", "fuse3")
#: sshfs cache options: a client that trusts what it saw for 20 s
CACHES = "dcache_timeout=20,attr_timeout=20,entry_timeout=20"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_tools() -> None:
    """Skip (or, under CI as root, install and never skip) what the hosts need."""
    why = None
    if os.geteuid() != 0:
        why = "simulated hosts need root (namespaces, FUSE mounts)"
    elif shutil.which("unshare") is None or shutil.which("nsenter") is None:
        why = "simulated hosts need unshare and nsenter (util-linux)"
    elif not os.path.exists("/dev/fuse"):
        why = "no /dev/fuse: sshfs cannot mount here"
    if why is not None:
        if in_ci():
            pytest.fail(f"CI=true but {why}")
        pytest.skip(why)
    if shutil.which("sshfs") and os.path.exists("/usr/sbin/sshd"):
        return
    if not in_ci():
        pytest.skip(
            "sshfs / sshd not installed; CI=true (as root) installs "
            + " ".join(PACKAGES)
        )
    subprocess.run(
        ["bash", str(CI_SCRIPTS / "apt_install.sh"), *PACKAGES],
        check=True,
        capture_output=True,
        timeout=600,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FileServer:
    """An sshd on 127.0.0.1 serving ``export`` over sftp, for root, by key."""

    def __init__(self, workdir: Path, export: Path) -> None:
        self.dir = workdir
        self.export = export
        self.port = _free_port()
        self.key = workdir / "id_ed25519"
        self.ssh_config = workdir / "ssh_config"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        d = self.dir
        for key in (self.key, d / "host_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                check=True,
            )
        (d / "authorized_keys").write_text(self.key.with_suffix(".pub").read_text())
        (d / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
            f"PidFile {d / 'sshd.pid'}\nAuthorizedKeysFile {d / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "Subsystem sftp internal-sftp\nMaxStartups 100:30:200\nMaxSessions 100\n"
        )
        self.ssh_config.write_text(
            f"Host 127.0.0.1\n  Port {self.port}\n  User root\n"
            f"  IdentityFile {self.key}\n  StrictHostKeyChecking no\n"
            "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
            "  ServerAliveInterval 5\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation dir
        self.proc = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=open(d / "sshd.log", "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not start: {(d / 'sshd.log').read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Host:
    """A simulated host: own hostname, pid table and sshfs mount of the export."""

    def __init__(self, server: FileServer, name: str, mount: Path) -> None:
        self.server, self.name, self.mount = server, name, mount
        mount.mkdir(parents=True, exist_ok=True)
        script = (
            f"hostname {name} && sshfs -F {server.ssh_config} "
            f"-o {CACHES},reconnect 127.0.0.1:{server.export} {mount} "
            "&& exec sleep infinity"
        )
        self.proc = subprocess.Popen(
            ["unshare", "--uts", "--mount", "--pid", "--fork", "--mount-proc",
             "--kill-child", "bash", "-c", script],
        )  # fmt: skip
        self.init_pid = self._inner_pid()
        deadline = time.monotonic() + 30
        while self.run(["mountpoint", "-q", str(mount)]).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"host {name}: sshfs did not mount {mount}")
            time.sleep(0.1)

    def _inner_pid(self) -> int:
        """The pid (outside) of the host's first process (bash, then sleep)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
                pids = kids.read_text().split()
                if pids:
                    return int(pids[0])
            time.sleep(0.02)
        raise RuntimeError(f"host {self.name} did not start")

    def enter(self) -> list[str]:
        """The command prefix that runs something on this host."""
        return ["nsenter", "-t", str(self.init_pid), "-u", "-m", "-p", "--"]

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.enter(), *argv], capture_output=True, text=True, timeout=120, **kw
        )

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> Grower:
        return Grower(self, argv, env)

    def processes(self) -> list[int]:
        """Every process of this host (pids outside), for SIGSTOP / SIGCONT."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    kids = Path(f"/proc/{pid}/task/{task}/children").read_text()
                    todo += [int(k) for k in kids.split()]
        return out

    def kill(self) -> None:
        """Kill the whole host: its growers, sshfs and ssh die with it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        with contextlib.suppress(OSError):
            os.rmdir(self.mount)


class Grower:
    """A process running on a host (through nsenter)."""

    def __init__(self, host: Host, argv: list[str], env: dict[str, str] | None):
        self.host = host
        self.proc = subprocess.Popen(
            [*host.enter(), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def child(self) -> int | None:
        """The grower's pid outside (nsenter's child), once it has one."""
        with contextlib.suppress(OSError, ValueError):
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            pids = kids.read_text().split()
            if pids:
                return int(pids[0])
        return None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the grower itself (and, to resume, to nsenter)."""
        pid = self.child()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        if signum == signal.SIGCONT or pid is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signum)

    def finish(self, timeout: float = 240) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


PY = sys.executable

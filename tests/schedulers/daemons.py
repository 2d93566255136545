"""Start, find and stop the real schedulers the tests submit to.

Under ``CI=true`` (or ``XSWEEP_START_SCHEDULERS=1``), as root, a scheduler that
is not running is installed and started with ``scripts/ci/<name>_up.sh`` and
stopped again at the end with ``<name>_down.sh``; one that was already running
is used and left alone. Elsewhere a scheduler that is not running makes its
tests skip, saying why. Under CI a scheduler that cannot be started fails the
tests: they must run there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CI_SCRIPTS = REPO / "scripts" / "ci"
SGE_ENV = {"SGE_ROOT": "/var/lib/gridengine", "SGE_CELL": "default"}
CI_USER = "ciuser"
#: seconds allowed for installing and starting one scheduler
UP_TIMEOUT = 400


def in_ci() -> bool:
    """Whether the tests must start what they need (and never skip)."""
    return os.environ.get("CI", "").lower() == "true" or (
        os.environ.get("XSWEEP_START_SCHEDULERS") == "1"
    )


@dataclass
class Daemon:
    """A scheduler the tests may use; ``started`` if the tests started it."""

    name: str
    started: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def _output(argv: list[str], env: dict | None = None) -> str | None:
    """What ``argv`` prints, if it runs and exits 0 (None otherwise)."""
    if shutil.which(argv[0], path=(env or os.environ).get("PATH")) is None:
        return None
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=15, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def slurm_running() -> bool:
    """Whether a SLURM controller answers and a node is up."""
    out = _output(["sinfo", "-h", "-o", "%T"])
    if out is None:
        return False
    return any(
        s.rstrip("*") in {"idle", "mixed", "allocated", "completing"}
        for s in out.split()
    )


#: queue-instance states in which Grid Engine runs no job: u(nknown: its execd
#: does not answer), E(rror), d(isabled), s/S(uspended), C(alendar suspended),
#: D(isabled by calendar), o(rphaned), c(onfiguration ambiguous)
SGE_DEAD_STATES = frozenset("uEdsSCDoc")


def sge_queue_usable(qstat_f: str) -> bool:
    """Whether ``qstat -f`` output lists an ``all.q`` instance that runs jobs.

    Its lines read ``all.q@host  BIP  0/0/2  0.01  lx-amd64  [states]``; a
    queue whose execution daemon is gone shows ``-NA-`` and state ``au``.
    """
    for line in qstat_f.splitlines():
        fields = line.split()
        if not fields or not fields[0].startswith("all.q@"):
            continue
        states = fields[5] if len(fields) > 5 else ""
        if not SGE_DEAD_STATES & set(states):
            return True
    return False


def sge_running() -> bool:
    """Whether Grid Engine answers with a usable execution host, and ciuser exists."""
    out = _output(["qstat", "-f"], env={**os.environ, **SGE_ENV})
    if out is None or not sge_queue_usable(out):
        return False
    return subprocess.run(["id", CI_USER], capture_output=True).returncode == 0


def _run_script(name: str) -> None:
    script = CI_SCRIPTS / name
    proc = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=UP_TIMEOUT,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{script} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )


def bring_up(name: str, running, up: str, down: str):
    """Yield a :class:`Daemon`, starting (and later stopping) it if allowed."""
    if running():
        yield Daemon(name)
        return
    if not in_ci():
        pytest.skip(
            f"{name} is not running here; run the tests with CI=true (as root) or "
            f"XSWEEP_START_SCHEDULERS=1 to install and start it with "
            f"scripts/ci/{up}"
        )
    if os.geteuid() != 0:
        pytest.fail(f"CI=true but not root: cannot start {name} with {up}")
    t0 = time.monotonic()
    try:
        _run_script(up)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        _stop(down)
        pytest.fail(f"could not start {name}: {e}")
    if not running():
        _stop(down)
        pytest.fail(f"{up} finished but {name} does not answer")
    daemon = Daemon(name, started=True, timings={"up": time.monotonic() - t0})
    print(f"\n[{name} started in {daemon.timings['up']:.1f} s]", file=sys.stderr)
    try:
        yield daemon
    finally:
        t0 = time.monotonic()
        _stop(down)
        print(f"\n[{name} stopped in {time.monotonic() - t0:.1f} s]", file=sys.stderr)


def _stop(down: str) -> None:
    try:
        _run_script(down)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"warning: {down} failed: {e}", file=sys.stderr)


def user_python(src_root: Path) -> tuple[str, dict[str, str]]:
    """An interpreter ``ciuser`` can run, with xsweep's dependencies installed.

    The repository's ``.venv`` links to root's own Python, which an ordinary
    user cannot start; so build (once per dependency set) a venv from Debian's
    ``/usr/bin/python3`` under ``/var/tmp/xsweep-ci``, and copy the current
    ``xsweep`` package into ``src_root`` (world-readable) for ``PYTHONPATH``.
    The dependencies are copied from this test run's own environment (same
    Python minor version: same wheels), which takes seconds and no network.

    Returns
    -------
    python : str
        Path of the interpreter.
    env : dict
        Environment additions (``PYTHONPATH``) for the job.
    """
    import hashlib

    system_python = "/usr/bin/python3"
    dists = _dependency_closure(["xsweep"])
    key = hashlib.sha256(
        ("\n".join(f"{d.name}=={d.version}" for d in dists) + system_python).encode()
    )
    base = Path("/var/tmp/xsweep-ci")
    base.mkdir(mode=0o755, exist_ok=True)
    venv = base / f"venv-{key.hexdigest()[:12]}"
    python = venv / "bin" / "python"
    if not python.exists():
        if subprocess.run([system_python, "-c", "import ensurepip, venv"]).returncode:
            subprocess.run(
                ["bash", str(CI_SCRIPTS / "apt_install.sh"), "python3-venv"],
                check=True,
                capture_output=True,
                timeout=UP_TIMEOUT,
            )
        tmp = base / f".venv-tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            [system_python, "-m", "venv", "--without-pip", str(tmp)], check=True
        )
        site = subprocess.run(
            [
                str(tmp / "bin" / "python"),
                "-c",
                "import site; print(site.getsitepackages()[0])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        same = subprocess.run(
            [system_python, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
        ).stdout.strip() == str(sys.version_info[:2])
        needed = [d for d in dists if d.name.lower() != "xsweep"]
        if same:  # same minor version: the very same wheels work
            for dist in needed:
                _copy_distribution(dist, Path(site))
        else:
            subprocess.run(
                [str(tmp / "bin" / "python"), "-m", "ensurepip", "-q"], check=True
            )
            subprocess.run(
                [str(tmp / "bin" / "python"), "-m", "pip", "install", "-q"]
                + [f"{d.name}=={d.version}" for d in needed],
                check=True,
                capture_output=True,
                timeout=UP_TIMEOUT,
            )
        try:
            os.rename(tmp, venv)
        except OSError:  # another session built it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    src_root.mkdir(mode=0o755, parents=True, exist_ok=True)
    shutil.copy(Path(__file__).with_name("_sweep.py"), src_root / "sched_sweep.py")
    shutil.copytree(
        REPO / "xsweep",
        src_root / "xsweep",
        ignore=shutil.ignore_patterns("__pycache__"),
        dirs_exist_ok=True,
    )
    for d, _, files in os.walk(src_root):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    return str(python), {"PYTHONPATH": str(src_root)}


def _dependency_closure(names: list[str]) -> list:
    """Installed distributions ``names`` need at run time (no extras), sorted."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    seen: dict[str, md.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        dist = md.distribution(name)
        seen[key] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(seen.values(), key=lambda d: d.name.lower())


def _copy_distribution(dist, site: Path) -> None:
    """Copy an installed distribution's files into another site-packages."""
    for f in dist.files or ():
        if f.parts[0] == ".." or "__pycache__" in f.parts:
            continue  # scripts outside site-packages, byte code
        source = Path(dist.locate_file(f))
        if source.is_file():
            target = site / f
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)

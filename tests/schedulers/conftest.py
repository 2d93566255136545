"""Session fixtures: real SLURM and Grid Engine daemons (see ``daemons.py``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .daemons import SGE_ENV, bring_up, sge_running, slurm_running, user_python


@pytest.fixture(scope="session")
def slurm():
    """A running single-node SLURM (started here under CI, else skip if absent)."""
    yield from bring_up("slurm", slurm_running, "slurm_up.sh", "slurm_down.sh")


@pytest.fixture(scope="session")
def sge():
    """A running single-host Grid Engine and the ordinary user ``ciuser``."""
    for k, v in SGE_ENV.items():
        os.environ.setdefault(k, v)
    yield from bring_up("sge", sge_running, "sge_up.sh", "sge_down.sh")


@pytest.fixture(scope="session")
def ciuser_python(sge):
    """(python, env) that the ordinary user ``ciuser`` can run xsweep with."""
    src = Path(f"/var/tmp/xsweep-ci/src-{os.getpid()}")
    try:
        yield user_python(src)
    finally:
        shutil.rmtree(src, ignore_errors=True)


@pytest.fixture
def shared_tmp():
    """A fresh directory that ``ciuser`` can write to (``tmp_path`` is root's)."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="xsweep-sched-", dir="/var/tmp"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)

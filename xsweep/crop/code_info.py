"""Which code a crop runs: the git commit of the function's source, and the
versions of what computed its results.

Looked up once, at sow time (one ``git`` call, only when the function's
source file is inside a git work tree), and saved in the sow record; the
grow path never runs ``git``. Growers record their own Python, numpy and
xsweep versions with each result (see :func:`versions`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any


def versions() -> dict[str, str]:
    """Python, numpy and xsweep versions of this process (numpy if imported)."""
    from .._version import __version__

    python = ".".join(map(str, sys.version_info[:3]))
    out = {"python": python, "xsweep": __version__}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        out["numpy"] = numpy.__version__
    return out


def source_file(fn: Callable | None) -> str | None:
    """The file defining ``fn`` (unwrapping partials and decorators), if any."""
    seen = 0
    while fn is not None and seen < 10:
        code = getattr(fn, "__code__", None)
        if code is not None:
            path = code.co_filename
            return os.path.abspath(path) if os.path.isfile(path) else None
        # a decorated function, a functools.partial, a callable object
        fn = (
            getattr(fn, "__wrapped__", None)
            or getattr(fn, "func", None)
            or (None if isinstance(fn, type) else type(fn).__dict__.get("__call__"))
        )
        seen += 1
    return None


def _work_tree(path: str) -> str | None:
    """The git work tree holding ``path`` (walking up for ``.git``), if any."""
    d = os.path.dirname(path)
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def git_state(path: str) -> dict[str, Any]:
    """``git_commit``, ``git_dirty`` (1 if tracked files differ from the
    commit, else 0) and ``git_repo`` of the work tree holding ``path``; empty
    when it is in none (or git is not installed)."""
    tree = _work_tree(path)
    if tree is None:
        return {}
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", tree, "status", "--porcelain=v2", "--branch",
             "--untracked-files=no"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {}
    if done.returncode != 0:
        return {}
    commit, dirty = None, 0
    for line in done.stdout.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.split()[2]
        elif not line.startswith("#"):
            dirty = 1
    if commit is None or commit == "(initial)":
        return {"git_repo": tree, "git_dirty": dirty}
    return {"git_commit": commit, "git_dirty": dirty, "git_repo": tree}


def code_record(fn: Callable | None) -> dict[str, Any]:
    """What is known at sow time of the code that will run: the function's
    source file and its git state."""
    path = source_file(fn)
    if path is None:
        return {}
    return {"fn_source": path, **git_state(path)}

"""Where a crop's function can be imported from: recorded at sow, used at grow.

A function saved by reference (its module is importable where it was sown) is
imported afresh by each grower. ``python -c`` and ``python -m`` put the
current directory on ``sys.path``; the ``xsweep`` console script does not. So
the sowing process records the directories its function's module came from
(the current directory, and the ``sys.path`` entry holding the module's
top-level package, unless that is an installed package's) with the saved
function, and a grower appends those that exist to its ``sys.path`` before
loading it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable


def sown_from(fn: Callable) -> list[str]:
    """The directories the sowing process could import ``fn``'s module from."""
    paths = [os.getcwd()]
    name = getattr(fn, "__module__", None) or ""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if file and name != "__main__":
        root = os.path.dirname(os.path.abspath(file))
        if os.path.basename(file).startswith("__init__."):
            root = os.path.dirname(root)
        for _ in range(name.count(".")):
            root = os.path.dirname(root)
        installed = {"site-packages", "dist-packages"} & set(root.split(os.sep))
        stdlib = root.startswith((sys.base_prefix, sys.prefix)) and "lib" in root
        if not installed and not stdlib and root not in paths:
            paths.append(root)
    return paths


def add_to_sys_path(paths: Iterable[str], *, first: bool = False) -> list[str]:
    """Put the existing directories of ``paths`` on ``sys.path``; those added.

    Appended (the sowing process's own entries keep precedence), or put
    first with ``first`` (paths the user gives, like ``PYTHONPATH``).
    """
    added = []
    for path in paths:
        path = os.path.abspath(path)
        if path in sys.path or not os.path.isdir(path):
            continue
        if first:
            sys.path.insert(len(added), path)
        else:
            sys.path.append(path)
        added.append(path)
    return added


def import_advice(error: BaseException, sown: list[str], command: str = "grow") -> str:
    """What to do when the function's module cannot be imported here
    (``command``: the ``xsweep`` command that takes ``--path``)."""
    missing = getattr(error, "name", None)
    what = f"the module {missing!r}" if missing else "a module it needs"
    where = ", ".join(sown) if sown else "an unknown directory"
    return (
        f"{what} cannot be imported here. The crop was sown from {where} "
        "(searched too, where it exists on this machine). Make the module "
        "importable: run from the directory that holds it, add that directory "
        f"to PYTHONPATH or give it with `xsweep {command} --path DIR`, or install "
        "the package that holds it (pip install -e)."
    )

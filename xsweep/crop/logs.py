"""The scheduler's output files of a crop's job arrays, in ``logs/``.

Every job script xsweep writes sends its tasks' output to the crop's
``logs/`` directory (see :attr:`~xsweep.crop.layout.CropLayout.logs_dir`) and
ends it with the line ``xsweep task: grower exit code N``. A task that failed
is one whose log says a non-zero code other than 75 (stopped early and
requeued), or that has no such line but an error of the scheduler (a time
limit, an out-of-memory kill) or a Python traceback: it was killed. Reading
a log's last few kilobytes is enough, so this stays fast for thousands of
tasks; a task still running has no exit line and no error yet, and does not
count.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .layout import CropLayout

#: how much of the end of each log is read
TAIL_BYTES = 4096
#: lines of a failed task's log that status shows
TAIL_LINES = 3

_EXIT = re.compile(rb"xsweep task: grower exit code (\d+)")
_KILLED = re.compile(
    rb"(?i)(\*\*\* .*(cancelled|time limit)|oom[- ]kill|out of memory|"
    rb"killed|traceback \(most recent call last\)|segmentation fault|"
    rb"xsweep task: error)"
)
#: exit codes that are not a failure of the task: done, stopped to be requeued
_FINE = {0, 75}


def failed_tasks(layout: CropLayout) -> tuple[int, list[dict[str, Any]]]:
    """How many logs there are, and the failed tasks': ``log`` (path),
    ``exit_code`` (None when killed before it could say) and ``last_lines``."""
    logs = layout.list_logs()
    failed = []
    for path in logs:
        tail = _tail(path)
        if tail is None:
            continue
        codes = _EXIT.findall(tail)
        if codes:
            code: int | None = int(codes[-1])
            if code in _FINE:
                continue
        elif _KILLED.search(tail):
            code = None
        else:
            continue  # still running (or said nothing)
        lines = [ln for ln in tail.decode(errors="replace").splitlines() if ln.strip()]
        failed.append(
            {
                "log": str(path),
                "exit_code": code,
                "last_lines": lines[-TAIL_LINES:],
            }
        )
    return len(logs), failed


def _tail(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - TAIL_BYTES))
            return f.read()
    except OSError:
        return None


def remove_logs(layout: CropLayout) -> list[Path]:
    """Remove every log in ``logs/``; the paths removed."""
    removed = []
    for path in layout.list_logs():
        try:
            if path.is_file():
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            pass
    return removed

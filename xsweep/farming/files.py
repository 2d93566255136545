"""Removing a farmer's file on disk, with an optional dated backup."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path


def delete_file(path: str | Path | None, backup: bool = False) -> None:
    """Delete ``path`` if it exists, first copied to ``<path>.BAK-<time>``."""
    if path is None or not Path(path).exists():
        return
    if backup:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        shutil.copy(path, f"{path}.BAK-{stamp}")
    Path(path).unlink()

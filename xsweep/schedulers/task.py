"""What one job-array task runs: :func:`run_task`.

Kept import-light (no xarray, pandas or plotting): it opens the crop from its
directory and grows the given batches, or claims and grows batches until none
is left (pull mode). Under an MPI launcher every rank does this on its own
share (see :mod:`xsweep.mpi`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from .. import mpi
from ..errors import CropReapedError, FileSystemError, Terminated, XsweepError

#: exit codes of a task (what the scheduler records), as ``xsweep grow``'s:
#: 3 nothing to do (not sown, reaped), 4 the file system failed, 143 SIGTERM
EXIT_OK, EXIT_FAILED, EXIT_BAD, EXIT_NOTHING, EXIT_SYSTEM, EXIT_TERMINATED = (
    0, 1, 2, 3, 4, 143,
)  # fmt: skip


def run_task(crop_dir: str, batch_args: Sequence[str] = ()) -> int:
    """Grow batches of the crop in ``crop_dir``; return the task's exit code.

    Parameters
    ----------
    crop_dir : str
        The crop directory (``.../.xyz-<name>``).
    batch_args : sequence of str
        Batch ids; none means pull mode.

    Returns
    -------
    int
        0 when everything asked for is grown (or another task already holds
        or finished it), 1 when some combos failed (recorded in the crop),
        2 for a bad crop directory, batch id or MPI environment, 3 when the
        crop is not sown or was reaped (nothing to do, as ``xsweep grow``),
        4 when the file system failed (the crop directory vanished, a
        networked file system went away), 75 when it stopped early with
        batches left (the allocation's end, or SIGUSR2: the scheduler's
        warning signal), 143 when terminated by SIGTERM (a
        time limit: claims are released first).
    """
    try:
        world = mpi.detect()
    except ValueError as e:
        return _error(f"bad MPI environment: {e}")
    tag = f"[rank {world.rank}/{world.size}] " if world.size > 1 else ""
    try:
        ids = [int(a) for a in batch_args]
    except ValueError:
        return _error(f"{tag}batch ids must be whole numbers, got {list(batch_args)}")
    from ..crop.crop import Crop, CropLayout
    from ..crop.deadline import EXIT_STOPPED, stop_on_warning
    from ..crop.sigterm import released_on_sigterm

    path = Path(crop_dir).absolute()
    name = CropLayout.name_of(path)
    if name is None:
        return _error(f"{tag}{path} is not a crop directory (.xyz-<name>)")
    try:
        crop = Crop(name=name, parent_dir=path.parent)
        if not crop.is_prepared():
            return _error(
                f"{tag}the crop at {path} is not sown (or was reaped and cleaned "
                "up): nothing for this task to grow",
                EXIT_NOTHING,
            )
        with released_on_sigterm(), stop_on_warning():
            if ids:
                mine = mpi.share(ids, world)
                report = crop.grow(mine) if mine else None
            else:
                report = crop.grow()
    except CropReapedError as e:
        return _error(f"{tag}{e}", EXIT_NOTHING)
    except FileSystemError as e:
        return _error(f"{tag}{e}", EXIT_SYSTEM)
    except XsweepError as e:
        return _error(f"{tag}{e}")
    except OSError as e:
        from ..crop.records import SYSTEM_ERRNOS

        if e.errno in SYSTEM_ERRNOS:
            return _error(f"{tag}the file system failed: {e}", EXIT_SYSTEM)
        raise
    except Terminated:
        return _error(f"{tag}terminated (SIGTERM): claims released", EXIT_TERMINATED)
    if report is None:
        print(f"{tag}no batch for this rank", flush=True)
        return EXIT_OK
    print(
        f"{tag}xsweep task: grew {_ids(report.grown)}, already done "
        f"{_ids(report.skipped)}, held by other growers {_ids(report.held)}; "
        f"{report.failed_combos} failed combo(s)",
        flush=True,
    )
    if report.stopped:
        missing = set(crop.missing_results())
        if missing & set(mine) if ids else missing:
            print(f"{tag}xsweep task: stopped early: {report.stopped}", flush=True)
            return EXIT_STOPPED
    return EXIT_FAILED if report.failed_combos else EXIT_OK


def _ids(ids: Sequence[int]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(map(str, list(ids)[:20]))
    return f"batch(es) {shown}" + (f" (+{len(ids) - 20} more)" if len(ids) > 20 else "")


def _error(message: str, code: int = EXIT_BAD) -> int:
    print(f"xsweep task: error: {message}", file=sys.stderr, flush=True)
    return code

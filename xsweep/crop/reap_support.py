"""What a reap needs besides the results: waiting for them, the farmer
saved with the crop, and the reaped file of an earlier reap."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import CropTimeoutError, FileFormatError
from . import records
from .layout import CropLayout

if TYPE_CHECKING:
    from .sow import SowRecord

#: default seconds ``reap(wait=True)`` waits before giving up
DEFAULT_WAIT_TIMEOUT = 3600.0


def wait_for_results(
    count_missing: Callable[[], int], timeout: float | None, poll: float = 0.05
) -> None:
    """Poll until no batch is missing; :class:`CropTimeoutError` after ``timeout``."""
    timeout = DEFAULT_WAIT_TIMEOUT if timeout is None else float(timeout)
    deadline = time.monotonic() + timeout
    delay = poll
    while True:
        missing = count_missing()
        if missing == 0:
            return
        if time.monotonic() >= deadline:
            raise CropTimeoutError(
                f"waited {timeout:g} s but {missing} batches are still missing; "
                "are growers running? (see crop.status()). Reap later, or with "
                "allow_incomplete=True for what is there."
            )
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 2.0)


def load_reaped(layout: CropLayout) -> Any | None:
    """What an earlier reap saved, or None."""
    if layout.reaped_dataset.exists():
        from .. import netcdf

        return netcdf.load_dataset(layout.reaped_dataset)
    data = records.read_if_exists(layout.reaped_raw, "reaped")
    return None if data is None else data["result"]


#: farmers that keep what is reaped in a file of their own
MERGING_FARMERS = ("Harvester", "Sampler")


def warn_unmerged(layout: CropLayout, kind: str) -> None:
    """Say that a crop sown by a Harvester or Sampler is reaped without it."""
    import warnings

    warnings.warn(
        f"the crop at {layout.location} was sown by a {kind}, but it is reaped "
        f"without it ({layout.farmer_file} is missing): the result is returned "
        f"and kept in the crop directory, not merged into the {kind}'s file. "
        f"Merge it with your {kind}: {kind.lower()}.Crop(name=..., "
        "parent_dir=...).reap().",
        stacklevel=4,
    )


def load_farmer(layout: CropLayout, sow: SowRecord | None = None) -> Any:
    """The Runner, Harvester or Sampler saved with the crop at sow time.

    Its function's module is searched for where ``xsweep grow`` searches it:
    in the directories the crop was sown from (saved with the farmer, or with
    the function of ``sow``), after ``sys.path``.
    """
    import pickle

    from .import_paths import add_to_sys_path, import_advice

    data = records.read(layout.farmer_file, "farmer")
    if not (isinstance(data, dict) and "cloudpickle" in data):
        return data  # saved by an earlier xsweep: the farmer itself
    sown = list(data.get("sys_path") or _function_paths(layout, sow))
    add_to_sys_path(sown)
    try:
        return pickle.loads(data["cloudpickle"])
    except Exception as e:
        advice = (
            import_advice(e, sown, command="reap")
            if isinstance(e, ImportError)
            else "reap where it can be (its function's module importable: "
            "`xsweep reap --path DIR` searches DIR)."
        )
        raise FileFormatError(
            f"{layout.farmer_file} (the farmer saved when the crop was sown) "
            f"cannot be loaded here ({type(e).__name__}: {e}): {advice} Or reap "
            "with the farmer: farmer.Crop(name=..., parent_dir=...).reap()."
        ) from e


def _function_paths(layout: CropLayout, sow: SowRecord | None) -> list[str]:
    """The directories saved with the crop's function (a crop sown by an
    xsweep that did not save them with the farmer)."""
    if sow is None or not sow.fn_saved:
        return []
    try:
        data = records.read(layout.function_file(sow.fn_fingerprint), "function")
    except (OSError, FileFormatError):
        return []
    return list(data.get("sys_path", ()))

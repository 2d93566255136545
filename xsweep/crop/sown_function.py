"""The function a crop was sown with: loading it, and checking a given one."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import CropError, FileFormatError
from . import records
from .fingerprint import function_fingerprint
from .import_paths import add_to_sys_path, import_advice
from .layout import CropLayout
from .sow import SowRecord


def load_function(layout: CropLayout, sow: SowRecord) -> Callable:
    """The function saved at sow time."""
    path = layout.function_file(sow.fn_fingerprint)
    if not sow.fn_saved:
        raise CropError(
            f"the crop at {layout.location} was sown with save_fn=False: give the "
            "function to grow, e.g. xsweep.grow(i, crop=c, fn=my_function)."
        )
    try:
        data = records.read(path, "function")
    except FileNotFoundError:
        raise CropError(
            f"the function file {path} is missing; sow the crop again, or give "
            "the function to grow with fn=..."
        ) from None
    import pickle

    import cloudpickle  # noqa: F401  (registers what cloudpickled data needs)

    sown = list(data.get("sys_path", ()))
    add_to_sys_path(sown)
    try:
        return pickle.loads(data["pickle"])
    except ImportError as e:
        raise CropError(
            f"cannot load the function {sow.fn_name!r} of the crop at "
            f"{layout.location} ({type(e).__name__}: {e}): " + import_advice(e, sown)
        ) from e
    except Exception as e:
        raise FileFormatError(
            f"cannot load the function from {path} ({type(e).__name__}: {e}); is "
            "the module it needs importable here? Or give fn= to grow."
        ) from e


def check_function(fn: Callable, sow: SowRecord, layout: CropLayout) -> None:
    """Raise if ``fn`` is not the function the crop was sown with."""
    fp = function_fingerprint(fn)
    if fp != sow.fn_fingerprint:
        from ..errors import FunctionMismatchError

        raise FunctionMismatchError(
            f"the function given to grow ({getattr(fn, '__name__', fn)!r}) differs "
            f"from the one the crop at {layout.location} was sown with "
            f"({sow.fn_name!r}): its code fingerprint is {fp[:12]}, not "
            f"{sow.fn_fingerprint[:12]}. Grow without fn= to use the saved "
            "function, or sow again to adopt the new one."
        )

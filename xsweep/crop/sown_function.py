"""The function a crop was sown with: loading it, and checking a given one."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import CropError, FileFormatError
from . import records
from .fingerprint import changed_parts, digest_parts, function_parts, part_digests
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


def check_function(
    fn: Callable, sow: SowRecord, layout: CropLayout, *, loaded: bool = False
) -> None:
    """Raise :class:`~xsweep.errors.FunctionMismatchError` if ``fn`` is not the
    code the crop was sown with (its own code, and the user's functions and
    modules it uses, as far as a fingerprint tells).

    ``loaded``: ``fn`` is the one saved with the crop, as loaded here (a
    function saved by reference is imported afresh, so edited code shows).
    """
    parts = function_parts(fn)
    fp = digest_parts(parts)
    if fp == sow.fn_fingerprint:
        return
    from ..errors import FunctionMismatchError

    changed = changed_parts(sow.fn_parts, part_digests(parts)) if sow.fn_parts else []
    what = (
        "; ".join(changed[:6])
        or f"fingerprint {fp[:12]}, not {sow.fn_fingerprint[:12]}"
    )
    if loaded:
        where = (
            f"the function saved with the crop at {layout.location} "
            f"({sow.fn_name!r}) loads here as different code: it is saved by "
            "reference, so its module is imported afresh, and the code on disk "
            f"changed since the crop was sown ({what})"
        )
    else:
        where = (
            f"the function given to grow ({getattr(fn, '__name__', fn)!r}) differs "
            f"from the one the crop at {layout.location} was sown with "
            f"({sow.fn_name!r}; {what})"
        )
    raise FunctionMismatchError(
        f"{where}. Nothing was grown: results of two versions of the code are "
        "never mixed. Either restore the code as it was when sown (e.g. `git "
        "stash`) and grow again; or adopt the new code: if the change only "
        "fixes failed combos, `xsweep retry CROP --adopt-code` or, in Python, "
        "crop.retry_failed(fn=new_fn) (other results are kept); else "
        "crop.sow_combos(...) again with it (its results are computed afresh; "
        "keep_old_code=True keeps the old ones), then grow."
    )


def saved_by_value(fn: Callable) -> bool:
    """Whether ``fn``, loaded from a crop, was saved by value: its code is in
    the crop (a function defined in a script, a notebook or a closure), so no
    module can give an edited version of it. A function saved by reference is
    its module's own object once loaded (that module imported afresh)."""
    import functools
    import inspect
    import sys

    while isinstance(fn, functools.partial) or inspect.ismethod(fn):
        fn = fn.func if isinstance(fn, functools.partial) else fn.__func__
    target = fn if inspect.isroutine(fn) or isinstance(fn, type) else type(fn)
    found: object = sys.modules.get(getattr(target, "__module__", None) or "")
    for part in (getattr(target, "__qualname__", None) or "<none>").split("."):
        found = getattr(found, part, None)
    return found is not target

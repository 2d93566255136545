"""The rest of xyzpy's Crop API: reaping with given labels or farmers,
checking result files, the NaN shape of a result, batch settings.

Mixed into :class:`~xsweep.crop.crop.Crop`.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CropError, FileFormatError
from .layout import CropLayout
from .store import ResultStore

if TYPE_CHECKING:
    from .sow import SowRecord

__all__ = ["XyzpyMethods", "parse_crop_details"]


def parse_crop_details(
    fn: Any, crop_name: str | None, crop_parent: str | os.PathLike | None
) -> tuple[str, str, str]:
    """``(crop_location, crop_name, crop_parent)`` as a Crop would use them.

    The name defaults to the function's; the parent to the current directory.

    Raises
    ------
    ValueError
        When there is neither a function nor a name.
    """
    if crop_name is None:
        if fn is None:
            raise ValueError("a crop needs a name, or a function to name it by")
        crop_name = getattr(fn, "__name__", None) or type(fn).__name__
    layout = CropLayout.for_name(crop_name, crop_parent)
    return str(layout.location), crop_name, str(layout.location.parent)


def _nan_like(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_nan_like(v) for v in x)
    if hasattr(x, "dims") and hasattr(x, "copy"):  # xarray
        import xarray as xr

        return xr.full_like(x, np.nan, dtype=float)
    shape = np.shape(x)
    return np.broadcast_to(np.nan, shape) if shape else np.nan


class XyzpyMethods:
    """xyzpy's names for reaping, checking and batching a crop."""

    _layout: CropLayout
    batchsize: int | None
    num_batches: int | None
    _farmer: Any

    # ---------------------------------------------------- reaping variants
    def reap_combos(
        self, wait: bool = False, clean_up: bool | None = None,
        allow_incomplete: bool = False,
    ) -> Any:  # fmt: skip
        """Reap raw results (nested tuples, as :func:`xsweep.combo_runner`
        gives them), whatever the crop's farmer."""
        from .reap import check_anything_grown, reap_crop, wait_for_results

        if wait:
            wait_for_results(lambda: len(self.missing_results()), None)  # type: ignore[attr-defined]
        sow = self._read_sow()  # type: ignore[attr-defined]
        if allow_incomplete:
            check_anything_grown(self)
        return reap_crop(
            self._layout, sow, None, None, allow_incomplete=allow_incomplete,
            clean_up=clean_up,
        )  # fmt: skip

    def reap_combos_to_ds(
        self,
        var_names: Any = None,
        var_dims: Any = None,
        var_coords: Any = None,
        constants: Any = None,
        resources: Any = None,
        attrs: Any = None,
        *,
        wait: bool = False,
        clean_up: bool | None = None,
        allow_incomplete: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Reap into a dataset labelled as given (as a Runner would).

        ``resources`` is accepted (xyzpy's signature); reaping runs nothing.
        """
        del resources
        labeller = GivenLabels(var_names, var_dims, var_coords, constants, attrs)
        return self._reap_with(labeller, wait, clean_up, allow_incomplete, kwargs)

    def reap_runner(self, runner: Any, **kwargs: Any) -> Any:
        """Reap labelled by ``runner`` (kept as its ``last_ds``)."""
        return self._reap_with(runner, **_reap_options(kwargs))

    def reap_harvest(self, harvester: Any, **kwargs: Any) -> Any:
        """Reap and merge into ``harvester`` (its file too)."""
        return self._reap_with(harvester, **_reap_options(kwargs))

    def reap_samples(self, sampler: Any, **kwargs: Any) -> Any:
        """Reap a Sampler's crop into ``sampler`` (its rows and file)."""
        return self._reap_with(sampler, **_reap_options(kwargs))

    def _reap_with(
        self, farmer: Any, wait: bool = False, clean_up: bool | None = None,
        allow_incomplete: bool = False, kwargs: dict | None = None,
    ) -> Any:  # fmt: skip
        saved = self._farmer
        self._farmer = farmer
        try:
            return self.reap(  # type: ignore[attr-defined]
                wait=wait, clean_up=clean_up, allow_incomplete=allow_incomplete,
                **(kwargs or {}),
            )  # fmt: skip
        finally:
            self._farmer = saved

    # ----------------------------------------- counts under xyzpy's names
    def calc_progress(self) -> None:
        """xyzpy refreshes its cached counts here; xsweep's
        ``num_sown_batches`` / ``num_results`` are read fresh every time."""

    _num_sown_batches = property(lambda self: self.num_sown_batches)
    _num_results = property(lambda self: self.num_results)

    @property
    def _batch_remainder(self) -> int | None:
        """Combos in the last, short batch (None when not sown)."""
        sow = self._read_sow(missing_ok=True)  # type: ignore[attr-defined]
        return None if sow is None else int(sow.combos.size % sow.batchsize)

    @property
    def _all_nan_result(self) -> Any:
        """:attr:`all_nan_result`, or None while it is not known."""
        try:
            return self.all_nan_result
        except (CropError, FileFormatError):
            return None

    # ------------------------------------------------------------- checks
    def check_bad(self, delete_bad: bool = True) -> tuple[int, ...]:
        """Batch ids whose result file cannot be read (deleted if
        ``delete_bad``, so that growing again replaces them).

        xsweep writes every file atomically, so a bad file means damage from
        outside (a disk or network file system fault).
        """
        sow = self._read_sow(missing_ok=True)  # type: ignore[attr-defined]
        if sow is None:
            return ()
        store = ResultStore(self._layout)
        bad = []
        for bid in self.completed_results():  # type: ignore[attr-defined]
            fp = sow.fingerprints[bid - 1]
            try:
                store.read(bid, fp)
            except (FileFormatError, OSError, EOFError):
                bad.append(bid)
                if delete_bad:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(self._layout.result_file(bid, fp))
        return tuple(bad)

    @property
    def all_nan_result(self) -> Any:
        """The shape of one result, every value NaN (tuples, arrays and
        xarray objects alike), from the first batch grown."""
        from .reap import fill_buffer

        sow: SowRecord = self._read_sow()  # type: ignore[attr-defined]
        if not self.completed_results():  # type: ignore[attr-defined]
            raise CropError(
                f"no batch of {self._layout.location} has a result yet: the "
                "shape of a result is not known; grow a batch first."
            )
        buffer, _, _ = fill_buffer(self._layout, sow, {})
        done = np.flatnonzero(buffer.done_mask.reshape(-1))
        if not done.size:
            raise CropError("every combo grown so far failed: no result to copy")
        first = buffer.arrays[None].reshape((sow.combos.size, -1))[done[0]]
        values = buffer.arrays[None]
        inner = values.shape[len(sow.combos.shape) :]
        if values.dtype.kind == "O":
            first = values.reshape(-1)[done[0]]
        else:
            first = first.reshape(inner)
        return _nan_like(first)

    def choose_batch_settings(
        self, *, combos: Any = None, cases: Any = None
    ) -> tuple[int, int]:
        """``(batchsize, num_batches)`` this crop would sow ``combos`` or
        ``cases`` with; raises for settings that cannot work.

        Raises
        ------
        TypeError
            For a batchsize or num_batches that is not a whole number.
        ValueError
            For one below 1, or two that do not fit the number of combos.
        """
        from ..combos import parse_combos
        from .sow import choose_bounds

        for label, v in (
            ("batchsize", self.batchsize),
            ("num_batches", self.num_batches),
        ):
            if v is not None and not isinstance(v, (int, np.integer)):
                raise TypeError(f"{label} must be a whole number, got {v!r}")
        n = parse_combos(combos).size if combos is not None else len(list(cases or ()))
        bounds = choose_bounds(n, self.batchsize, self.num_batches)
        sizes = np.diff(bounds)
        return int(sizes.max()), int(sizes.size)


class GivenLabels:
    """Labels given to :meth:`XyzpyMethods.reap_combos_to_ds`, parsed as a
    Runner parses its own: what the reap reads of a farmer (the attributes
    named by :data:`~xsweep.crop.sow.LABEL_ATTRS`)."""

    reap_to_df = None

    def __init__(
        self, var_names: Any, var_dims: Any, var_coords: Any, constants: Any,
        attrs: Any,
    ) -> None:  # fmt: skip
        from .. import labels

        self.var_names = labels.parse_var_names(var_names)
        self.var_dims = labels.parse_var_dims(var_dims, self.var_names)
        self.var_coords = labels.parse_var_coords(var_coords)
        self.constants = dict(constants or {})
        self.attrs = dict(attrs or {})


def _reap_options(kwargs: dict) -> dict:
    opts = {
        k: kwargs.pop(k)
        for k in ("wait", "clean_up", "allow_incomplete")
        if k in kwargs
    }
    opts["kwargs"] = kwargs
    return opts

"""The :class:`Crop`: a sweep persisted in a shared directory.

Sow combos once, grow batches from any number of independent processes (on
any machines that see the directory), reap the labelled dataset. Importing
this module is light (numpy only): a grow process never pays for xarray.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import CropError, FileFormatError
from . import claims
from .cluster import ClusterMethods
from .growing import GrowMethods
from .layout import CropLayout
from .queries import CropQueries
from .sow import SowRecord, read_sow
from .sowing import SowMethods
from .sown_function import load_function
from .store import ResultStore
from .xyzpy_methods import XyzpyMethods

if TYPE_CHECKING:
    pass

__all__ = ["Crop", "CropLayout"]


class Crop(SowMethods, GrowMethods, CropQueries, ClusterMethods, XyzpyMethods):
    """A sweep persisted in ``<parent_dir>/.xyz-<name>/``.

    Parameters
    ----------
    fn : callable, optional
        The function; the crop's name defaults to its name.
    name : str, optional
        The crop's name (required if neither ``fn`` nor ``farmer`` is given).
    parent_dir : str or path, optional
        Where the crop directory goes; the current directory by default.
    save_fn : bool, optional
        Save the function (cloudpickled) so growers need not import it; by
        default when there is a function.
    batchsize, num_batches : int, optional
        Combos per batch, or batches in all (one of them). By default one combo
        per batch up to 1000 combos, then 1000 batches of balanced size.
    shuffle : bool or int, optional
        Spread combos over batches at random (an int is the seed), to balance
        load when combos differ in cost.
    farmer : Runner, Harvester or Sampler, optional
        Gives the function and how to label results; reap then returns a
        dataset (a Harvester also merges it into its file).
    autoload : bool, optional
        Load the settings of a crop already sown in that directory: sowing
        again uses its batching and shuffling (unless given) and, for a crop
        opened by name alone (no ``fn`` nor ``farmer``), its function, labels
        and constants (as defaults), so that the same combos keep every result.
    heartbeat_timeout : float, optional
        Seconds without a heartbeat after which another grower may take over a
        claimed batch (default ``$XSWEEP_HEARTBEAT_TIMEOUT`` or 600). A holder
        that is provably dead (same host, pid gone) is taken over at once.
    """

    def __init__(
        self,
        *,
        fn: Callable | None = None,
        name: str | None = None,
        parent_dir: str | os.PathLike | None = None,
        save_fn: bool | None = None,
        batchsize: int | None = None,
        num_batches: int | None = None,
        shuffle: bool | int = False,
        farmer: Any = None,
        autoload: bool = True,
        heartbeat_timeout: float | None = None,
    ) -> None:
        if farmer is not None:
            if fn is not None and fn is not getattr(farmer, "fn", None):
                raise ValueError(
                    "give either fn or a farmer (which has its fn), not both"
                )
            fn = getattr(farmer, "fn", None)
        if name is None:
            if fn is None:
                raise ValueError(
                    "a Crop needs a name, or a fn (or farmer) to name it by"
                )
            name = getattr(fn, "__name__", None) or type(fn).__name__
        if save_fn and fn is None:
            raise ValueError("save_fn=True but there is no function to save")
        self._fn = fn
        self._loaded_fn: tuple[str, Callable] | None = None
        self._farmer = farmer
        self.name = name
        self._layout = CropLayout.for_name(name, parent_dir)
        self.parent_dir = str(self._layout.location.parent)
        self.save_fn = save_fn
        self.batchsize = batchsize
        self.num_batches = num_batches
        self._batching = (batchsize, num_batches)  # as asked, not as sown
        self.shuffle = shuffle
        self.heartbeat_timeout = claims.heartbeat_timeout(heartbeat_timeout)
        self._sow: SowRecord | None = None
        self._sow_stamp: tuple | None = None
        self._autoload = autoload
        if autoload and self.is_prepared():
            sow = self._read_sow()
            self.batchsize, self.num_batches = sow.batchsize, sow.num_batches
            if batchsize is None and num_batches is None:  # sow again as sown
                self._batching = tuple(sow.asked[:2])
            if shuffle is False:
                self.shuffle = sow.asked[2]

    # -------------------------------------------------------------- basics
    @property
    def farmer(self) -> Any:
        """The Runner, Harvester or Sampler: the one given, else (for a crop
        reopened by name) the one saved with the crop when it was sown."""
        if self._farmer is None and self._autoload and self.is_prepared():
            from .reap import load_farmer

            sow = self._read_sow(missing_ok=True)
            if sow is not None and sow.farmer_kind:
                with contextlib.suppress(FileNotFoundError, FileFormatError):
                    self._farmer = load_farmer(self._layout, sow)
        return self._farmer

    @farmer.setter
    def farmer(self, farmer: Any) -> None:
        self._farmer = farmer

    @property
    def location(self) -> str:
        """The crop directory."""
        return str(self._layout.location)

    @property
    def layout(self) -> CropLayout:
        """Every path in the crop directory."""
        return self._layout

    @property
    def fn(self) -> Callable | None:
        """The function (loaded from the crop directory if it was saved).

        A loaded function is kept apart from one given: a crop reopened by
        name still carries on its sowing (labels, farmer) when sown again.
        """
        if self._fn is None and self.is_prepared():
            sow = self._read_sow()
            if sow.fn_saved:
                key = sow.fn_fingerprint
                if self._loaded_fn is None or self._loaded_fn[0] != key:
                    self._loaded_fn = (key, load_function(self._layout, sow))
                return self._loaded_fn[1]
        return self._fn

    @fn.setter
    def fn(self, fn: Callable | None) -> None:
        self._fn = fn

    def is_prepared(self) -> bool:
        """Whether the crop has been sown (and not yet cleaned up)."""
        return self._layout.sow_file.exists()

    def _read_sow(self, missing_ok: bool = False) -> SowRecord | None:
        try:
            st = os.stat(self._layout.sow_file)
        except FileNotFoundError:
            if missing_ok:
                return None
            return read_sow(self._layout)  # raises the clear error
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._sow is None or stamp != self._sow_stamp:
            self._sow, self._sow_stamp = read_sow(self._layout), stamp
        return self._sow

    # --------------------------------------------------------------- reap
    def reap(
        self,
        wait: bool = False,
        clean_up: bool | None = None,
        allow_incomplete: bool = False,
        *,
        timeout: float | None = None,
        overwrite: bool | None = None,
        sync: bool = True,
    ) -> Any:
        """Gather every result: a dataset with a farmer, else raw results.

        A Sampler's crop gives a :class:`pandas.DataFrame` instead (one row per
        sown case: arguments, then outputs), also when reaped by a crop opened
        by name without its Sampler. A Harvester or Sampler (the one given, or
        the one saved with the crop at sow time) gets the result merged in.

        Parameters
        ----------
        wait : bool, optional
            Poll until every batch has a result (at most ``timeout`` seconds).
        clean_up : bool, optional
            Remove the crop's files once the result is safely saved (default:
            ``not allow_incomplete``). The reaped result stays, so reaping
            again returns it.
        allow_incomplete : bool, optional
            Reap what is there: NaN at failed or missing combos only; failures
            are listed in the attributes.
        timeout : float, optional
            Seconds ``wait`` may take (default 3600); then
            :class:`~xsweep.errors.CropTimeoutError`.
        overwrite : bool, optional
            How a Harvester merges conflicting data (see its ``merge_reaped``).
        sync : bool, optional
            Merge the result into the Harvester or Sampler (default; a Sampler
            adds a sowing's rows once, see its ``merge_reaped``).
        """
        from .reap import reap_sown

        return reap_sown(
            self, wait=wait, clean_up=clean_up, allow_incomplete=allow_incomplete,
            timeout=timeout, overwrite=overwrite, sync=sync,
        )  # fmt: skip

    def compact(self) -> int:
        """Merge every result file into one (atomically); how many results.

        Refused while a grower holds a live claim: it might miss a moved
        result and grow its batch again.
        """
        held = self._layout.list_claims().values()
        if busy := sum(not claims.is_stale(p, self.heartbeat_timeout) for p in held):
            raise CropError(
                f"{busy} batch(es) of {self.location} are being grown (live "
                "claims): compact once the growers have finished."
            )
        sow = self._read_sow()
        keep = {(k, fp) for k, fp in enumerate(sow.fingerprints, 1)}
        return ResultStore(self._layout).compact(keep)

    def delete_all(self) -> None:
        """Delete the crop directory and everything in it."""
        shutil.rmtree(self._layout.location, ignore_errors=True)
        self._sow, self._sow_stamp = None, None
        self.batchsize, self.num_batches = None, None  # as sown: nothing now

    # ------------------------------------------------------------- display
    def __repr__(self) -> str:
        from .render import render_text

        return render_text(self.status())

    def _repr_html_(self) -> str:
        from .render import render_html

        return render_html(self.status())

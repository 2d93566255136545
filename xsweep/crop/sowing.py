"""Sowing: the half of :class:`~xsweep.crop.crop.Crop` that writes what to grow."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import CropError, FileFormatError
from .sow import Samples

if TYPE_CHECKING:
    from collections.abc import Callable

    from .layout import CropLayout
    from .sow import SowRecord
    from .sow_crop import SowSummary


class SowMethods:
    """Sowing methods, mixed into :class:`~xsweep.crop.crop.Crop`.

    They need the crop's settings (``farmer``, ``save_fn``, ``shuffle``,
    batching, ``_autoload``, ``_fn``, ``fn``), ``_layout`` and ``_read_sow``.
    """

    _farmer: Any
    save_fn: bool
    shuffle: bool | int
    batchsize: int | None
    num_batches: int | None
    location: str
    _layout: CropLayout
    _autoload: bool
    _fn: Callable | None
    _batching: tuple[int | None, int | None]
    _sow: SowRecord | None
    _sow_stamp: Any

    def sow_combos(
        self,
        combos: Any,
        constants: dict | None = None,
        *,
        cases: Any = None,
        batchsize: int | None = None,
        num_batches: int | None = None,
        shuffle: bool | int | None = None,
        verbosity: int = 1,
        keep_old_code: bool = False,
    ) -> SowSummary:
        """Sow a grid of combos: write what to grow, in one file.

        Sowing again keeps the result of every combo whose values, constants
        and function are unchanged, wherever it now sits in the grid (values
        added, removed, reordered, cases instead of a grid), and sows batches
        over the other combos only. Results of a changed function are dropped,
        unless ``keep_old_code``. A result is never reaped under another
        combo's labels.

        Parameters
        ----------
        combos : dict, sequence of (name, values), or one (name, values) pair
            The values of each function argument to sweep over.
        constants : dict, optional
            Further arguments, the same for every combo.
        cases : sequence of dict, optional
            Grow every combination of ``combos`` at each of these cases
            (sown as explicit cases).
        batchsize, num_batches, shuffle : optional
            Override the crop's batching settings for this sowing.
        verbosity : int, optional
            Print what was kept, is to compute and was dropped if > 0
            (default).
        keep_old_code : bool, optional
            Also keep the results computed by the function the crop was sown
            with before, if it changed (for a fix that concerns only combos
            that failed, say): the reaped dataset then names both versions
            (``crop_code_versions``). Failed combos are always computed again.

        Returns
        -------
        SowSummary
            ``combos``, ``batches``, ``kept``, ``to_compute`` and ``dropped``.
        """
        from ..combos import parse_combos

        opts = (batchsize, num_batches, shuffle, verbosity, keep_old_code)
        if cases is not None:  # xyzpy's mix: every combo at each case
            from ..combos_mixed import mix_cases_and_combos

            mixed = mix_cases_and_combos(cases, combos)
            return self._sow_grid("cases", mixed, constants, *opts)
        return self._sow_grid("grid", parse_combos(combos), constants, *opts)

    def sow_cases(
        self,
        fn_args: str | Iterable[str] | None,
        cases: Iterable,
        constants: dict | None = None,
        *,
        batchsize: int | None = None,
        num_batches: int | None = None,
        shuffle: bool | int | None = None,
        verbosity: int = 1,
        keep_old_code: bool = False,
    ) -> SowSummary:
        """Sow explicit cases: every form ``Runner.run_cases`` takes.

        Parameters
        ----------
        fn_args : str, sequence of str or None
            The argument names of each case (None when the cases are dicts:
            then the first dict's keys).
        cases : iterable
            One tuple of values per case (one value if ``fn_args`` is a str),
            or one ``{name: value}`` dict per case. A Sampler's cases may
            repeat.
        constants, batchsize, num_batches, shuffle, verbosity, keep_old_code
            As for :meth:`sow_combos`.

        Returns
        -------
        SowSummary
            As for :meth:`sow_combos`.
        """
        from ..combos import case_rows, parse_cases

        names, rows = case_rows(fn_args, cases)
        if self._reaps_rows():  # rows, which may repeat
            parsed = Samples(names, rows)
        else:
            parsed = parse_cases(names, rows)
        opts = (batchsize, num_batches, shuffle, verbosity, keep_old_code)
        return self._sow_grid("cases", parsed, constants, *opts)

    def _inherited_sow(self) -> SowRecord | None:
        """The sowing a crop opened by name alone carries on (its function,
        labels, batching), if it was sown and ``autoload`` is on."""
        if not self._autoload or self._fn is not None or self._farmer is not None:
            return None
        with contextlib.suppress(FileFormatError):  # a damaged one: sow anew
            return self._read_sow(missing_ok=True)
        return None

    def _reaps_rows(self) -> bool:
        """Whether this crop reaps rows (a Sampler's, also one reopened by name)."""
        if self._farmer is not None:
            return bool(getattr(self._farmer, "reap_to_df", False))
        sown = self._inherited_sow()
        return bool(sown is not None and sown.labels.get("reap_to_df"))

    def sow_samples(
        self, n: int, combos: Any = None, constants: dict | None = None, **kwargs: Any
    ) -> SowSummary:
        """Sow ``n`` random samples drawn by the crop's Sampler.

        Parameters
        ----------
        n : int
            How many samples.
        combos : dict, optional
            What to sample each argument from (default: the Sampler's).
        constants : dict, optional
            Further arguments, the same for every sample.
        **kwargs
            ``seed`` for the Sampler, and the options of :meth:`sow_cases`.
        """
        draw = getattr(self._farmer, "gen_cases_fnargs", None)
        if draw is None:
            raise CropError("sow_samples needs a crop made by a Sampler (Sampler.Crop)")
        fn_args, cases = draw(n, combos, seed=kwargs.pop("seed", None))
        return self.sow_cases(fn_args, cases, constants, **kwargs)

    def _sow_grid(
        self, kind, combos, constants, batchsize, num_batches, shuffle, verbosity,
        keep_old_code=False, fn=None, save_fn=None,
    ) -> SowSummary:  # fmt: skip
        from .sow_crop import sow

        old = self._inherited_sow()
        if fn is None:
            fn = self.fn if old is not None else self._fn  # the sown one, if saved
        if batchsize is None and num_batches is None:  # else those given alone
            batchsize, num_batches = self._batching
        record, summary = sow(
            self._layout,
            kind,
            combos,
            fn=fn,
            farmer=self._farmer,
            constants=constants,
            save_fn=self.save_fn if save_fn is None else save_fn,
            batchsize=batchsize,
            num_batches=num_batches,
            shuffle=self.shuffle if shuffle is None else shuffle,
            inherit=old,
            keep_old_code=keep_old_code,
        )
        self._sow, self._sow_stamp = None, None
        self.batchsize, self.num_batches = record.batchsize, record.num_batches
        if verbosity:
            print(f"sowed {self.name!r}: {summary}")
        return summary

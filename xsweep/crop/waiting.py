"""Live progress while ``Crop.reap(wait=True)`` waits for growers.

tqdm is imported only when there is something to wait for, so this module
stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class WaitProgress:
    """Live progress while ``Crop.reap(wait=True)`` waits for growers.

    A ``tqdm.auto`` bar of grown batches (a widget in a notebook, text on a
    terminal), shown only if there is something to wait for. tqdm is imported
    only then, so this module stays light.

    Parameters
    ----------
    total : int
        Batches in the crop.
    desc : str, optional
        The bar's label.

    Examples
    --------
    >>> with WaitProgress(sow.num_batches) as progress:  # doctest: +SKIP
    ...     wait_for_results(progress.counting(count_missing), timeout)
    """

    def __init__(self, total: int, desc: str = "waiting for growers") -> None:
        self.total = int(total)
        self.desc = desc
        self._bar: Any = None

    def counting(self, count_missing: Callable[[], int]) -> Callable[[], int]:
        """Wrap a function counting missing batches so that each count shows."""

        def counted() -> int:
            missing = count_missing()
            self.update(self.total - missing)
            return missing

        return counted

    def update(self, grown: int) -> None:
        """Show that ``grown`` batches out of ``total`` have a result."""
        if self._bar is None:
            if grown >= self.total:
                return  # nothing to wait for: no bar at all
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total, initial=grown, desc=self.desc, unit="batch"
            )
        elif grown != self._bar.n:
            self._bar.update(grown - self._bar.n)

    def close(self) -> None:
        """Close the bar, if one was shown."""
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> WaitProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

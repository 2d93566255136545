"""Progress bars (``tqdm.auto``, imported only when one is shown)."""

from __future__ import annotations

from typing import Any


class Progress:
    """A progress bar updated once per chunk, or nothing at ``verbosity=0``.

    Parameters
    ----------
    total : int
        The number of combos.
    verbosity : int
        0: silent. 1: a bar. 2: a bar that also shows the failure count and
        the last combo of each chunk.
    desc : str, optional
        The bar's label.
    """

    def __init__(self, total: int, verbosity: int = 0, desc: str | None = None) -> None:
        self.verbosity = int(verbosity or 0)
        self.bar: Any = None
        if self.verbosity > 0:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="combo", dynamic_ncols=True)

    def update(self, n: int, failures: int = 0, last: dict | None = None) -> None:
        """Advance by ``n`` combos."""
        if self.bar is None:
            return
        if self.verbosity >= 2:
            postfix = {"failed": failures}
            if last is not None:
                postfix.update({k: f"{v!r:.12}" for k, v in last.items()})
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        """Finish the bar."""
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

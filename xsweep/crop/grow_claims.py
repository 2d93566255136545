"""Claiming and releasing batches: the half of
:class:`~xsweep.crop.grow.Grower` that talks to :mod:`xsweep.crop.claims`."""

from __future__ import annotations

from typing import Any

from ..errors import CropReapedError, FileSystemError
from . import claims, records


class ClaimMixin:
    """Claims of a grower (mixed into :class:`~xsweep.crop.grow.Grower`)."""

    layout: Any
    heartbeat: Any
    timeout: float

    def _release(self, pending: list[Any]) -> None:
        """Release the claims of ``pending`` batches and forget them."""
        for e in pending:
            self.heartbeat.drop(e.claim)
        try:
            for e in pending:
                claims.release(e.claim, e.token, claimed_at=e.claimed_at)
        finally:
            pending.clear()

    def _acquire(self, claim) -> str | None:
        try:
            return claims.acquire(claim, self.timeout)
        except FileNotFoundError:
            if not self.layout.sow_file.exists():
                if (
                    self.layout.reaped_dataset.exists()
                    or self.layout.reaped_raw.exists()
                ):
                    raise CropReapedError(
                        f"the crop at {self.layout.location} was reaped while "
                        "growing: nothing left to grow"
                    ) from None
                raise records.vanished(claim) from None
            self.layout.make_dirs()
            return claims.acquire(claim, self.timeout)
        except OSError as e:
            if e.errno in records.SYSTEM_ERRNOS:
                raise FileSystemError(
                    f"cannot claim {claim}: {e.strerror or e} (the file system "
                    "failed: a networked file system gone?). Nothing was "
                    "half-written; grow again once it is back."
                ) from e
            raise

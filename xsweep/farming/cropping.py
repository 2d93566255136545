"""``.Crop(...)``: the one method that Runner, Harvester and Sampler share.

A farmer's crop is a persisted sweep whose function and labels come from the
farmer; a Harvester's reaped results merge into its file, a Sampler's into its
table (the crop calls back into the farmer by protocol).
"""

from __future__ import annotations

from typing import Any


class CropMaker:
    """Mixin giving a farmer xyzpy's ``.Crop(...)`` constructor."""

    def _check_labels(self) -> None:
        """Raise if this farmer cannot label results (a Sampler needs var_names)."""

    def Crop(
        self,
        name: str | None = None,
        parent_dir: Any = None,
        save_fn: bool | None = None,
        batchsize: int | None = None,
        num_batches: int | None = None,
        shuffle: bool | int = False,
        **kwargs: Any,
    ) -> Any:
        """A :class:`~xsweep.Crop` (persisted sweep) with this as its farmer.

        Parameters are those of :class:`~xsweep.Crop`; its function and labels
        come from here, and a Harvester's (or Sampler's) reaped results merge
        into it. A Sampler's crop is sown with ``crop.sow_samples(n,
        seed=...)`` (or ``sow_cases``) and reaps its rows as a DataFrame.
        """
        from ..crop.crop import Crop

        self._check_labels()
        return Crop(
            farmer=self,
            name=name,
            parent_dir=parent_dir,
            save_fn=save_fn,
            batchsize=batchsize,
            num_batches=num_batches,
            shuffle=shuffle,
            **kwargs,
        )

"""The module-level functions of the xyzpy crop API: ``grow``, ``load_crops``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CropError
from .grow import GrowReport
from .layout import CropLayout

if TYPE_CHECKING:
    from .crop import Crop


def grow(
    batch_number: int | str | Iterable[int | str] | None = None,
    crop: Crop | str | os.PathLike | None = None,
    fn: Callable | None = None,
    *,
    deadline: Any = None,
    **kwargs: Any,
) -> GrowReport:
    """Grow batch(es) of a crop in this process (xyzpy-compatible).

    Parameters
    ----------
    batch_number : int, str or sequence of them, optional
        Which batches (from 1; a string of digits, as ``sys.argv[1]``, is its
        number); None grows every missing batch.
    crop : Crop or path
        The crop, or its directory (default: the current directory when it is
        a crop directory).
    fn : callable, optional
        The function, if not saved with the crop.
    deadline : float or datetime, optional
        Stop by then (seconds from now, or a time); by default when the
        scheduler's allocation ends, if known. See :meth:`Crop.grow`.
    """
    if crop is None:
        crop = Path.cwd()
    from .crop import Crop

    if not isinstance(crop, Crop):
        path = Path(crop).absolute()
        name = CropLayout.name_of(path)
        if name is None:
            raise CropError(f"{path} is not a crop directory (.xyz-<name>)")
        crop = Crop(name=name, parent_dir=path.parent, **kwargs)
    return crop.grow(batch_number, fn=fn, deadline=deadline)


def load_crops(directory: str | os.PathLike = ".") -> dict[str, Crop]:
    """Every crop in ``directory``, by name."""
    from .crop import Crop

    out = {}
    for entry in sorted(os.listdir(directory)):
        name = CropLayout.name_of(entry)
        if name and os.path.isdir(os.path.join(directory, entry)):
            out[name] = Crop(name=name, parent_dir=directory)
    return out

"""Running a function over combos: in this process, on local workers, or on
any executor, into preallocated numpy arrays.

Public entry points:

- :func:`run`: a whole sweep into an :class:`OutputBuffer` (what ``Runner``
  and ``combo_runner`` build on);
- :func:`compute_block`: one flat index range in this process, packed as a
  :class:`Block` (what a crop's grow process calls);
- :class:`OutputBuffer`: arrays that blocks are written into (what reap
  fills);
- :class:`Failure`: the record of a combo that raised.

Nothing here imports xarray, pandas or tqdm at import time.
"""

from __future__ import annotations

from .block import Block
from .driver import run
from .failures import Failure
from .outputs import OutputBuffer
from .sequential import compute_block
from .validate import check_signature

__all__ = [
    "Block",
    "Failure",
    "OutputBuffer",
    "check_signature",
    "compute_block",
    "run",
]

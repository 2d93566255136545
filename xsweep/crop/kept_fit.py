"""A sowing that keeps results checks them against its labels first.

Growers check every result against the labels of the sowing they grow
(:mod:`xsweep.crop.result_checks`), so that a crop that says it is complete
can always be reaped. Sowing the same combos again keeps their results; if
the new sowing's labels (``var_names``, ``var_dims``, ``var_coords``) differ
from those the results were grown with, the kept results are checked against
the new labels before anything is written, and the sowing is refused, the
crop left as it was, if one does not fit. Results kept under unchanged labels
were checked when grown and are not read again.

This module runs at sow time only, never on the grow path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from ..errors import CropError, FileFormatError, OutputMismatchError
from .layout import CropLayout
from .result_checks import CropSizes, expected_shapes, first_unfit, results_salt


def _shapes_of(labels: dict | None) -> list | None:
    shapes = expected_shapes(labels or {})
    return None if shapes is None else list(shapes.items())


def needs_check(previous: Any, labels: dict) -> bool:
    """Whether results of ``previous`` (a sow record or None) kept by a sowing
    with ``labels`` must be checked: the new labels give other shapes."""
    if expected_shapes(labels) is None:
        return False  # unlabelled (raw) or rows: nothing to fit
    return previous is None or _shapes_of(previous.labels) != _shapes_of(labels)


def grown_blocks(layout: CropLayout, record: Any) -> list:
    """The blocks of every result of ``record``'s batches, and of its kept file
    (the same combos sown again the same way: the results stay where they are)."""
    from .carry import read_kept
    from .store import ResultStore

    store = ResultStore(layout)
    present, _ = store.snapshot()
    blocks: list = []
    with contextlib.suppress(CropError, FileFormatError):
        for kept in read_kept(layout, record):
            blocks += kept["blocks"]
    for k, fp in enumerate(record.fingerprints, 1):
        if (k, fp) in present:
            with contextlib.suppress(FileNotFoundError, FileFormatError):
                blocks += store.read(k, fp)["blocks"]
    return blocks


def check_kept(
    layout: CropLayout,
    record: Any,
    previous: Any,
    blocks: Iterable,
    kept: int,
) -> None:
    """Refuse (:class:`OutputMismatchError`) a sowing whose labels do not fit
    the ``kept`` results in ``blocks`` (at the flat indices of ``record``).

    Also fixes, for the growers of the new sowing, the sizes the kept results
    give to dimensions sized by the results.
    """
    shapes = expected_shapes(record.labels)
    if shapes is None or not kept:
        return
    blocks = list(blocks)
    sizes = CropSizes(layout, shapes, lambda: results_salt(record))
    index, problem, fitted = first_unfit(blocks, shapes, sizes.fixed())
    if index < 0:
        sizes.fix(fitted)
        return
    combo = record.combos.combo(index)
    raise OutputMismatchError(
        f"cannot sow {layout.location} with {_labels(record.labels)}: the crop "
        f"already holds {kept} result{'s' if kept != 1 else ''} of these combos"
        f"{_grown_with(previous)}, and they do not fit these labels: for combo "
        f"{combo}, {problem}. Nothing was changed. Sow with labels that fit "
        "the results (e.g. those they were grown with); or, to compute every "
        "combo again, delete the crop first (crop.delete_all(), or `xsweep "
        "clean CROP --all --yes`) and sow again."
    )


def _labels(labels: dict) -> str:
    """``var_names=[...]`` and, if given, ``var_dims``, ``var_coords`` sizes."""
    names = labels.get("var_names")
    names = [names] if isinstance(names, str) else list(names or ())
    text = f"var_names={names!r}"
    dims = labels.get("var_dims")
    if dims:
        dims = {k: [v] if isinstance(v, str) else list(v) for k, v in dims.items() if v}
        text += f", var_dims={dims!r}"
    return text


def _grown_with(previous: Any) -> str:
    labels = getattr(previous, "labels", None) or {}
    if not labels.get("var_names"):
        return ""
    return f" (grown with {_labels(labels)})"

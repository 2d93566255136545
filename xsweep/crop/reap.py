"""Reaping: stream every batch's result into preallocated arrays, label, save.

Results are read one batch at a time into the engine's
:class:`~xsweep.engine.OutputBuffer` (peak memory about the output plus one
batch), labelled with :func:`xsweep.labelling.buffer_to_dataset` (xarray is
imported here, never on the grow path) and saved atomically. The crop is
cleaned up only after the reaped dataset is safely on disk, which is also what
a second reap returns. A farmer whose ``reap_to_df`` is true (a Sampler) gets
rows instead: one per sown case, arguments then outputs, as a DataFrame.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any

import numpy as np

from ..engine.failures import shown
from ..errors import (
    CropError,
    IncompleteCropError,
)
from . import records
from .advice import LABELS_DO_NOT_FIT, labels_do_not_fit
from .carry import read_kept
from .layout import EARLIER_PREFIX, CropLayout
from .provenance import summarise
from .reap_support import (
    MERGING_FARMERS,
    load_farmer,
    load_reaped,
    wait_for_results,
    warn_unmerged,
)
from .sow import SowRecord
from .store import ResultStore

#: the ``batch_id`` in ``crop_batches`` of a result kept from an earlier
#: sowing (its batch is not one of this sowing's)
KEPT_BATCH = "kept"


def fill_buffer(
    layout: CropLayout, sow: SowRecord, labels: dict[str, Any]
) -> tuple[Any, list[int], list[dict]]:
    """Read every batch's result into an OutputBuffer, one batch at a time.

    Returns
    -------
    buffer : OutputBuffer
        Filled at every grown combo; its ``failures`` are those still standing.
    missing : list of int
        Batches without a result.
    provenance : list of dict
        The provenance of every result read.
    """
    from ..engine import OutputBuffer

    buffer = OutputBuffer(
        sow.combos,
        var_names=labels.get("var_names"),
        var_dims=labels.get("var_dims"),
        var_coords=labels.get("var_coords"),
    )
    store = ResultStore(layout)
    present, _ = store.snapshot()
    missing, provs = [], []
    versions: dict[str, int] = {}
    for record in read_kept(layout, sow):  # kept by combo, keys checked
        for block in record["blocks"]:
            buffer.put_block(block.start, block)
            fp = record["fn_fingerprint"]
            versions[fp] = versions.get(fp, 0) + block.size
        for prov in record["provenance"]:  # grown for an earlier sowing
            prov.setdefault("batch_id", KEPT_BATCH)
        provs.extend(record["provenance"])
    for k, fp in enumerate(sow.fingerprints, 1):
        if (k, fp) not in present:
            missing.append(k)
            continue
        record = store.read(k, fp)
        for block in record["blocks"]:
            buffer.put_block(block.start, block)
        for prov in record["provenance"]:
            prov.setdefault("batch_id", k)
        provs.extend(record["provenance"])
        n = int(sow.bounds[k] - sow.bounds[k - 1])
        versions[sow.fn_fingerprint] = versions.get(sow.fn_fingerprint, 0) + n
    buffer.code_versions = versions
    if buffer.failures:
        buffer.failures[:] = standing_failures(buffer)
    return buffer, missing, provs


def standing_failures(buffer: Any) -> list:
    """Each combo still without a result once, with its latest failure.

    A retried batch's record holds its first blocks and then one block per
    rerun combo, each with the failures of its attempt; a combo that failed
    every attempt must still count once (the provenance list keeps the
    history of attempts).
    """
    done = buffer.done_mask.reshape(-1)
    latest: dict[int, Any] = {}
    for f in buffer.failures:  # in the order written: later attempts last
        if not done[f.index]:
            latest[f.index] = f
    return [latest[i] for i in sorted(latest)]


def check_anything_grown(crop: Any) -> None:
    """Raise unless at least one batch has a result (a partial reap of
    unlabelled results needs one to know what a result looks like)."""
    if not crop.completed_results():
        raise CropError(
            f"no batch of {crop.location} has a result yet: nothing to reap. "
            "Grow batches first (crop.grow_missing(), or `xsweep grow`)."
        )


def check_complete(sow: SowRecord, missing: list[int], buffer: Any) -> None:
    """Raise :class:`IncompleteCropError` unless every combo has a result."""
    if missing or buffer.failures:
        failures = list(buffer.failures)
        raise IncompleteCropError(
            incomplete_message(missing, failures, sow.num_batches),
            missing,
            failures,
            sow.num_batches,
        )


def incomplete_message(
    missing: list[int], failures: list, num_batches: int, cli_crop: str | None = None
) -> str:
    """Why a crop cannot be reaped whole, and what to do: in Python's words,
    or (``cli_crop``: the crop's directory) in the command line's."""
    if missing:
        listed = ", ".join(map(str, missing[:10])) + (
            " ..." if len(missing) > 10 else ""
        )
        text = f"{len(missing)} of {num_batches} batches have no result yet (batches "
        if cli_crop:
            return (
                f"{text}{listed}): grow them (xsweep grow {cli_crop}), reap with "
                "--wait to wait for running growers, or with --allow-incomplete "
                "for NaN there"
            )
        return (
            f"{text}{listed}); grow them, reap(wait=True), or "
            "reap(allow_incomplete=True) for NaN there."
        )
    f = failures[0]
    n = len(failures)
    text = (
        f"{n} combo{'s' if n > 1 else ''} failed, e.g. {shown(f.combo)} raised "
        f"{f.exc_type}: {f.message.rstrip('.')}."
    )
    if labels_do_not_fit(failures):
        # retrying gives the same error: the labels are what is wrong
        redo = f" {LABELS_DO_NOT_FIT}"
        if cli_crop:
            return f"{text}{redo}; or reap with --allow-incomplete for NaN there"
        return f"{text}{redo}; or reap(allow_incomplete=True) for NaN there."
    if cli_crop:
        return (
            f"{text} See them with: xsweep status {cli_crop}; rerun them with: "
            f"xsweep retry {cli_crop} (add --adopt-code once the code is fixed); "
            "or reap with --allow-incomplete for NaN there"
        )
    return (
        f"{text} Rerun them with crop.retry_failed() (retry_failed(fn=fixed) "
        "once the code is fixed), inspect crop.failures(), or "
        "reap(allow_incomplete=True) for NaN there."
    )


def crop_attrs(
    sow: SowRecord,
    missing: list[int],
    buffer: Any,
    provs: list,
    code: dict | None = None,
) -> dict:
    """The crop's part of the provenance record: who grew it, completeness,
    and the code (``code``: the git state of the function's source at sow
    time).

    It goes into the reaped result's provenance record
    (:func:`xsweep.provenance`), not into ``attrs``.
    """
    attrs = summarise(provs)
    for key, value in (code or {}).items():
        attrs[f"crop_{key}"] = value
    xarray = sys.modules.get("xarray")
    if xarray is not None:  # the reaper's
        attrs["crop_xarray"] = xarray.__version__
    attrs["crop_fn"] = sow.fn_name
    attrs["crop_fn_fingerprint"] = sow.fn_fingerprint
    versions = getattr(buffer, "code_versions", {})
    if len(versions) > 1:  # results of older code kept, as asked
        names = {h["fn_fingerprint"]: h["fn_name"] for h in sow.code_history}
        attrs["crop_code_versions"] = "; ".join(
            f"{fp[:12]} ({names.get(fp, '?')}): {n} combos"
            for fp, n in versions.items()
        )
    attrs["crop_num_batches"] = sow.num_batches
    attrs["crop_missing_batches"] = len(missing)
    attrs["crop_failed_combos"] = len(buffer.failures)
    return attrs


def to_raw(buffer: Any, sow: SowRecord) -> Any:
    """Results without labels, as xyzpy gives them: nested tuples over the grid."""
    array = buffer.arrays[None]
    if array.dtype.kind != "O":
        return nest(array, len(sow.combos.shape))
    return nest(array, array.ndim)


def nest(array: np.ndarray, depth: int) -> Any:
    if depth == 0:
        if not isinstance(array, (np.ndarray, np.generic)):  # an object element
            return array
        return (
            array.item()
            if array.ndim == 0 and array.dtype.kind != "O"
            else (array[()] if array.ndim == 0 else array)
        )
    return tuple(nest(array[i], depth - 1) for i in range(array.shape[0]))


def reap_crop(
    layout: CropLayout,
    sow: SowRecord,
    labels: dict[str, Any] | None,
    farmer: Any,
    *,
    allow_incomplete: bool,
    clean_up: bool | None,
    overwrite: bool | None = None,
    sync: bool = True,
) -> Any:
    """Reap a sown crop: labelled (dataset or rows) if ``labels``, else raw.

    The farmer's ``merge_reaped(result, overwrite=..., source=sow_id)`` takes
    the labelled result (unless not ``sync``); a farmer without it (a Runner)
    keeps it as ``last_ds``.
    """
    buffer, missing, provs = fill_buffer(layout, sow, labels or {})
    if not allow_incomplete:
        check_complete(sow, missing, buffer)
    complete = not missing and not buffer.failures
    attrs = crop_attrs(sow, missing, buffer, provs, sow.code)
    if complete and not _writable(layout):  # read-only: reap, keep nothing
        complete = clean_up = False
    if labels is None:
        result = to_raw(buffer, sow)
        if complete:
            records.write(
                layout.reaped_raw, "reaped", {"result": result, "attrs": attrs}
            )
    else:
        result = label(buffer, sow, labels, attrs, provs)
        merge = getattr(farmer, "merge_reaped", None)
        if merge is not None:
            if sync:
                merge(result, overwrite=overwrite, source=sow.sow_id)
        elif hasattr(farmer, "last_ds"):  # a Runner keeps its last dataset
            farmer.last_ds = result
        if complete and labels.get("reap_to_df"):
            records.write(layout.reaped_raw, "reaped", {"result": result})
        elif complete:
            from .. import netcdf

            netcdf.save_dataset(result, layout.reaped_dataset)
    if clean_up is None:
        clean_up = not allow_incomplete
    if clean_up and complete:
        clean(layout)
    return result


def _writable(layout: CropLayout) -> bool:
    """Whether this process may write the crop directory; warns if not."""
    if os.access(layout.location, os.W_OK) and os.access(layout.results_dir, os.W_OK):
        return True
    import warnings

    warnings.warn(
        f"the crop at {layout.location} is read-only for this user: the result "
        "is returned but not saved in it, and the crop is not cleaned up. Reap "
        "as a user who can write it to save and clean it.",
        stacklevel=4,
    )
    return False


def _span(provs: list[dict]) -> tuple[str, str]:
    """ISO times of the first start and last end of the results."""
    starts = [p["start"] for p in provs if p.get("start")] or [time.time()]
    ends = [p["end"] for p in provs if p.get("end")] or [time.time()]
    iso = "%Y-%m-%dT%H:%M:%S+00:00"
    return time.strftime(iso, time.gmtime(min(starts))), time.strftime(
        iso, time.gmtime(max(ends))
    )


def label(
    buffer: Any, sow: SowRecord, labels: dict, record: dict, provs: list[dict]
) -> Any:
    """The filled buffer as a labelled dataset, or as rows if ``reap_to_df``.

    ``record`` (:func:`crop_attrs`) joins the run's provenance record
    (:func:`xsweep.provenance`), never ``attrs``.
    """
    from .. import labelling

    attrs = dict(labels.get("attrs") or {})
    record = {
        **labelling.provenance_attrs(None, *_span(provs)),
        "xsweep_function": sow.fn_name,
        **record,
    }
    if labels.get("reap_to_df"):
        from ..frames import buffer_to_frame

        var_names = labels.get("var_names") or ()
        return buffer_to_frame(
            buffer, sow.combos, var_names=var_names, attrs=attrs, provenance=record,
            constants=labels.get("constants"),
        )  # fmt: skip
    return labelling.buffer_to_dataset(
        buffer,
        sow.combos,
        var_names=labels.get("var_names"),
        var_dims=labels.get("var_dims"),
        var_coords=labels.get("var_coords"),
        constants=labels.get("constants"),
        attrs=attrs,
        provenance=record,
    )


def clean(layout: CropLayout) -> None:
    """Remove everything but the reaped result: sow record first (growers stop)."""
    records.remove(layout.sow_file)
    keep = {layout.reaped_dataset.name, layout.reaped_raw.name}
    for name in os.listdir(layout.location):
        if name in keep or name.startswith(EARLIER_PREFIX):
            continue
        path = layout.location / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            records.remove(path)


def reap_sown(
    crop: Any,
    *,
    wait: bool,
    clean_up: bool | None,
    allow_incomplete: bool,
    timeout: float | None,
    overwrite: bool | None,
    sync: bool = True,
) -> Any:
    """What :meth:`Crop.reap <xsweep.crop.crop.Crop.reap>` does."""
    from .sow import LABEL_ATTRS

    layout = crop.layout
    sow = crop._read_sow(missing_ok=True)
    if sow is None:
        saved = load_reaped(layout)
        if saved is None:
            crop._read_sow()  # raises: not sown
        return saved
    if wait and not allow_incomplete:
        from .waiting import WaitProgress

        with WaitProgress(sow.num_batches, f"waiting for {crop.name!r}") as progress:
            wait_for_results(
                progress.counting(lambda: len(crop.missing_results())), timeout
            )
    farmer = crop.farmer
    if farmer is None and sow.farmer_kind and layout.farmer_file.exists():
        farmer = load_farmer(layout, sow)
    if farmer is None and sow.farmer_kind in MERGING_FARMERS and sync:
        warn_unmerged(layout, sow.farmer_kind)
    labels = None
    if farmer is not None and hasattr(farmer, "var_names"):
        labels = {a: getattr(farmer, a, None) for a in LABEL_ATTRS}
        labels["constants"] = {**sow.constants, **(labels["constants"] or {})}
    elif sow.farmer_kind:
        labels = sow.labels
    if allow_incomplete and (labels is None or labels.get("var_names") is None):
        check_anything_grown(crop)  # raw results: their shape is unknown yet
    return reap_crop(
        layout, sow, labels, farmer, allow_incomplete=allow_incomplete,
        clean_up=clean_up, overwrite=overwrite, sync=sync,
    )  # fmt: skip

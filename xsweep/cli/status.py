"""``xsweep status CROP [--json]``: how far a crop has grown, and what failed."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from ._common import EXIT_FAILED, EXIT_OK, add_crop_arguments, open_crop

HELP = "show pending / claimed / done / failed batches and failed combos"
DESCRIPTION = (
    "Show how many batches are pending, claimed (being grown), done and failed, "
    "how many combos failed and why. Exit code 1 when some combos failed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``status``'s arguments to ``parser``."""
    add_crop_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON"
    )


def run(args: argparse.Namespace) -> int:
    """Print the crop's status; exit code 1 when some combos failed."""
    crop = open_crop(args, reaped_ok=True)
    status = crop.status()
    if args.json:
        json.dump(status_to_dict(status), sys.stdout, indent=2, default=_jsonable)
        sys.stdout.write("\n")
    elif not getattr(status, "sown", True) and getattr(status, "reaped", False):
        print(f"crop {status.name!r} at {status.location}: reaped (xsweep reap)")
    else:
        print(render(status))
    return EXIT_FAILED if status.failed_combos else EXIT_OK


def status_to_dict(status: Any) -> dict[str, Any]:
    """A ``CropStatus`` as plain JSON-able data."""
    if hasattr(status, "to_dict"):
        return json.loads(json.dumps(status.to_dict(), default=_jsonable))
    data = {
        field.name: getattr(status, field.name) for field in dataclasses.fields(status)
    }
    data["failures"] = [_failure_dict(f) for f in status.failures]
    return json.loads(json.dumps(data, default=_jsonable))


def _failure_dict(failure: Any) -> Any:
    if isinstance(failure, tuple) and len(failure) == 2:  # (batch id, Failure)
        batch, failure = failure
        return {"batch_id": batch, **_failure_dict(failure)}
    return _jsonable(failure)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict"):
        return value._asdict()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return repr(value)


def render(status: Any) -> str:
    """Text for ``status``: ``xsweep.crop.render.render_text`` when present."""
    try:
        from ..crop.render import render_text
    except ImportError:
        return _plain_text(status)
    failures = [_failure_dict(f) for f in status.failures]
    return render_text(dataclasses.replace(status, failures=failures))


def _plain_text(status: Any) -> str:
    lines = [
        f"crop {status.name!r} at {status.location}",
        f"  batches: {status.num_batches} total, {status.pending} pending, "
        f"{status.claimed} claimed, {status.done} done, {status.failed} failed",
    ]
    if status.failed_combos:
        lines.append(f"  failed combos: {status.failed_combos}")
        for item in status.failures:
            lines.append(f"    {_failure_line(item)}")
    return "\n".join(lines)


def _failure_line(item: Any) -> str:
    data = _failure_dict(item)
    if not isinstance(data, dict):
        return str(data)
    where = f"batch {data['batch_id']}, " if "batch_id" in data else ""
    combo = data.get("combo", "?")
    kind = data.get("exc_type", data.get("type", "error"))
    message = data.get("message", "")
    return f"{where}combo {combo}: {kind}: {message}"

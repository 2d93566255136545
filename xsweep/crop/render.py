"""Pictures of a crop's progress: plain text for terminals, HTML for notebooks.

Both renderers take a :class:`~xsweep.crop.status.CropStatus` (or anything with
the same attributes) and return a string; they never touch the crop directory
and import nothing beyond the standard library, so ``xsweep status`` stays fast.

Each picture shows a bar per state (pending / claimed / done / failed), the
number of failed combos with the latest failures' messages, the measured
throughput, and an estimate of the time left.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .advice import what_next
from .provenance import job_of

#: The states of a batch, in the order they are drawn.
STATES: tuple[str, ...] = ("pending", "claimed", "done", "failed")

_COLOURS = {
    "pending": "#c8c8c8",
    "claimed": "#f0ad4e",
    "done": "#5cb85c",
    "failed": "#d9534f",
}

#: How many failures a picture lists at most.
MAX_FAILURES = 5
#: How many growers a picture names at most.
MAX_GROWERS = 4


def render_text(status: Any, *, width: int = 30, ascii: bool = False) -> str:
    """A compact multi-line picture of a crop's progress for a terminal.

    Parameters
    ----------
    status : CropStatus
        What :meth:`xsweep.Crop.status` returns (any object with the same
        attributes will do).
    width : int, optional
        Width of each bar, in characters.
    ascii : bool, optional
        Draw the bars with ``#`` and ``.`` instead of block characters, for
        terminals that cannot show them.

    Returns
    -------
    str
        Several lines, without a trailing newline.
    """
    full, empty = ("#", ".") if ascii else ("\u2588", "\u00b7")
    total = _int(status, "num_batches")
    lines = [f"crop {_get(status, 'name')!r} at {_get(status, 'location')}: "]
    if not _sown(status):
        lines[0] += _unsown_text(status)
        return "\n".join(lines)
    lines[0] += _headline(status)
    for state in STATES:
        count = _int(status, state)
        filled = _cells(count, total, width)
        lines.append(
            f"  {state:<8} {full * filled}{empty * (width - filled)} "
            f"{count:>{len(str(total))}} {_percent(count, total):>6}"
        )
    if _int(status, "failed_combos"):
        hint = what_next(_get(status, "failures"), _get(status, "location"))
        lines.append(f"  {_failed_text(status)} {hint}")
    lines.extend("  " + line for line in details(status))
    failures = _latest_failures(status)
    if failures:
        lines.append("  latest failures:")
        lines.extend(f"    {describe_failure(f)}" for f in failures)
    return "\n".join(lines)


def render_html(status: Any) -> str:
    """An HTML picture of a crop's progress, for ``Crop._repr_html_``.

    Parameters
    ----------
    status : CropStatus
        What :meth:`xsweep.Crop.status` returns.

    Returns
    -------
    str
        A self-contained ``<div>`` with inline styles only (notebooks strip
        ``<style>`` and scripts from untrusted output).
    """
    esc = html.escape
    total = _int(status, "num_batches")
    header = (
        f"<div><b>Crop</b> <code>{esc(str(_get(status, 'name')))}</code> &middot; "
        f"{esc(_headline(status) if _sown(status) else _unsown_text(status))} &middot; "
        f"<code>{esc(str(_get(status, 'location')))}</code></div>"
    )
    if not _sown(status):
        return f'<div class="xsweep-crop" style="font-family:sans-serif">{header}</div>'
    segments = "".join(
        f'<div title="{state}: {_int(status, state)}" style="width:'
        f"{100 * _int(status, state) / total if total else 0:.3f}%;"
        f'background:{_COLOURS[state]}"></div>'
        for state in STATES
    )
    rows = "".join(_html_row(state, _int(status, state), total) for state in STATES)
    parts = [
        '<div class="xsweep-crop" style="font-family:sans-serif;font-size:13px;'
        'max-width:560px">',
        header,
        '<div style="display:flex;height:14px;margin:4px 0;border:1px solid #999;'
        f'background:#eee">{segments}</div>',
        f'<table style="border-collapse:collapse">{rows}</table>',
    ]
    parts += [f"<div>{esc(line)}</div>" for line in details(status)]
    failures = _latest_failures(status)
    if _int(status, "failed_combos") or failures:
        parts.append(
            f'<div style="color:{_COLOURS["failed"]};margin-top:4px">'
            f"<b>{esc(_failed_text(status))}</b> "
            f"{esc(what_next(_get(status, 'failures'), None))}</div>"
        )
    if failures:
        items = "".join(f"<li>{esc(describe_failure(f))}</li>" for f in failures)
        parts.append(f'<ul style="margin:2px 0;padding-left:18px">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


def details(status: Any) -> list[str]:
    """The lines both pictures show under the bars: throughput and time
    left, the growers at work, stale claims, the heaviest batches and the
    scheduler tasks."""
    lines = [progress_summary(status), *growers_text(status)]
    if _int(status, "stale_claims"):
        lines.append(_stale_text(status))
    return lines + heaviest_text(status) + tasks_text(status)


def _latest_failures(status: Any) -> list:
    return list(_get(status, "failures") or ())[-MAX_FAILURES:]


def progress_summary(status: Any) -> str:
    """One line on throughput and the time left, from the measured batches.

    The throughput is the number of grown batches (done or failed: both are
    finished) over the wall-clock time from the first start to the last
    finish, so it counts every grower at once. With a single grown batch it
    falls back on that batch's duration. The time left is the batches not yet
    grown (pending and claimed) at that rate.

    Parameters
    ----------
    status : CropStatus
        What :meth:`xsweep.Crop.status` returns.

    Returns
    -------
    str
        For instance ``"3.2 batches/s, mean batch 0.61 s; about 12 s left"``.
    """
    total = _int(status, "num_batches")
    left = _int(status, "pending") + _int(status, "claimed")
    durations = [float(d) for d in (_get(status, "batch_durations") or ())]
    if total and not left:
        word = "finished with failures" if _int(status, "failed") else "complete"
        if not durations:
            return word
        return f"{word}, mean batch {_duration(_mean(durations))}"
    rate = _rate(status, durations)
    alive = _get(status, "live_growers")
    idle = alive is not None and not alive  # known: nobody is growing
    if rate is None:
        if idle:
            return "no batch finished yet, and no grower at work"
        return "no batch finished yet: no estimate of the time left"
    text = f"{_rate_text(rate)}, mean batch {_duration(_mean(durations))}"
    if idle:
        return f"{text}; no grower at work: no estimate of the time left"
    return f"{text}; about {_duration(left / rate)} left at that rate"


def growers_text(status: Any) -> list[str]:
    """Lines on the growers at work and the age of the last result.

    Parameters
    ----------
    status : CropStatus
        What :meth:`xsweep.Crop.status` returns.

    Returns
    -------
    list of str
        For instance ``["2 growers at work: node1 (pid 12, SLURM_ARRAY_JOB_ID=7,
        1 batch), ...", "last result 3.2 s ago"]``; empty when unknown.
    """
    growers = _get(status, "live_growers")
    lines = []
    if growers is not None and _int(status, "pending") + _int(status, "claimed"):
        if not growers:
            lines.append("no grower at work (start one: xsweep grow CROP)")
        else:
            shown = ", ".join(_grower_text(g) for g in growers[:MAX_GROWERS])
            more = len(growers) - MAX_GROWERS
            tail = f", and {more} more" if more > 0 else ""
            n = len(growers)
            lines.append(f"{n} grower{'s' if n != 1 else ''} at work: {shown}{tail}")
    age = _get(status, "last_result_age")
    if age is not None:
        lines.append(f"last result written {_duration(float(age))} ago")
    return lines


def heaviest_text(status: Any) -> list[str]:
    """Lines naming the slowest and the most memory-hungry batches.

    Parameters
    ----------
    status : CropStatus
        What :meth:`xsweep.Crop.status` returns.

    Returns
    -------
    list of str
        Empty when no batch was measured.
    """
    lines = []
    slowest = list(_get(status, "slowest") or ())
    if len(slowest) > 1 or (slowest and _int(status, "done") + _int(status, "failed")):
        items = ", ".join(
            f"{b['batch_id']} ({_duration(float(b['duration']))}"
            + (f" on {b['host']}" if b.get("host") else "")
            + ")"
            for b in slowest
        )
        lines.append(f"slowest batches: {items}")
    hungry = list(_get(status, "most_memory") or ())
    if hungry:
        items = ", ".join(
            f"{b['batch_id']} ({_bytes(int(b['max_rss']))})" for b in hungry
        )
        lines.append(f"peak memory (max RSS): {items}")
    return lines


def tasks_text(status: Any) -> list[str]:
    """Lines on job-array tasks whose scheduler log says they failed.

    Parameters
    ----------
    status : CropStatus
        What :meth:`xsweep.Crop.status` returns.

    Returns
    -------
    list of str
        A count, then each failed task's log with its exit code and last
        lines (at most :data:`MAX_FAILURES` tasks); empty if none failed.
    """
    tasks = list(_get(status, "failed_tasks") or ())
    if not tasks:
        return []
    n, logs = len(tasks), _int(status, "num_logs")
    lines = [f"{n} failed task{'s' if n != 1 else ''} (of {logs} scheduler logs):"]
    for task in tasks[-MAX_FAILURES:]:
        code = task.get("exit_code")
        how = "killed" if code is None else f"exit code {code}"
        lines.append(f"  {task.get('log')} ({how}):")
        lines.extend(f"    | {line[:200]}" for line in task.get("last_lines") or ())
    return lines


def _grower_text(grower: Mapping) -> str:
    bits = [f"pid {grower.get('pid')}"]
    job = job_of(grower.get("jobs") or {})
    if job:
        bits.append(job)
    n = int(grower.get("batches") or 0)
    bits.append(f"{n} batch{'es' if n != 1 else ''}")
    return f"{grower.get('host')} ({', '.join(bits)})"


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _failed_text(status: Any) -> str:
    combos, batches = _int(status, "failed_combos"), _int(status, "failed")
    return (
        f"{combos} combo{'s' if combos != 1 else ''} failed, in "
        f"{batches} batch{'es' if batches != 1 else ''}"
    )


def describe_failure(failure: Any) -> str:
    """One line naming a failed combo: batch, parameters, exception, message.

    Parameters
    ----------
    failure : (int, Failure) or Failure or Mapping
        A ``(batch_id, failure)`` pair as in ``CropStatus.failures``, or a
        failure record alone (attributes or keys ``combo``, ``exc_type``,
        ``message``, optionally ``batch_id``), as in ``status --json``.

    Returns
    -------
    str
        For instance ``"batch 3, a=1, b=2: ValueError: b must be positive"``.
    """
    batch = None
    if isinstance(failure, tuple | list) and len(failure) == 2:
        batch, failure = failure
    batch = _field(failure, "batch_id", "batch") if batch is None else batch
    combo = _field(failure, "combo", "params")
    exc_type = _field(failure, "exc_type", "error_type", "exception", "type")
    message = _field(failure, "message", "msg", "error")
    where = [] if batch is None else [f"batch {batch}"]
    if isinstance(combo, Mapping):
        where.append(", ".join(f"{k}={v!r}" for k, v in combo.items()))
    elif combo is not None:
        where.append(str(combo))
    what = ": ".join(str(p) for p in (exc_type, message) if p not in (None, ""))
    first_line = (what or "failed").splitlines()[0]
    if len(first_line) > 200:
        first_line = first_line[:199] + "\u2026"
    return f"{', '.join(where)}: {first_line}" if where else first_line


def _sown(status: Any) -> bool:
    sown = _get(status, "sown")
    return bool(sown) if sown is not None else bool(_int(status, "num_batches"))


def _unsown_text(status: Any) -> str:
    if _get(status, "reaped"):
        return "reaped and cleaned up (reap again to load the result)"
    return "not sown yet"


def _headline(status: Any) -> str:
    total = _int(status, "num_batches")
    text = f"{total} batch{'es' if total != 1 else ''}"
    combos = _int(status, "num_combos")
    if combos:
        text += f", {combos} combo{'s' if combos != 1 else ''}"
    if _get(status, "reaped"):
        text += ", reaped"
    return text


def _stale_text(status: Any) -> str:
    stale = _int(status, "stale_claims")
    return (
        f"{stale} stale claim{'s' if stale != 1 else ''} (grower dead or silent): "
        "counted as pending, the next grower takes over"
    )


def _html_row(state: str, count: int, total: int) -> str:
    share = 100 * count / total if total else 0
    bar = (
        '<div style="width:160px;height:10px;background:#eee;border:1px solid #ccc">'
        f'<div style="width:{share:.3f}%;height:100%;background:{_COLOURS[state]}">'
        "</div></div>"
    )
    cell = 'style="padding:1px 6px"'
    return (
        f"<tr><td {cell}>{state}</td><td {cell}>{bar}</td>"
        f'<td {cell} align="right">{count}</td>'
        f'<td {cell} align="right">{_percent(count, total)}</td></tr>'
    )


def _rate(status: Any, durations: Sequence[float]) -> float | None:
    """Done batches per second over the whole crop, or None if unmeasured."""
    grown = _int(status, "done") + _int(status, "failed")
    if not grown:
        return None
    first, last = _get(status, "first_start"), _get(status, "last_finish")
    if grown > 1 and first is not None and last is not None and last > first:
        return grown / (last - first)
    mean = _mean(durations)
    return 1 / mean if mean > 0 else None


def _rate_text(rate: float) -> str:
    if rate >= 1:
        return f"{rate:.3g} batches/s"
    if rate * 60 >= 1:
        return f"{rate * 60:.3g} batches/min"
    return f"{rate * 3600:.3g} batches/h"


def _duration(seconds: float) -> str:
    """A human duration: ``0.35 s``, ``12 s``, ``3 min 20 s``, ``2 h 05 min``."""
    if seconds < 10:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600:02d} h"


def _percent(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def _cells(count: int, total: int, width: int) -> int:
    """Bar cells for ``count``: never zero cells for a non-zero count."""
    if not total or not count:
        return 0
    return min(width, max(1, round(width * count / total)))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(obj: Any, name: str) -> int:
    return int(_get(obj, name) or 0)


def _field(obj: Any, *names: str) -> Any:
    for name in names:
        value = _get(obj, name)
        if value is not None:
            return value
    return None

"""Claims: which grower is working on which batch.

A claim is a hard link, in the claims directory, to the grower's *holder
card*: a small file written whole once per process and crop. Its first line
holds the holder's host, pid, process start, boot id, pid namespace,
scheduler ids, heartbeat interval and a unique token; its second line is a
heartbeat counter. Claiming a batch is one ``link`` (atomic and exclusive on
NFS v3+ and on every local file system; no ``flock``), so a claim is never
seen empty or half-written and a grower killed while claiming leaves no claim
that must wait for a timeout. While the holder works, a :class:`Heartbeat`
thread overwrites the counter in place (one write and flush per process and
interval, whatever the number of claims: they are one file).

A claim is *stale* when its holder is provably dead, or when its heartbeat
stopped. Provably dead means: the holder's boot id and pid namespace are ours
(so its pid means the same process here) and that process is gone; a host
name proves nothing. A stopped heartbeat is judged without comparing clocks:
an observer notes what it read of the claim (content, size, mtime) and when,
by its own monotonic clock, and the claim is stale once that has not changed
for the heartbeat timeout. Skewed clocks, a file server stamping its own
times and cached attributes change nothing. Breaking a stale claim is
race-free: the breaker first renames the claim to a unique name (only one
renamer can win), checks that what it renamed is what it judged stale (else
puts it back), and only then removes it and claims afresh.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import uuid
from typing import Any

from ..atomic import link_exclusive
from .cards import (  # noqa: F401  (re-exported: claims and heartbeats go together)
    BEAT_DIGITS,
    DEFAULT_HEARTBEAT_TIMEOUT,
    ENV_HEARTBEAT_TIMEOUT,
    MAX_BEAT_INTERVAL,
    Heartbeat,
    HolderCard,
    _cards,
    _own,
    beat_interval,
    card_for,
    heartbeat_for,
    heartbeat_timeout,
    now,
    surely_held,
)
from .provenance import pid_is_alive, same_pid_table

# ----------------------------------------------------------------- reading


def _parse(raw: bytes) -> dict[str, Any]:
    head, _, rest = raw.partition(b"\n")
    try:
        info = json.loads(head)
    except ValueError:
        return {}  # garbled (claims are never half-written): judged by its beats
    if not isinstance(info, dict):
        return {}
    with contextlib.suppress(ValueError):
        info["beat"] = int(rest[:BEAT_DIGITS], 16)
    return info


def _read_head(path: str | os.PathLike) -> tuple[bytes, os.stat_result] | None:
    """The first 64 KiB of the file ``path`` and its ``fstat``; None if gone.

    Opened afresh (which asks the server on NFS and sshfs); an ``ESTALE``
    (the name was replaced on an NFS server) is retried once.
    """
    for attempt in range(2):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ESTALE and attempt == 0:
                continue
            raise
        try:
            return os.read(fd, 1 << 16), os.fstat(fd)
        except OSError as e:
            if e.errno == errno.ESTALE and attempt == 0:
                continue
            raise
        finally:
            os.close(fd)
    return None  # pragma: no cover


def observe(path: str | os.PathLike) -> tuple[dict[str, Any], tuple] | None:
    """The holder recorded in a claim and what tells its heartbeat; None if gone.

    The second item changes at every heartbeat: the claim's content (its
    counter), read afresh. Size and modification time count only for a claim
    whose content cannot be parsed: a client's cached attributes may change
    when its cache expires, which is no heartbeat. A claim we may not read
    is ``{}``.
    """
    try:
        got = _read_head(path)
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM):
            raise
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return {}, (b"", st.st_size, st.st_mtime_ns)
    if got is None:
        return None
    raw, st = got
    info = _parse(raw)
    if info.get("token") and "beat" in info:
        return info, (raw,)
    return info, (raw, st.st_size, st.st_mtime_ns)


def read_claim(path: str | os.PathLike) -> dict[str, Any] | None:
    """The holder recorded in a claim file; ``{}`` if unreadable, None if gone."""
    seen = observe(path)
    return None if seen is None else seen[0]


def holder_is_dead(info: dict[str, Any]) -> bool:
    """Whether the holder ``info`` describes is provably dead.

    Only a process of this machine's boot and of our pid namespace can be
    looked up here; any other holder is judged by its heartbeat alone.
    """
    pid = info.get("pid")
    return (
        isinstance(pid, int)
        and same_pid_table(info)
        and not pid_is_alive(pid, info.get("pid_start"))
    )


# ----------------------------------------------------------------- claiming


def try_claim(path: str | os.PathLike, interval: float | None = None) -> str | None:
    """Claim ``path`` exclusively; its token on success, None if held.

    One ``link`` of this process's holder card to ``path``
    (:func:`xsweep.atomic.link_exclusive`): it fails if the claim exists, and
    writes nothing then.
    """
    path = os.fspath(path)
    card = card_for(path.rpartition("/")[0], interval)
    with _here_lock:  # threads of this process share the card: one claim each
        if path in _held_here:
            return None
        try:
            won = link_exclusive(card.ensure(), path, card.mark)
        except FileNotFoundError:
            if not os.path.isdir(card.directory):
                raise  # the claims directory is gone
            card.write()  # the card was removed meanwhile
            won = link_exclusive(card.path, path, card.mark)
        if won:
            card.last_claim = now()
            _held_here.add(path)
    return card.token if won else None


#: claims held by this process (any thread): a link failing on one of them
#: is not a lost NFS reply, though the claim's content is our card's
_held_here: set[str] = set()
_here_lock = threading.Lock()


#: what this process saw of other growers' claims: path -> (what, when by now())
_seen: dict[str, tuple[tuple, float]] = {}

#: states of a claim, as :func:`claim_state` tells them
GONE, OURS, DEAD, NEW, ALIVE, SILENT, STALE = (
    "gone", "ours", "dead", "new", "alive", "silent", "stale",
)  # fmt: skip


def _judge(path: str, seen: tuple[dict[str, Any], tuple], timeout: float) -> str:
    info, what = seen
    if _own.get(info.get("token")) == os.getpid():
        return OURS
    if holder_is_dead(info):
        return DEAD
    t = now()
    before = _seen.get(path)
    if before is None or before[0] != what:
        _seen[path] = (what, t)
        return NEW if before is None else ALIVE
    interval = info.get("beat_interval")
    floor = 2 * interval + 1 if isinstance(interval, int | float) else 0
    return STALE if t - before[1] > max(timeout, floor) else SILENT


def claim_state(path: str | os.PathLike, timeout: float) -> str:
    """What this process can tell of the claim at ``path``, now.

    ``"gone"`` (no claim), ``"ours"`` (held by this process), ``"dead"``
    (its holder is provably dead), ``"new"`` (first seen now), ``"alive"``
    (its heartbeat moved since we last looked), ``"silent"`` (unchanged, not
    for ``timeout`` yet) or ``"stale"`` (unchanged for ``timeout`` seconds of
    this machine's monotonic clock, and at least two of its holder's
    heartbeat intervals).
    """
    path = os.fspath(path)
    seen = observe(path)
    if seen is None:
        _seen.pop(path, None)
        return GONE
    return _judge(path, seen, timeout)


def is_stale(
    path: str | os.PathLike, timeout: float, info: dict[str, Any] | None = None
) -> bool:
    """Whether the claim at ``path`` may be broken (holder dead or silent).

    A claim first seen now is not stale: a silent holder is told only by
    watching its heartbeat (call again later). ``info`` is ignored (kept for
    callers of older versions).
    """
    del info
    return claim_state(path, timeout) in (DEAD, STALE)


def break_stale(path: str | os.PathLike, timeout: float) -> bool:
    """Remove the claim at ``path`` if it is stale; whether it was removed.

    Safe against several processes breaking the same claim at once, and against
    the claim being replaced, or beating, meanwhile.
    """
    path = os.fspath(path)
    seen = observe(path)
    if seen is None:
        _seen.pop(path, None)
        return False
    if _judge(path, seen, timeout) not in (DEAD, STALE):
        return False
    aside = f"{path}.broken-{uuid.uuid4().hex}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False  # somebody else broke (or released) it first
    taken = observe(aside)
    _seen.pop(path, None)
    if taken is not None and taken[1][0] != seen[1][0]:
        # we renamed a claim made (or a heartbeat written) after our judgement
        with contextlib.suppress(OSError):
            os.link(aside, path)
        with contextlib.suppress(OSError):
            os.unlink(aside)
        return False
    with contextlib.suppress(OSError):
        os.unlink(aside)
    return True


def still_held(path: str | os.PathLike, token: str) -> bool:
    """Whether the claim at ``path`` is still the one ``token`` made.

    One open and read; the token is looked for in the holder line as bytes
    (tokens are unique, and JSON writes them as they are).
    """
    got = _read_head(path)
    if got is None:
        return False
    return b'"token": "%s"' % token.encode() in got[0].partition(b"\n")[0]


def release(
    path: str | os.PathLike, token: str, held_for: float | None = None,
    timeout: float | None = None, *, claimed_at: float | None = None,
) -> None:  # fmt: skip
    """Remove our claim, if it is still ours.

    If we were paused past the heartbeat timeout, another grower may have
    broken the claim and claimed the batch afresh, and that claim is not ours
    to remove: the claim is read first, unless ``claimed_at`` (when it was
    made, by :func:`now`) proves with :func:`surely_held` that no observer
    can have judged it stale yet (our heartbeat never missed a beat since).
    (``held_for`` and ``timeout`` are ignored, kept for callers of older
    versions.)
    """
    del held_for, timeout
    path = os.fspath(path)
    try:
        if (claimed_at is not None and surely_held(path, claimed_at)) or still_held(
            path, token
        ):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    finally:
        with _here_lock:
            _held_here.discard(path)
        if _seen:
            _seen.pop(path, None)


def acquire(path: str | os.PathLike, timeout: float) -> str | None:
    """Claim ``path``, breaking it first if stale; the token, or None if held."""
    interval = beat_interval(timeout)
    token = try_claim(path, interval)
    if token is None and break_stale(path, timeout):
        token = try_claim(path, interval)
    return token

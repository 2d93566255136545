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

import atexit
import contextlib
import errno
import itertools
import json
import os
import threading
import time
import uuid
from typing import Any

from ..atomic import link_exclusive, open_in_place, overwrite_at, write_bytes
from .layout import holder_card_path
from .provenance import HOST, pid_is_alive, same_pid_table, this_process

#: default seconds without a heartbeat after which a claim counts as stale
DEFAULT_HEARTBEAT_TIMEOUT = 600.0
ENV_HEARTBEAT_TIMEOUT = "XSWEEP_HEARTBEAT_TIMEOUT"
#: the longest time between two heartbeats of a holder, seconds
MAX_BEAT_INTERVAL = 10.0
_BEAT_DIGITS = 16


def heartbeat_timeout(value: float | None = None) -> float:
    """The heartbeat timeout: ``value``, else the environment, else 600 s."""
    if value is not None:
        return float(value)
    env = os.environ.get(ENV_HEARTBEAT_TIMEOUT)
    return float(env) if env else DEFAULT_HEARTBEAT_TIMEOUT


def beat_interval(timeout: float) -> float:
    """Seconds between heartbeats for a heartbeat ``timeout``: a quarter of it,
    at most :data:`MAX_BEAT_INTERVAL`."""
    return max(0.05, min(float(timeout) / 4, MAX_BEAT_INTERVAL))


def now() -> float:
    """This machine's monotonic clock, counting time suspended (seconds)."""
    return time.clock_gettime(_CLOCK)


_CLOCK = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)

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
        info["beat"] = int(rest[:_BEAT_DIGITS], 16)
    return info


def observe(path: str | os.PathLike) -> tuple[dict[str, Any], tuple] | None:
    """The holder recorded in a claim and what tells its heartbeat; None if gone.

    The second item (content, size, modification time) changes at every
    heartbeat. An ``ESTALE`` (the name was replaced on an NFS server) is
    retried once; a claim we may not read is ``{}``, judged by its beats.
    """
    for attempt in range(2):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ESTALE and attempt == 0:
                continue
            if e.errno in (errno.EACCES, errno.EPERM):
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    return None
                return {}, (b"", st.st_size, st.st_mtime_ns)
            raise
        try:
            raw = os.read(fd, 1 << 16)
            st = os.fstat(fd)
        except OSError as e:
            if e.errno == errno.ESTALE and attempt == 0:
                continue
            raise
        finally:
            os.close(fd)
        return _parse(raw), (raw, st.st_size, st.st_mtime_ns)
    return None  # pragma: no cover


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


# ----------------------------------------------------------------- holder card

_tokens = itertools.count()
#: tokens of this process's holder cards -> the pid that made them
_own: dict[str, int] = {}


def _token() -> str:
    return f"{HOST}-{os.getpid()}-{next(_tokens)}-{os.urandom(4).hex()}"


class HolderCard:
    """This process's holder card in one claims directory.

    The card is written once (atomically), named by
    :func:`~xsweep.crop.layout.holder_card_path`; every claim is a hard link
    to it. :meth:`beat` overwrites its heartbeat counter in place.

    Parameters
    ----------
    directory : str
        The claims directory.
    interval : float
        Seconds between heartbeats, written in the card so that observers
        never judge it faster than that.
    """

    def __init__(self, directory: str, interval: float) -> None:
        self.directory = directory
        self.interval = interval
        self.token = _token()
        _own[self.token] = os.getpid()
        self.path = holder_card_path(directory)
        #: the card's first line: what tells that a file is this card
        self.mark: bytes | None = None
        #: :func:`now` when the last heartbeat (or the card) started to be written
        self.last_beat = -float("inf")
        #: :func:`now` of the last claim made with this card
        self.last_claim = -float("inf")
        #: since when heartbeats came on time (see :func:`surely_held`)
        self.steady_since = float("inf")
        self._fds: list[tuple[int, int]] = []  # (descriptor, counter offset)
        self._beats = 0
        self._lock = threading.Lock()

    def write(self) -> None:
        """Write the card (again, if it was removed from under us)."""
        info = this_process()
        info["token"] = self.token
        info["beat_interval"] = self.interval
        head = json.dumps(info).encode() + b"\n"
        with self._lock:
            started = now()
            counter = b"%0*x\n" % (_BEAT_DIGITS, self._beats)
            write_bytes(self.path, head + counter, fsync=False)
            # claims linked to an older card keep their inode: beat it too
            self._fds.append((open_in_place(self.path), len(head)))
            self.mark = head
            self.last_beat = started
            self.steady_since = min(self.steady_since, started)

    def ensure(self) -> str:
        """The card's path, written first if need be."""
        if self.mark is None:
            self.write()
        return self.path

    def beat(self) -> None:
        """Advance the heartbeat counter (every inode this card has had).

        A heartbeat that came late (a pause, a stalled file system) or took
        long restarts :attr:`steady_since`: claims made before it are no
        longer :func:`surely_held`.
        """
        with self._lock:
            started = now()
            self._beats += 1
            counter = b"%0*x" % (_BEAT_DIGITS, self._beats)
            try:
                for fd, offset in self._fds:
                    overwrite_at(fd, offset, counter)
            except OSError:
                self.steady_since = float("inf")
                raise
            ended = now()
            late = started - max(self.last_beat, self.last_claim) > 1.25 * self.interval
            if late or ended - started > 0.25 * self.interval:
                self.steady_since = ended
            self.last_beat = started

    def remove(self) -> None:
        """Remove the card (claims linked to it stay valid)."""
        with self._lock:
            for fd, _ in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds = []
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.mark = None


_cards: dict[tuple[str, int], HolderCard] = {}


def card_for(directory: str, interval: float | None = None) -> HolderCard:
    """This process's holder card for the claims directory ``directory``."""
    key = (directory, os.getpid())
    card = _cards.get(key)
    if card is None:
        if interval is None:
            interval = beat_interval(heartbeat_timeout())
        card = _cards[key] = HolderCard(directory, interval)
    return card


@atexit.register
def _remove_cards() -> None:
    for (_, pid), card in list(_cards.items()):
        if pid == os.getpid():
            card.remove()


# ----------------------------------------------------------------- claiming


def try_claim(path: str | os.PathLike, interval: float | None = None) -> str | None:
    """Claim ``path`` exclusively; its token on success, None if held.

    One ``link`` of this process's holder card to ``path``
    (:func:`xsweep.atomic.link_exclusive`): it fails if the claim exists, and
    writes nothing then.
    """
    path = os.fspath(path)
    card = card_for(os.path.dirname(path), interval)
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
    """Whether the claim at ``path`` is still the one ``token`` made."""
    seen = observe(path)
    return seen is not None and seen[0].get("token") == token


def release(
    path: str | os.PathLike, token: str, held_for: float | None = None,
    timeout: float | None = None,
) -> None:  # fmt: skip
    """Remove our claim, if it is still ours.

    The claim is read first, always: if we were paused past the heartbeat
    timeout, another grower may have broken it and claimed the batch afresh,
    and that claim is not ours to remove. (``held_for`` and ``timeout`` are
    ignored, kept for callers of older versions.)
    """
    del held_for, timeout
    path = os.fspath(path)
    try:
        if still_held(path, token):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    finally:
        with _here_lock:
            _held_here.discard(path)
        _seen.pop(path, None)


def acquire(path: str | os.PathLike, timeout: float) -> str | None:
    """Claim ``path``, breaking it first if stale; the token, or None if held."""
    interval = beat_interval(timeout)
    token = try_claim(path, interval)
    if token is None and break_stale(path, timeout):
        token = try_claim(path, interval)
    return token


def surely_held(path: str | os.PathLike, since: float) -> bool:
    """Whether our claim at ``path``, made at ``since`` (by :func:`now`),
    cannot have been judged stale by anyone yet (so need not be read).

    An observer breaks a claim only after seeing it unchanged for two of its
    heartbeat intervals plus a second, counted from when it first saw it
    (after it was made) or saw it change. If every heartbeat since the claim
    was made started within 1.25 intervals of the one before (or of the
    claim) and took less than a quarter of an interval, and the last one
    started less than 1.5 intervals ago, no observer can have. A pause of
    this process (SIGSTOP, a suspended machine) or a stalled file system
    breaks that chain, and the claim must be read.
    """
    card = _cards.get((os.path.dirname(os.fspath(path)), os.getpid()))
    if card is None or since < card.steady_since:
        return False
    return now() - max(since, card.last_beat) < 1.5 * card.interval


class Heartbeat:
    """A daemon thread advancing the heartbeat of every claim this process holds.

    One write per holder card and interval, however many claims link to it.

    Parameters
    ----------
    interval : float
        Seconds between heartbeats (see :func:`beat_interval`).
    """

    def __init__(self, interval: float) -> None:
        self.interval = max(0.05, float(interval))
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def hold(self, path: str, token: str) -> None:
        """Start beating for ``path``."""
        with self._lock:
            self._held[path] = token
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="xsweep-heartbeat", daemon=True
                )
                self._thread.start()

    def drop(self, path: str) -> None:
        """Stop beating for ``path``."""
        with self._lock:
            self._held.pop(path, None)

    def beat(self) -> None:
        """Beat every card with a claim held, now.

        A failed beat (the file system gone) is not raised here: the card's
        last beat stays old, so the grower reads its claims before writing.
        """
        with self._lock:
            dirs = {os.path.dirname(p) for p in self._held}
        for d in dirs:
            card = _cards.get((d, os.getpid()))
            if card is not None:
                with contextlib.suppress(OSError):
                    card.beat()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self.beat()


_heartbeats: dict[float, Heartbeat] = {}


def heartbeat_for(timeout: float) -> Heartbeat:
    """This process's heartbeat thread for claims with ``timeout``."""
    hb = _heartbeats.get(timeout)
    if hb is None:
        hb = _heartbeats[timeout] = Heartbeat(beat_interval(timeout))
    return hb

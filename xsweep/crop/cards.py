"""Holder cards and heartbeats: how a grower says it is still at work.

A grower writes one *holder card* per process and claims directory (see
:mod:`xsweep.crop.claims`: every claim is a hard link to it). Its first line
says who holds (host, pid, process start, boot id, pid namespace, scheduler
ids, heartbeat interval, a unique token); its second line is a heartbeat
counter, which a :class:`Heartbeat` thread overwrites in place every
interval while the process holds claims: one write and flush per card, however
many claims link to it.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import threading
import time

from ..atomic import open_in_place, overwrite_at, write_bytes
from .layout import holder_card_path
from .provenance import HOST, this_process

#: default seconds without a heartbeat after which a claim counts as stale
DEFAULT_HEARTBEAT_TIMEOUT = 600.0
ENV_HEARTBEAT_TIMEOUT = "XSWEEP_HEARTBEAT_TIMEOUT"
#: the longest time between two heartbeats of a holder, seconds
MAX_BEAT_INTERVAL = 10.0
#: hexadecimal digits of the heartbeat counter
BEAT_DIGITS = 16


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
            counter = b"%0*x\n" % (BEAT_DIGITS, self._beats)
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
            counter = b"%0*x" % (BEAT_DIGITS, self._beats)
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
    card = _cards.get((os.fspath(path).rpartition("/")[0], os.getpid()))
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


_working: dict[tuple[str, int], int] = {}
_working_lock = threading.Lock()


def at_work(claims_dir: str, step: int) -> None:
    """Count this process's grow loops on the crop whose claims are in
    ``claims_dir``; the last one to stop removes the process's holder card, so
    that ``xsweep status`` lists live growers only while they grow (a notebook
    that grew once is not one)."""
    key = (claims_dir, os.getpid())
    with _working_lock:
        n = _working[key] = _working.get(key, 0) + step
        if n <= 0:
            del _working[key]
            card_for(claims_dir).remove()

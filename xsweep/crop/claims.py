"""Claims: which grower is working on which batch.

A claim is a hard link, in the claims directory, to the grower's *holder
card*: a small file written whole once per process and crop, holding the
holder's host, pid, process start, scheduler ids and a unique token. Claiming
a batch is one ``link`` (atomic and exclusive on NFS v3+ and on every local
file system; no ``flock``), so a claim is never seen empty or half-written and
a grower killed while claiming leaves no claim that must wait for a timeout.
While the holder works, a :class:`Heartbeat` thread refreshes the claim's
modification time (which is the card's: they are one inode).

A claim is *stale* when its holder is provably dead (same host, pid gone or
reused) or when its heartbeat is older than the heartbeat timeout. Breaking a
stale claim is race-free: the breaker first renames the claim to a unique name
(only one renamer can win), checks that what it renamed is the claim it judged
stale (else puts it back), and only then removes it and tries to claim afresh.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..atomic import link_exclusive, write_bytes
from .layout import holder_card_path
from .provenance import HOST, pid_is_alive, this_process

#: default seconds without a heartbeat after which a claim counts as stale
DEFAULT_HEARTBEAT_TIMEOUT = 600.0
ENV_HEARTBEAT_TIMEOUT = "XSWEEP_HEARTBEAT_TIMEOUT"


def heartbeat_timeout(value: float | None = None) -> float:
    """The heartbeat timeout: ``value``, else the environment, else 600 s."""
    if value is not None:
        return float(value)
    env = os.environ.get(ENV_HEARTBEAT_TIMEOUT)
    return float(env) if env else DEFAULT_HEARTBEAT_TIMEOUT


def read_claim(path: str | os.PathLike) -> dict[str, Any] | None:
    """The holder recorded in a claim file; ``{}`` if unreadable yet, None if gone."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        info = json.loads(raw)
    except ValueError:
        return {}  # garbled (claims are never half-written): judged by its age
    return info if isinstance(info, dict) else {}


_tokens = itertools.count()


def _token() -> str:
    return f"{HOST}-{os.getpid()}-{next(_tokens)}-{os.urandom(4).hex()}"


class HolderCard:
    """This process's holder card in one claims directory.

    The card is written once (atomically), named by
    :func:`~xsweep.crop.layout.holder_card_path`; every claim is
    a hard link to it. It is refreshed before a claim is made if it has not
    been touched for a second, so a fresh claim never looks old.

    Parameters
    ----------
    directory : str
        The claims directory.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.token = _token()
        self.path = holder_card_path(directory)
        self.inode: int | None = None
        self._touched = -1e9

    def write(self) -> None:
        """Write the card (again, if it was removed from under us)."""
        info = this_process()
        info["token"] = self.token
        write_bytes(self.path, json.dumps(info).encode(), fsync=False)
        self.inode = os.stat(self.path).st_ino
        self._touched = time.monotonic()

    def fresh(self) -> str:
        """The card's path, written or refreshed if need be."""
        if self.inode is None:
            self.write()
        elif time.monotonic() - self._touched > 1.0:
            try:
                os.utime(self.path)
                self._touched = time.monotonic()
            except FileNotFoundError:  # removed (by a clean on another host?)
                self.write()
        return self.path

    def remove(self) -> None:
        """Remove the card (claims linked to it stay valid)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self.inode = None


_cards: dict[tuple[str, int], HolderCard] = {}


def card_for(directory: str) -> HolderCard:
    """This process's holder card for the claims directory ``directory``."""
    key = (directory, os.getpid())
    card = _cards.get(key)
    if card is None:
        card = _cards[key] = HolderCard(directory)
    return card


@atexit.register
def _remove_cards() -> None:
    for (_, pid), card in list(_cards.items()):
        if pid == os.getpid():
            card.remove()


def try_claim(path: str | os.PathLike) -> str | None:
    """Claim ``path`` exclusively; its token on success, None if held.

    One ``link`` of this process's holder card to ``path``
    (:func:`xsweep.atomic.link_exclusive`): it fails if the claim exists, and
    writes nothing then.
    """
    path = os.fspath(path)
    card = card_for(os.path.dirname(path))
    try:
        won = link_exclusive(card.fresh(), path, card.inode)
    except FileNotFoundError:
        if not os.path.isdir(card.directory):
            raise  # the claims directory is gone
        card.write()  # the card was removed meanwhile
        won = link_exclusive(card.path, path, card.inode)
    return card.token if won else None


def is_stale(
    path: str | os.PathLike, timeout: float, info: dict[str, Any] | None = None
) -> bool:
    """Whether the claim at ``path`` may be broken (holder dead or silent)."""
    info = read_claim(path) if info is None else info
    if info is None:
        return False  # released meanwhile: not stale, just gone
    if info.get("host") == HOST and isinstance(info.get("pid"), int):
        if not pid_is_alive(info["pid"], info.get("pid_start")):
            return True
        if info["pid"] == os.getpid():
            return False
    try:
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return False
    return age > timeout


def break_stale(path: str | os.PathLike, timeout: float) -> bool:
    """Remove the claim at ``path`` if it is stale; whether it was removed.

    Safe against several processes breaking the same claim at once, and against
    the claim being replaced by a fresh one meanwhile.
    """
    path = Path(path)
    info = read_claim(path)
    if info is None or not is_stale(path, timeout, info):
        return False
    aside = path.with_name(f"{path.name}.broken-{uuid.uuid4().hex}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False  # somebody else broke (or released) it first
    taken = read_claim(aside)
    replaced = bool(info) and (taken or {}).get("token") != info.get("token")
    if taken is not None and (replaced or not is_stale(aside, timeout, taken)):
        # we renamed a fresh claim made after our judgement: put it back
        with contextlib.suppress(OSError):
            os.link(aside, path)
        with contextlib.suppress(OSError):
            os.unlink(aside)
        return False
    with contextlib.suppress(OSError):
        os.unlink(aside)
    return True


def release(
    path: str | os.PathLike, token: str, held_for: float | None = None,
    timeout: float | None = None,
) -> None:  # fmt: skip
    """Remove our claim, if it is still ours.

    A claim held for less than the heartbeat ``timeout`` by this live process
    cannot have been judged stale by anyone, so it is removed straight away;
    an older one is read first, in case it was broken and claimed afresh.
    """
    if held_for is None or timeout is None or held_for >= timeout:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            ours = token.encode() in os.read(fd, 1 << 16)
        finally:
            os.close(fd)
        if not ours:
            return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def acquire(path: str | os.PathLike, timeout: float) -> str | None:
    """Claim ``path``, breaking it first if stale; the token, or None if held."""
    token = try_claim(path)
    if token is None and break_stale(path, timeout):
        token = try_claim(path)
    return token


class Heartbeat:
    """A daemon thread refreshing the mtime of every claim this process holds.

    Parameters
    ----------
    interval : float
        Seconds between refreshes (a fraction of the heartbeat timeout).
    """

    def __init__(self, interval: float) -> None:
        self.interval = max(0.05, float(interval))
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def hold(self, path: str, token: str) -> None:
        """Start refreshing ``path``."""
        with self._lock:
            self._held[path] = token
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="xsweep-heartbeat", daemon=True
                )
                self._thread.start()

    def drop(self, path: str) -> None:
        """Stop refreshing ``path``."""
        with self._lock:
            self._held.pop(path, None)

    def beat(self) -> None:
        """Refresh every held claim now."""
        with self._lock:
            paths = list(self._held)
        for p in paths:
            with contextlib.suppress(OSError):
                os.utime(p)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self.beat()


_heartbeats: dict[float, Heartbeat] = {}


def heartbeat_for(timeout: float) -> Heartbeat:
    """This process's heartbeat thread for claims with ``timeout``."""
    hb = _heartbeats.get(timeout)
    if hb is None:
        hb = _heartbeats[timeout] = Heartbeat(min(timeout / 4, 30.0))
    return hb

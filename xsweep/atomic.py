"""The one way xsweep writes a file: to a temporary name, flushed, then renamed.

A process killed at any instant leaves either the old file, the new file, or a
stray temporary (``.<name>.tmp-<host>-<pid>-<n>``) that no reader ever looks at.
``<host>`` is the host name and a tag of this machine's boot and pid namespace
(:data:`WRITER_HOST`), so that a pid in a temporary's name is looked up only
where it means the same process.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PathLike = str | os.PathLike

_counter = itertools.count()


def _read_first_line(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except OSError:
        return None


#: this boot of this machine (the kernel's random boot id), if known
BOOT_ID: str | None = _read_first_line("/proc/sys/kernel/random/boot_id")


def pid_namespace() -> str | None:
    """This process's pid namespace (``pid:[inode]``), if known."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _writer_host() -> str:
    host = socket.gethostname().split(".")[0]
    ns = pid_namespace()
    if BOOT_ID is None or ns is None:
        return host
    tag = hashlib.blake2b(f"{BOOT_ID} {ns}".encode(), digest_size=3).hexdigest()
    return f"{host}~{tag}"


#: the host part of temporary names: host name ``~`` a tag of boot id and pid
#: namespace (two processes with the same tag share one pid table)
WRITER_HOST = _writer_host()
_HOST = WRITER_HOST

#: Set ``XSWEEP_FSYNC=0`` to skip fsync (only safe against process kills, not
#: against power loss); on by default.
FSYNC = os.environ.get("XSWEEP_FSYNC", "1") != "0"

TMP_MARK = ".tmp-"


def temporary_path(path: PathLike) -> Path:
    """A unique temporary name beside ``path``, in the same directory."""
    path = Path(path)
    return path.with_name(
        f".{path.name}{TMP_MARK}{_HOST}-{os.getpid()}-{next(_counter)}"
    )


def _temporary_str(head: str, name: str) -> str:
    """:func:`temporary_path` as a plain string (pathlib is slow on hot paths)."""
    unique = f"{_HOST}-{os.getpid()}-{next(_counter)}"
    return os.path.join(head, f".{name}{TMP_MARK}{unique}")


def is_temporary(name: str) -> bool:
    """Whether a file name is one of :func:`temporary_path`'s."""
    return name.startswith(".") and TMP_MARK in name


@contextlib.contextmanager
def atomic_path(path: PathLike, *, fsync: bool | None = None) -> Iterator[Path]:
    """Yield a temporary path; on success rename it over ``path``.

    For writers that want a file name rather than a file object (netCDF, say).
    On any error the temporary is removed and ``path`` is untouched.
    """
    with _replacing(path, fsync, fsync_tmp=True) as tmp:
        yield tmp


@contextlib.contextmanager
def _replacing(path, fsync: bool | None, *, fsync_tmp: bool) -> Iterator[Path]:
    path = Path(path)
    sync = FSYNC if fsync is None else fsync
    tmp = temporary_path(path)
    try:
        yield tmp
        if sync and fsync_tmp:
            _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(
    path: PathLike, mode: str = "wb", *, fsync: bool | None = None
) -> Iterator[IO]:
    """Open a temporary file for writing; rename it over ``path`` on success."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes only ('w' modes), got mode={mode!r}")
    with _replacing(path, fsync, fsync_tmp=False) as tmp, open(tmp, mode) as f:
        yield f
        f.flush()
        if FSYNC if fsync is None else fsync:
            os.fsync(f.fileno())


def write_bytes(path: PathLike, data: bytes, *, fsync: bool | None = None) -> None:
    """Write ``data`` to ``path`` atomically.

    The same steps as :func:`atomic_open` (temporary beside ``path``, fsync,
    rename, fsync of the directory), done with plain ``os`` calls: this is the
    hot path of a crop grower (one result file per batch).
    """
    sync = FSYNC if fsync is None else fsync
    head, name = os.path.split(os.fspath(path))
    tmp = _temporary_str(head, name)
    try:
        _write_new(tmp, data, sync)
        os.replace(tmp, os.path.join(head, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        _fsync_dir(head or ".")


def write_linked(
    paths: list[PathLike], data: bytes, *, fsync: bool | None = None
) -> list[str]:
    """Write ``data`` once and give it every name in ``paths``; the names made.

    The data is written whole (and flushed) to one temporary beside the
    first path, then hard-linked to each path in turn, then the temporary is
    removed: each name appears whole or not at all, whenever the process is
    killed, and a name that already exists is left as it is. All paths must
    be in one directory. One file and a ``link`` per name cost far less than
    a file per name (a tenth of the time on tmpfs, a fiftieth on ext4).
    """
    sync = FSYNC if fsync is None else fsync
    head, name = os.path.split(os.fspath(paths[0]))
    tmp = _temporary_str(head, name)
    made = []
    mark = data[:64]
    try:
        _write_new(tmp, data, sync)
        for path in paths:
            if link_exclusive(tmp, path, mark):
                made.append(os.fspath(path))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if sync:
        _fsync_dir(head or ".")
    return made


def link_exclusive(source: PathLike, path: PathLike, mark: bytes | None = None) -> bool:
    """Give the complete file ``source`` the new name ``path`` unless it exists.

    Whether we created ``path``. One ``link``: atomic and exclusive on local
    file systems and on NFS v3+ (unlike ``flock``), and since ``source`` was
    written whole beforehand, ``path`` is never seen empty or half-written.

    A failed ``link`` is told apart by content, not by inode number (sshfs
    gives every name of a file its own): ``mark``, the first bytes of
    ``source``, says whether ``path`` is our file. So a reply lost on NFS (the
    retried ``link`` says EEXIST, though ours succeeded) counts as won, and
    sshfs's EPERM for an existing name counts as lost. A name reported as
    existing that cannot be seen (a client's cache out of date) counts as
    lost; an EPERM or EACCES with no such name after a few tries is a real
    permission error and is raised. ``ESTALE`` (a stale NFS handle) is
    retried.
    """
    for attempt in range(4):
        try:
            os.link(source, path)
            return True
        except FileNotFoundError:
            raise
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.EPERM, errno.EACCES, errno.ESTALE):
                raise
            held = _starts_with(path, mark)
            if held is not None:
                return held
            if e.errno == errno.EEXIST and attempt == 3:
                return False  # said to exist, not seen: a stale cache; held
            if attempt == 3:
                raise
            time.sleep(0.02 * (attempt + 1))
    return False  # pragma: no cover


def _starts_with(path: PathLike, mark: bytes | None) -> bool | None:
    """Whether the file ``path`` begins with ``mark``; None if there is no file."""
    try:
        with open(path, "rb", buffering=0) as f:
            head = f.read(len(mark)) if mark else b""
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            return None if not os.path.lexists(path) else False
        raise
    return bool(mark) and head == mark


def open_in_place(path: PathLike) -> int:
    """Open an existing file to overwrite bytes of it in place (a descriptor).

    For :func:`overwrite_at` only: the one kind of file xsweep changes in place
    is a holder card's heartbeat counter (a fixed-width field that readers
    compare, never parse for data).
    """
    return os.open(path, os.O_WRONLY)


def overwrite_at(fd: int, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` of the open file ``fd`` and flush it.

    Flushed always (``fsync``): on NFS a write stays in the client's cache
    until then, and other hosts must see it.
    """
    if os.pwrite(fd, data, offset) != len(data):
        raise OSError(errno.EIO, "short write of a heartbeat")
    os.fsync(fd)


def _write_new(tmp: str, data: bytes, sync: bool) -> int:
    """Write the temporary ``tmp`` holding ``data`` (flushed if ``sync``); its inode.

    Truncates: a stray temporary of a dead process whose pid was reused may
    have the same name.
    """
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            os.fsync(fd)
        return os.fstat(fd).st_ino
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: PathLike) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

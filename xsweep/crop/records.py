"""The on-disk format of every file in a crop directory.

A record file is::

    b"XSWEEPCROP\\n"  magic
    8 bytes          length of the body, little-endian
    16 bytes         blake2b digest of the body
    body             pickle of {"format", "kind", "version", "data"}

so that a truncated or garbled file is always detected (and named) before it
is unpickled, and a file written by a newer xsweep is refused with a message
instead of being misread. :data:`FORMAT_VERSION` is the one place the format
version lives. Every write goes through :mod:`xsweep.atomic`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import CropError, FileFormatError, FileSystemError, NotPicklableError

#: version of the crop file format; bump on any incompatible change
FORMAT_VERSION = 1
FORMAT_NAME = "xsweep-crop"

_MAGIC = b"XSWEEPCROP\n"
_HEADER = len(_MAGIC) + 8 + 16


def dumps(kind: str, data: Any, *, what: str = "record") -> bytes:
    """Serialise ``data`` as a record of ``kind`` (bytes of a whole file)."""
    payload = {
        "format": FORMAT_NAME,
        "kind": kind,
        "version": FORMAT_VERSION,
        "data": data,
    }
    try:
        body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        try:
            import cloudpickle

            body = cloudpickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            raise NotPicklableError(
                f"cannot save the {what} ({type(e).__name__}: {e}); every "
                "combo value, constant and result of a crop must be picklable"
            ) from e
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return _MAGIC + len(body).to_bytes(8, "little") + digest + body


def write(path: Path, kind: str, data: Any, *, what: str = "record") -> None:
    """Atomically write ``data`` as a record of ``kind`` to ``path``."""
    blob = dumps(kind, data, what=what)
    with _writing(path):
        atomic.write_bytes(path, blob)


def write_linked(
    paths: list[str], kind: str, data: Any, *, what: str = "record"
) -> list[str]:
    """Write one record under several names (hard links); the names made.

    See :func:`xsweep.atomic.write_linked`: each name appears whole or not
    at all, and a name that already exists is left as it is.
    """
    blob = dumps(kind, data, what=what)
    with _writing(paths[0]):
        return atomic.write_linked(paths, blob)


#: errno values that say the file system (or the network under it) failed
SYSTEM_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ENOTCONN", "ESTALE", "EIO", "ENOSPC", "EDQUOT", "EROFS", "ETIMEDOUT",
        "EHOSTDOWN", "EHOSTUNREACH", "ENETDOWN", "ENETUNREACH", "ECONNRESET",
        "ECONNABORTED", "EREMOTEIO", "ENOLCK", "ENODEV", "ENXIO",
    )
    if hasattr(errno, name)
)  # fmt: skip


def vanished(path: Path | str) -> FileSystemError:
    """The error for a crop directory gone from under a process."""
    return FileSystemError(
        f"cannot write {path}: its directory is gone. Either the crop was "
        "deleted while this process worked, or its file system was unmounted "
        "or lost (check that the crop directory is still there, from this "
        "host). Nothing was half-written."
    )


@contextlib.contextmanager
def _writing(path: Path | str) -> Iterator[None]:
    """Turn a failed write into an error saying what failed and what to do."""
    try:
        yield
    except FileNotFoundError as e:
        raise vanished(path) from e
    except OSError as e:
        if e.errno in SYSTEM_ERRNOS:
            raise FileSystemError(
                f"cannot write {path}: {e.strerror or e} (the file system failed: "
                "full, read-only, or a networked file system gone). Nothing was "
                "half-written; fix it and grow again."
            ) from e
        raise CropError(
            f"cannot write {path}: {e.strerror or e}. Nothing was half-written; "
            "fix permissions and grow again."
        ) from e


def loads(
    blob: bytes,
    path: Path | str,
    kind: str | tuple[str, ...] | None = None,
    *,
    tagged: bool = False,
) -> Any:
    """Parse the bytes of a record file, checking everything it claims.

    ``kind`` is the kind expected (or a tuple of kinds accepted); with
    ``tagged``, returns ``(kind, data)`` rather than the data alone.
    """
    what_to_do = (
        "It was probably cut short by a crash or corrupted on disk; delete it "
        "and grow (or sow) again."
    )
    if len(blob) < _HEADER or not blob.startswith(_MAGIC):
        raise FileFormatError(
            f"{path} is not an xsweep crop file (truncated or garbled). {what_to_do}"
        )
    n = int.from_bytes(blob[len(_MAGIC) : len(_MAGIC) + 8], "little")
    digest = blob[len(_MAGIC) + 8 : _HEADER]
    body = blob[_HEADER:]
    if len(body) != n:
        error = FileFormatError(
            f"{path} is truncated ({len(body)} of {n} bytes here). On a networked "
            "file system a client can read a file short for as long as it caches "
            "the file's old size (sshfs attr_timeout, NFS actimeo): read it again "
            "after that time. If it stays short, it was cut short on disk: delete "
            "it and grow (or sow) again."
        )
        error.short = True  # type: ignore[attr-defined]
        raise error
    if hashlib.blake2b(body, digest_size=16).digest() != digest:
        raise FileFormatError(f"{path} is garbled (checksum mismatch). {what_to_do}")
    try:
        payload = pickle.loads(body)
    except Exception as e:
        raise FileFormatError(
            f"{path} cannot be unpickled ({type(e).__name__}: {e}); it may need "
            "a module that is not importable here."
        ) from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise FileFormatError(f"{path} is not an xsweep crop file. {what_to_do}")
    version = payload.get("version")
    if version != FORMAT_VERSION:
        raise FileFormatError(
            f"{path} has crop format version {version}, this xsweep reads version "
            f"{FORMAT_VERSION}; use the xsweep version that wrote it (or re-sow)."
        )
    kinds = (kind,) if isinstance(kind, str) else kind
    if kinds is not None and payload.get("kind") not in kinds:
        raise FileFormatError(
            f"{path} holds a {payload.get('kind')!r} record where a "
            f"{' or '.join(map(repr, kinds))} record was expected; the crop "
            "directory is mixed up: delete the file."
        )
    return (payload["kind"], payload["data"]) if tagged else payload["data"]


def read(path: Path, kind: str | None = None) -> Any:
    """Read the record of ``kind`` at ``path``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    FileFormatError
        If the file is truncated, garbled or of an unknown version.
    """
    return read_tagged(path, kind)[1]


def read_tagged(
    path: Path | str, kinds: str | tuple[str, ...] | None
) -> tuple[str, Any, tuple[int, ...]]:
    """Read a record that may be of any of ``kinds``: its kind, data and identity.

    The identity (see :func:`identity`) tells whether another name is a link
    to the same file (see :func:`write_linked`).
    """
    with open(path, "rb", buffering=0) as f:
        blob = f.readall()
        ident = identity(os.fstat(f.fileno()))
    kind, data = loads(blob, path, kinds, tagged=True)
    return kind, data, ident


def identity(st: os.stat_result) -> tuple[int, ...]:
    """Device, inode, size and modification time: one file, not a reused inode."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def read_if_exists(path: Path, kind: str | None = None) -> Any | None:
    """Like :func:`read`, but None when the file does not exist."""
    try:
        return read(path, kind)
    except FileNotFoundError:
        return None


def remove(path: os.PathLike | str) -> bool:
    """Remove a file if it exists; whether it was there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True

"""Where everything in a crop directory lives: :class:`CropLayout`.

This is the only module that builds paths inside a crop directory. A crop
called ``name`` lives in ``<parent_dir>/.xyz-<name>/`` (the directory name
xyzpy uses, so existing habits keep working)::

    .xyz-<name>/
        sow.xsw                      what was sown: combos, batches, fingerprints
        function.<fnfp>.xsw          the function, cloudpickled (if saved)
        farmer.xsw                   the farmer (Runner, ...), read only by reap
        results/b<id>.<fp>.xsr       one batch's result
        results/b<id>.<fp>.f<n>.fail marker: that result has n failed combos
        results/compact.<token>.xsc  many batches' results merged into one file
        results/kept.<sow_id>.xsk    results kept by combo when sown again
        claims/b<id>.<fp>.claim      a grower is working on batch <id>
        claims/holder.tmp-<host>-<pid>-<n>  a grower's holder card (claims link to it)
        cluster/<job>-<time>.sh      job scripts written by grow_cluster
        logs/                        the scheduler's output files of job-array tasks
        reaped.nc / reaped.xsw       the reaped dataset (or raw results)
        earlier-<id>.reaped.nc       a reaped file set aside by sowing again

Result, marker and claim names carry the batch fingerprint ``<fp>``, so a
listing of the directory alone tells which results answer the batches now sown
(invariant 2) and how many combos failed, without opening a result file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..atomic import TMP_MARK, is_temporary, temporary_path

#: prefix of a crop directory's name, as in xyzpy
CROP_PREFIX = ".xyz-"

_RESULT_RE = re.compile(r"^b(\d+)\.([0-9a-f]+)\.xsr$")
_FAIL_RE = re.compile(r"^b(\d+)\.([0-9a-f]+)\.f(\d+)\.fail$")
_FUNCTION_RE = re.compile(r"^function\.([0-9a-z]+)\.xsw$")
_CLAIM_RE = re.compile(r"^b(\d+)\.([0-9a-f]+)\.claim$")
_COMPACT_RE = re.compile(r"^compact\.([0-9A-Za-z_-]+)\.xsc$")
_KEPT_RE = re.compile(r"^kept\.([0-9a-f]+)\.xsk$")
_CARD_PREFIX = f"holder{TMP_MARK}"
#: reaped files of an earlier sowing, set aside when the crop is sown again
EARLIER_PREFIX = "earlier-"


def holder_card_path(claims_dir: str) -> str:
    """A new, unique holder card path in ``claims_dir``.

    Named like a temporary (host, pid and a counter after ``.tmp-``), so that
    ``xsweep clean`` removes it only once its process is gone, but without the
    leading dot: it is a complete file, not one being written.
    """
    return os.path.join(claims_dir, temporary_path(claims_dir + "/holder").name[1:])


@dataclass(frozen=True)
class CropLayout:
    """Every path inside one crop directory.

    Parameters
    ----------
    location : path
        The crop directory, ``<parent_dir>/.xyz-<name>``.
    """

    location: Path

    def __post_init__(self) -> None:
        # plain strings for the paths built once per batch (pathlib is slow)
        object.__setattr__(self, "_results", os.path.join(self.location, "results"))
        object.__setattr__(self, "_claims", os.path.join(self.location, "claims"))

    @classmethod
    def for_name(cls, name: str, parent_dir: str | os.PathLike | None) -> CropLayout:
        """The layout of the crop called ``name`` in ``parent_dir`` (default cwd)."""
        if not name or "/" in name or name in {".", ".."}:
            raise ValueError(f"invalid crop name {name!r}: use a plain file name")
        parent = Path(parent_dir) if parent_dir is not None else Path.cwd()
        return cls(parent.absolute() / f"{CROP_PREFIX}{name}")

    @staticmethod
    def name_of(location: str | os.PathLike) -> str | None:
        """The crop name of a directory called ``.xyz-<name>``, else None."""
        base = Path(location).name
        return base[len(CROP_PREFIX) :] if base.startswith(CROP_PREFIX) else None

    # ----------------------------------------------------------- fixed files
    @property
    def sow_file(self) -> Path:
        return self.location / "sow.xsw"

    def function_file(self, fn_fingerprint: str) -> Path:
        return self.location / f"function.{fn_fingerprint}.xsw"

    def sizes_file(self, key: str) -> Path:
        """The sizes the crop's first written result gave to dimensions sized
        by the results (``key``: of the labels; first writer wins)."""
        return self.location / f"sizes.{key}.xsw"

    @property
    def farmer_file(self) -> Path:
        return self.location / "farmer.xsw"

    @property
    def results_dir(self) -> Path:
        return self.location / "results"

    @property
    def claims_dir(self) -> Path:
        return self.location / "claims"

    @property
    def logs_dir(self) -> Path:
        """The scheduler's output files of the crop's job arrays."""
        return self.location / "logs"

    def list_logs(self) -> list[Path]:
        """Every scheduler output file in :attr:`logs_dir`."""
        d = self.logs_dir
        return [d / n for n in sorted(_listdir(d)) if not is_temporary(n)]

    @property
    def reaped_dataset(self) -> Path:
        return self.location / "reaped.nc"

    @property
    def reaped_raw(self) -> Path:
        return self.location / "reaped.xsw"

    def earlier_reaped(self, reaped: Path, sow_id: str) -> Path:
        """Where sowing again moves ``reaped`` (a reaped file of ``sow_id``)."""
        return self.location / f"{EARLIER_PREFIX}{sow_id[:12]}.{reaped.name}"

    # --------------------------------------------------------- batch files
    def result_path(self, batch_id: int, fp: str) -> str:
        """:meth:`result_file` as a string (fast)."""
        return f"{self._results}/b{batch_id}.{fp}.xsr"

    def result_file(self, batch_id: int, fp: str) -> Path:
        return Path(self.result_path(batch_id, fp))

    def failure_marker(self, batch_id: int, fp: str, num_failed: int) -> Path:
        return self.results_dir / f"b{batch_id}.{fp}.f{num_failed}.fail"

    def compact_file(self, token: str) -> Path:
        return self.results_dir / f"compact.{token}.xsc"

    def kept_file(self, token: str) -> Path:
        """The results kept by combo when the crop was sown (token: sow id)."""
        return self.results_dir / f"kept.{token}.xsk"

    def list_kept(self) -> dict[str, Path]:
        """Kept files by token."""
        out = {}
        for name in _listdir(self._results):
            m = _KEPT_RE.match(name)
            if m:
                out[m.group(1)] = self.results_dir / name
        return out

    def claim_path(self, batch_id: int, fp: str) -> str:
        """:meth:`claim_file` as a string (fast)."""
        return f"{self._claims}/b{batch_id}.{fp}.claim"

    def claim_file(self, batch_id: int, fp: str) -> Path:
        return Path(self.claim_path(batch_id, fp))

    # ------------------------------------------------------------ listing
    def networked(self) -> bool:
        """Whether the crop is on a file system whose listings may be stale.

        NFS, sshfs, Lustre, GPFS and the like cache directory listings on
        each client (sshfs's ``dcache_timeout``, NFS's ``acdirmax``): a
        result written on another host may be missing from a listing here
        for that long, while looking it up by name finds it.
        """
        kind = file_system_type(self.location)
        return kind is not None and kind not in LOCAL_FILE_SYSTEMS

    def make_dirs(self) -> None:
        """Create the crop directory and its sub-directories."""
        for d in (self.location, self.results_dir, self.claims_dir):
            d.mkdir(parents=True, exist_ok=True)

    def list_results(self) -> tuple[dict, dict, list[Path]]:
        """Results, failure markers and compacted files, from one listing.

        Returns
        -------
        results : dict
            ``(batch_id, fp) -> path`` of every single-batch result file.
        failed : dict
            ``(batch_id, fp) -> (num_failed, path)`` of every failure marker.
        compacts : list of Path
            Every compacted result file.
        """
        results, failed, compacts = {}, {}, []
        base = self._results
        for name in _listdir(base):
            m = _RESULT_RE.match(name)
            if m:
                results[int(m.group(1)), m.group(2)] = f"{base}/{name}"
                continue
            m = _FAIL_RE.match(name)
            if m:
                key = (int(m.group(1)), m.group(2))
                n = int(m.group(3))
                if key not in failed or n < failed[key][0]:  # retries only lower n
                    failed[key] = (n, f"{base}/{name}")
            elif _COMPACT_RE.match(name):
                compacts.append(Path(base, name))
        return results, failed, sorted(compacts)

    def list_functions(self) -> dict[str, Path]:
        """Saved function files by function fingerprint."""
        out = {}
        for name in _listdir(self.location):
            m = _FUNCTION_RE.match(name)
            if m:
                out[m.group(1)] = self.location / name
        return out

    def list_compacts(self) -> list[Path]:
        """Every compacted result file."""
        return self.list_results()[2]

    def list_claims(self) -> dict[tuple[int, str], Path]:
        """Current claim files, by ``(batch_id, fingerprint)``."""
        out = {}
        for name in _listdir(self.claims_dir):
            m = _CLAIM_RE.match(name)
            if m:
                out[int(m.group(1)), m.group(2)] = self.claims_dir / name
        return out

    def list_holder_cards(self) -> list[str]:
        """Every holder card in the claims directory (one per grower at work)."""
        base = self._claims
        return [f"{base}/{n}" for n in _listdir(base) if n.startswith(_CARD_PREFIX)]

    def list_debris(self) -> list[Path]:
        """Temporaries and broken claims left behind by killed processes."""
        out = []
        for d in (self.location, self.results_dir, self.claims_dir):
            for name in _listdir(d):
                if (
                    is_temporary(name)
                    or ".broken-" in name
                    or name.startswith(_CARD_PREFIX)
                ):
                    out.append(d / name)
        return out


#: file systems whose directory listings are never stale (local ones)
LOCAL_FILE_SYSTEMS = frozenset(
    [
        "ext2",
        "ext3",
        "ext4",
        "xfs",
        "btrfs",
        "tmpfs",
        "ramfs",
        "zfs",
        "f2fs",
        "overlay",
        "jfs",
        "reiserfs",
        "bcachefs",
        "vfat",
        "exfat",
        "ntfs",
        "ntfs3",
        "hfsplus",
        "apfs",
    ]
)


def file_system_type(path: str | os.PathLike) -> str | None:
    """The type of the file system holding ``path`` (Linux), if known."""
    target = os.path.realpath(path)
    best, kind = "", None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                mount = left.split()[4].replace("\\040", " ")
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, kind = mount, right.split()[0]
    except (OSError, IndexError):
        return None
    return kind


def _listdir(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []

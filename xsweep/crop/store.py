"""Reading and writing batch results, failure markers and compacted results.

A result file ``results/b<id>.<fp>.xsr`` holds either one result record or a
*group* of them: a grower that computes several fast batches in a row writes
their records once, as one file hard-linked under each batch's result name
(see :meth:`ResultStore.write_group`). Either way the name of a batch's result
is what says it is done.

A result record (a dict) answers one batch:

``batch_id``, ``fingerprint``
    which batch, and the fingerprint of the combos it was computed for;
``blocks``
    engine :class:`~xsweep.engine.Block` objects over flat indices: the
    batch's runs, then one block per combo rerun by a retry (later blocks
    overwrite earlier ones at the same index);
``failures``
    the :class:`~xsweep.engine.Failure` records still standing;
``provenance``
    host, pid, scheduler ids, start and end time, function fingerprint (a list:
    the first growth, then each retry).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import FileFormatError
from . import records
from .layout import CropLayout

Key = tuple[int, str]

#: reads of a result that comes back shorter than its header says, before
#: it is called truncated (a networked client may serve a stale size briefly)
SHORT_READ_TRIES = 4


class ResultStore:
    """The results of one crop directory.

    Parameters
    ----------
    layout : CropLayout
        The crop directory.
    """

    def __init__(self, layout: CropLayout) -> None:
        self.layout = layout
        self._compacts: tuple[Path, ...] = ()
        self._compact_index: dict[Key, Path] = {}
        self._compact_data: dict[Path, dict] = {}
        # the records of the group file read last, with its identity
        self._group: dict[Key, dict] = {}
        self._group_ident: tuple[int, ...] | None = None

    # ------------------------------------------------------------ queries
    def _index_compacts(self, compacts: list[Path]) -> None:
        """Know which compacted file holds each compacted result."""
        if tuple(compacts) == self._compacts:
            return
        index: dict[Key, Path] = {}
        data: dict[Path, dict] = {}
        for path in compacts:
            with contextlib.suppress(FileNotFoundError):
                data[path] = records.read(path, "compact")["results"]
                index.update(dict.fromkeys(data[path], path))
        self._compacts, self._compact_index, self._compact_data = (
            tuple(compacts),
            index,
            data,
        )

    def exists(self, batch_id: int, fp: str) -> bool:
        """Whether batch ``batch_id`` has a result with fingerprint ``fp``."""
        if os.path.exists(self.layout.result_path(batch_id, fp)):
            return True
        return (batch_id, fp) in self._compact_index

    def snapshot(self) -> tuple[set[Key], dict[Key, int]]:
        """All results present (any fingerprint) and failed-combo counts."""
        singles, markers, compacts = self.layout.list_results()
        self._index_compacts(compacts)
        present = set(singles) | set(self._compact_index)
        failed = {k: n for k, (n, _) in markers.items() if k in present and n > 0}
        return present, failed

    def read(self, batch_id: int, fp: str) -> dict[str, Any]:
        """The result record of a batch (single file first, then compacted)."""
        path = self.layout.result_path(batch_id, fp)
        try:
            record = self._read_result(path, (batch_id, fp))
        except FileNotFoundError:
            if (batch_id, fp) not in self._compact_index:
                self.snapshot()  # compacted since we last looked?
            compact = self._compact_index.get((batch_id, fp))
            if compact is None:
                raise
            record = self._compact_data[compact][batch_id, fp]
        if record.get("batch_id") != batch_id or record.get("fingerprint") != fp:
            raise FileFormatError(
                f"{path} claims to answer batch {record.get('batch_id')} "
                f"({record.get('fingerprint')}), not batch {batch_id} ({fp}); "
                "delete it and grow that batch again."
            )
        return record

    def _read_result(self, path: str, key: Key) -> dict[str, Any]:
        """The record for ``key`` in the result file ``path`` (one or a group).

        A group file is read once for all its names: the next batches of the
        group come from memory, after a ``stat`` proving that their names
        still link to the same file.
        """
        if key in self._group and records.identity(os.stat(path)) == self._group_ident:
            return self._group[key]
        for attempt in range(SHORT_READ_TRIES):
            try:
                kind, data, ident = records.read_tagged(path, ("result", "group"))
                break
            except FileFormatError as e:
                if getattr(e, "short", False) and attempt + 1 < SHORT_READ_TRIES:
                    time.sleep(0.1 * 2**attempt)  # a stale cached size? read again
                    continue
                raise _shared_hint(e, path) from e.__cause__
        if kind == "result":
            return data
        self._group, self._group_ident = data["results"], ident
        try:
            return self._group[key]
        except KeyError:
            raise FileFormatError(
                f"{path} is a group of results that does not hold batch {key[0]} "
                f"({key[1]}); delete it and grow that batch again."
            ) from None

    # ------------------------------------------------------------- writes
    def write(self, record: dict[str, Any], previous_failed: int | None = None) -> None:
        """Write a result record, with its failure marker when combos failed.

        The marker is written first, so a result never lacks its marker; a
        marker without a result is ignored. ``previous_failed`` names the
        marker of the record this one replaces (after a retry), removed last.
        """
        bid, fp = record["batch_id"], record["fingerprint"]
        nfail = self._mark_failures(record)
        what = f"result of batch {bid}"
        records.write(self.layout.result_path(bid, fp), "result", record, what=what)
        if previous_failed and previous_failed != nfail:
            records.remove(self.layout.failure_marker(bid, fp, previous_failed))

    def write_group(self, group: list[dict[str, Any]]) -> list[int]:
        """Write new results, first writer wins; the batches written.

        The records are written once, as one file (a group, or a single
        result), hard-linked under each batch's result name (markers of failed
        combos first, as in :meth:`write`). A name that already exists is
        never replaced: that batch keeps the result written first (its claim
        had been broken and another grower finished it), and ours is dropped.
        """
        for record in group:
            self._mark_failures(record)
        keyed = {(r["batch_id"], r["fingerprint"]): r for r in group}
        paths = {self.layout.result_path(*key): key for key in keyed}
        first, last = group[0]["batch_id"], group[-1]["batch_id"]
        if len(group) == 1:
            kind, data, what = "result", group[0], f"result of batch {first}"
        else:
            kind, data = "group", {"results": keyed}
            what = f"results of batches {first}..{last}"
        made = set(records.write_linked(list(paths), kind, data, what=what))
        for path, key in paths.items():
            if path not in made:
                self._unmark_lost(keyed[key])
        return [paths[p][0] for p in paths if p in made]

    def _unmark_lost(self, record: dict[str, Any]) -> None:
        """Remove the failure marker of a result that lost to another's."""
        nfail = len(record["failures"])
        if not nfail:
            return
        bid, fp = record["batch_id"], record["fingerprint"]
        with contextlib.suppress(Exception):
            if len(self.read(bid, fp)["failures"]) != nfail:
                records.remove(self.layout.failure_marker(bid, fp, nfail))

    def _mark_failures(self, record: dict[str, Any]) -> int:
        nfail = len(record["failures"])
        if nfail:
            bid, fp = record["batch_id"], record["fingerprint"]
            records.write(self.layout.failure_marker(bid, fp, nfail), "marker", nfail)
        return nfail

    def remove_stale(self, keep: set[Key], kept: str | None = None) -> int:
        """Remove results and markers of batches not in ``keep``, and kept
        files but that of token ``kept``; how many results."""
        singles, markers, compacts = self.layout.list_results()
        n = 0
        for token, path in self.layout.list_kept().items():
            if token != kept:
                records.remove(path)
        for key, path in singles.items():
            if key not in keep:
                n += records.remove(path)
        for key, (_, path) in markers.items():
            if key not in keep:
                records.remove(path)
        for path in compacts:
            with contextlib.suppress(FileNotFoundError, FileFormatError):
                data = records.read(path, "compact")["results"]
                if not any(k in keep for k in data):
                    n += len(data)
                    records.remove(path)
        return n

    def compact(self, keep: set[Key]) -> int:
        """Merge every current result into one file, atomically; how many.

        Single result files (and older compacted files) are removed only after
        the merged file is safely written, and only if they did not change
        meanwhile (a retry writing a newer result keeps its file).
        """
        singles, _, old_compacts = self.layout.list_results()
        merged: dict[Key, dict] = {}
        seen: list[tuple[str, tuple[int, int]]] = []
        for path in old_compacts:
            with contextlib.suppress(FileNotFoundError):
                for key, rec in records.read(path, "compact")["results"].items():
                    if key in keep:
                        merged[key] = rec
        for key, path in singles.items():
            if key not in keep:
                continue
            try:
                st = os.stat(path)
                merged[key] = self._read_result(path, key)
            except FileNotFoundError:
                continue
            seen.append((path, (st.st_ino, st.st_mtime_ns)))
        if not merged:
            return 0
        target = self.layout.compact_file(uuid.uuid4().hex[:12])
        records.write(target, "compact", {"results": merged}, what="results")
        for path, ident in seen:
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(path)
                if (st.st_ino, st.st_mtime_ns) == ident:
                    os.unlink(path)
        for path in old_compacts:
            records.remove(path)
        return len(merged)


def _shared_hint(error: FileFormatError, path: str) -> FileFormatError:
    """``error``, saying how to delete a broken file that has several names."""
    try:
        names = os.stat(path).st_nlink
    except OSError:
        return error
    if names < 2:
        return error
    advice = (
        f"it is one file under {names} names (the results of {names} batches, "
        "written together as hard links): delete them all, e.g. `find "
        f"{os.path.dirname(path)} -samefile {path} -delete`, then grow again."
    )
    message = str(error)
    usual = "delete it and grow (or sow) again."
    if usual in message:
        return FileFormatError(message.replace(usual, advice))
    return FileFormatError(f"{message} Note: {advice}")

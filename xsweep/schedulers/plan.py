"""Which task grows which batch: :class:`TaskPlan`.

Three shapes, chosen by :func:`make_plan`:

``direct``
    One batch per array task and the array index *is* the batch id
    (``--array=3,7,9`` on SLURM, ``-t 4-9`` on Grid Engine).
``mapped``
    The script lists the batch ids; array task ``base + k`` grows the k-th, and
    when the array would be larger than the scheduler allows, every
    ``num_tasks``-th after it (``ids[k::num_tasks]``).
``pull``
    Every task claims and grows missing batches until none is left, so 50 tasks
    drain 10,000 batches; a task killed mid-batch leaves its claim to be freed.

In ``single`` mode (one job, no array) the job grows the listed batches, or
pulls when none are listed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..errors import NothingToSubmitError, SchedulerError


@dataclass(frozen=True)
class TaskPlan:
    """How the tasks of one submission map to batches.

    Attributes
    ----------
    mode : {'array', 'single'}
    shape : {'direct', 'mapped', 'pull', 'listed'}
        ``listed`` is a single job growing ``batch_ids``.
    batch_ids : tuple of int
        The batches to grow (empty in pull mode: whatever is missing).
    num_tasks : int
        Array tasks (1 for a single job).
    indices : tuple of int
        The array indices to submit (empty for a single job).
    """

    mode: str
    shape: str
    batch_ids: tuple[int, ...]
    num_tasks: int
    indices: tuple[int, ...]

    @property
    def description(self) -> str:
        """One line saying what the job does, for the script's comment."""
        n = len(self.batch_ids)
        if self.shape == "pull":
            who = "each task claims" if self.mode == "array" else "the job claims"
            return (
                f"{self.num_tasks} task(s); {who} and grows missing batches "
                f"until none is left"
            )
        if self.shape == "direct":
            return f"{n} batch(es), one per array task (array index = batch id)"
        if self.shape == "mapped":
            per = "one batch" if self.num_tasks == n else "every n-th batch"
            return f"{n} batch(es) over {self.num_tasks} array task(s), {per} each"
        return f"{n} batch(es) in one job"


def make_plan(
    batch_ids: Sequence[int] | None,
    missing: Sequence[int],
    *,
    mode: str = "array",
    pull: bool | None = None,
    num_tasks: int | None = None,
    index_base: int,
    direct_ok: Callable[[Sequence[int]], bool],
    max_index: int | None,
) -> TaskPlan:
    """Choose the task-to-batch mapping of one submission.

    Parameters
    ----------
    batch_ids : sequence of int or None
        Batches asked for; None means all missing ones.
    missing : sequence of int
        Batches the crop still needs (only these are ever submitted).
    mode : {'array', 'single'}
    pull : bool, optional
        Force (True) or forbid (False) pull mode; by default pull mode is used
        when ``num_tasks`` is given or the array would be too large.
    num_tasks : int, optional
        Array size in pull or mapped mode.
    index_base : int
        First array index of the scheduler (0 or 1).
    direct_ok : callable
        Whether the scheduler accepts these batch ids themselves as indices.
    max_index : int or None
        Largest array index the scheduler allows (None: no limit known).

    Raises
    ------
    SchedulerError
        On a bad mode, task count or batch id, or nothing to grow.
    """
    if mode not in ("array", "single"):
        raise SchedulerError(f"mode must be 'array' or 'single', not {mode!r}")
    if num_tasks is not None and (
        isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1
    ):
        raise SchedulerError(
            f"num_tasks must be a whole number >= 1, not {num_tasks!r}"
        )
    missing_set = set(missing)
    if batch_ids is None:
        wanted = sorted(missing_set)
    else:
        wanted = sorted({_batch_id(b) for b in batch_ids} & missing_set)
    if not wanted:
        raise NothingToSubmitError(
            "nothing to submit: every requested batch is already grown (or being "
            "grown); see crop.status(), or `xsweep retry` for failed combos"
        )
    limit = None if max_index is None else max_index - index_base + 1
    if mode == "single":
        if pull or (pull is None and batch_ids is None):
            return TaskPlan("single", "pull", (), 1, ())
        return TaskPlan("single", "listed", tuple(wanted), 1, ())
    too_big = limit is not None and len(wanted) > limit
    if pull is None:
        pull = num_tasks is not None or (too_big and batch_ids is None)
    if pull:
        n = min(num_tasks or len(wanted), len(wanted))
        if limit is not None:
            n = min(n, limit)
        return TaskPlan("array", "pull", (), n, _span(index_base, n))
    if (
        num_tasks is None
        and direct_ok(wanted)
        and wanted[0] >= index_base
        and (max_index is None or wanted[-1] <= max_index)
    ):
        return TaskPlan("array", "direct", tuple(wanted), len(wanted), tuple(wanted))
    n = min(num_tasks or len(wanted), len(wanted))
    if limit is not None:
        n = min(n, limit)
    return TaskPlan("array", "mapped", tuple(wanted), n, _span(index_base, n))


def _span(start: int, n: int) -> tuple[int, ...]:
    return tuple(range(start, start + n))


def _batch_id(b: object) -> int:
    try:
        out = int(b)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        out = None
    if out is None or out != b or isinstance(b, bool) or out < 1:
        raise SchedulerError(
            f"invalid batch id {b!r}: batch ids are whole numbers >= 1"
        )
    return out


def compress_ranges(indices: Iterable[int]) -> list[str]:
    """``[1, 2, 3, 7, 9, 10]`` -> ``['1-3', '7', '9-10']`` (sorted, unique)."""
    values = sorted(set(indices))
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return out


def as_range(indices: Sequence[int]) -> tuple[int, int, int] | None:
    """``(first, last, step)`` if the sorted indices form one arithmetic range."""
    if not indices:
        return None
    if len(indices) == 1:
        return indices[0], indices[0], 1
    step = indices[1] - indices[0]
    if step < 1:
        return None
    for a, b in itertools.pairwise(indices):
        if b - a != step:
            return None
    return indices[0], indices[-1], step

"""How to cut a range of combos into chunks.

In this process, chunks only bound memory (one chunk of Python results at a
time) and set how often the progress bar moves: they grow until one takes
about :data:`SEQUENTIAL_CHUNK_SECONDS`. For workers, each chunk is one task;
sizes are *guided*: each chunk is a share of what remains, so early tasks are
big (little per-task overhead) and late ones small (workers finish together),
and no task is shorter than :data:`MIN_TASK_SECONDS` of estimated work.
"""

from __future__ import annotations

import math

#: Target duration of one in-process chunk (progress granularity).
SEQUENTIAL_CHUNK_SECONDS = 0.2
#: Most combos held as Python objects at once by the in-process loop.
MAX_SEQUENTIAL_CHUNK = 1 << 14
#: Least estimated work per task sent to a worker.
MIN_TASK_SECONDS = 0.02
#: Tasks per worker in the first round of guided chunks (1 / share).
GUIDED_SHARE = 2


def next_sequential_size(done: int, seconds_per_combo: float, remaining: int) -> int:
    """The size of the next in-process chunk.

    Starts at one combo (so the first result is checked at once) and grows
    geometrically up to :data:`SEQUENTIAL_CHUNK_SECONDS` of work or
    :data:`MAX_SEQUENTIAL_CHUNK` combos.
    """
    if done == 0:
        return min(1, remaining)
    target = MAX_SEQUENTIAL_CHUNK
    if seconds_per_combo > 0:
        target = int(SEQUENTIAL_CHUNK_SECONDS / seconds_per_combo)
    size = max(1, min(target, 4 * done, MAX_SEQUENTIAL_CHUNK))
    return min(size, remaining)


def guided_chunks(
    start: int,
    stop: int,
    num_workers: int,
    seconds_per_combo: float,
    chunksize: int | None = None,
) -> list[tuple[int, int]]:
    """Cut ``start..stop`` into ``(start, stop)`` task ranges.

    Parameters
    ----------
    start, stop : int
        The flat index range still to run.
    num_workers : int
        How many workers will take tasks.
    seconds_per_combo : float
        Estimated cost of one combo (from running a few in this process).
    chunksize : int, optional
        A fixed size for every task, overriding the guided sizes.
    """
    if chunksize:
        step = max(1, int(chunksize))
        return [(i, min(i + step, stop)) for i in range(start, stop, step)]
    least = 1
    if seconds_per_combo > 0:
        least = max(1, math.ceil(MIN_TASK_SECONDS / seconds_per_combo))
    chunks = []
    i = start
    while i < stop:
        share = math.ceil((stop - i) / (GUIDED_SHARE * max(1, num_workers)))
        size = max(least, share)
        chunks.append((i, min(i + size, stop)))
        i += size
    return chunks

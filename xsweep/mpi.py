"""Grow a crop with every rank of an MPI launch (``mpiexec``, ``srun``).

Rank and size come from the launcher's environment variables, so neither
``mpi4py`` nor an MPI library is needed: Open MPI sets
``OMPI_COMM_WORLD_RANK`` / ``OMPI_COMM_WORLD_SIZE``; MPICH, Intel MPI and
``srun --mpi=pmi2`` set ``PMI_RANK`` / ``PMI_SIZE``; PMIx launchers set
``PMIX_RANK`` (with the size from one of the others).

Design (crash-safe, no gathering): every rank is an ordinary grower. Given
batch ids, rank ``r`` of ``n`` grows ``ids[r::n]``; in pull mode every rank
claims batches on its own. Each batch result is its own atomic file written
by the rank that claimed it, so no rank waits for another, nothing has to be
gathered to rank 0, and a rank killed mid-batch costs only its claimed batch,
which any later grower takes over (its pid is gone). Output that is not a
batch result (messages, summaries) comes from rank 0 only
(:func:`is_root`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: (rank variable, size variable) pairs, first match wins
RANK_VARS: tuple[tuple[str, str], ...] = (
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
    ("PMIX_RANK", "PMI_SIZE"),
)
#: variables that may hold the world size when the rank came from PMIx
SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "OMPI_UNIVERSE_SIZE")


@dataclass(frozen=True)
class World:
    """This process's place in an MPI launch.

    Attributes
    ----------
    rank : int
        0 .. size - 1 (0 when not launched by MPI).
    size : int
        Number of ranks (1 when not launched by MPI).
    source : str or None
        The variable the rank was read from.
    """

    rank: int = 0
    size: int = 1
    source: str | None = None

    @property
    def is_root(self) -> bool:
        """Whether this is rank 0 (the one that prints)."""
        return self.rank == 0


def detect(environ: Mapping[str, str] | None = None) -> World:
    """Read rank and size from the MPI launcher's environment variables.

    Parameters
    ----------
    environ : mapping, optional
        Defaults to ``os.environ``.

    Returns
    -------
    World
        ``World(0, 1)`` outside an MPI launch.

    Raises
    ------
    ValueError
        When the variables are set but inconsistent (rank >= size, say).
    """
    env = os.environ if environ is None else environ
    for rank_var, size_var in RANK_VARS:
        if rank_var not in env:
            continue
        rank = _int(env, rank_var)
        size_text = env.get(size_var)
        if size_text is None:
            size_text = next((env[v] for v in SIZE_VARS if v in env), None)
        if size_text is None:
            raise ValueError(
                f"{rank_var}={env[rank_var]} is set but no world size variable "
                f"({', '.join(SIZE_VARS)}): cannot share batches between ranks"
            )
        size = _int({"size": size_text}, "size")
        if not 0 <= rank < size:
            raise ValueError(f"MPI rank {rank} out of range for world size {size}")
        return World(rank, size, rank_var)
    return World()


def share(items: Sequence[T], world: World | None = None) -> list[T]:
    """This rank's share of ``items``: every ``size``-th, from ``rank``."""
    world = detect() if world is None else world
    return list(items[world.rank :: world.size])


def is_root(world: World | None = None) -> bool:
    """Whether this process is rank 0 (always True outside MPI)."""
    return (detect() if world is None else world).is_root


def _int(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ValueError(f"{name}={env[name]!r} is not a whole number") from None

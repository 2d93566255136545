"""Cases and combos given together (xyzpy's ``cases=`` with ``combos=``).

The function runs at each case for every combination of the combos; the
result is an explicit list of cases, so everything that takes cases (runners,
crops, harvesters) takes the mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .combos import Cases, case_rows, parse_combos
from .errors import InvalidCombosError

__all__ = ["mix_cases_and_combos"]


def mix_cases_and_combos(
    cases: Any, combos: Any, fn_args: str | Sequence[str] | None = None
) -> Cases:
    """Every case combined with every combination of ``combos``, as Cases.

    xyzpy's ``cases=`` and ``combos=`` given together: the function runs at
    each case for every combination of the combos. The names are the cases'
    then the combos'; a name may not be in both.
    """
    names, rows = case_rows(fn_args, cases)
    grid = parse_combos(combos)
    both = sorted(set(names) & set(grid.names))
    if both:
        raise InvalidCombosError(
            f"{both} given both in cases and in combos; each argument must come "
            "from exactly one of them."
        )
    if not grid.names:
        return Cases(names, rows)
    product = list(grid.iter_range(0, grid.size))
    return Cases(
        (*names, *grid.names), [(*row, *combo) for row in rows for combo in product]
    )

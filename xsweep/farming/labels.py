"""The label parsers under their earlier name (``xsweep.farming.labels``).

They live in :mod:`xsweep.labels` (layer 1, so the crop layer can use them);
this module keeps the import path that code written against earlier xsweep
(and xyzpy's ``xyzpy.gen.prepare`` names) uses.
"""

from ..labels import (
    check_var_dims,
    parse_var_coords,
    parse_var_dims,
    parse_var_names,
)

__all__ = ["check_var_dims", "parse_var_coords", "parse_var_dims", "parse_var_names"]

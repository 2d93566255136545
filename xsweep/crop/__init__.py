"""Crops: sweeps persisted in a shared directory (sow, grow, reap).

Modules: :mod:`.layout` (every path), :mod:`.records` (the file format),
:mod:`.fingerprint`, :mod:`.claims`, :mod:`.provenance`, :mod:`.sow`,
:mod:`.store` (results), :mod:`.grow`, :mod:`.workers`, :mod:`.reap`,
:mod:`.status`, :mod:`.queries`, :mod:`.cluster`, :mod:`.entry`, :mod:`.sigterm` and
:mod:`.crop` (the :class:`Crop` itself).
"""

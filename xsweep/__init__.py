"""xsweep: parameter sweeps into labelled xarray datasets.

Everything public is importable from here. Imports are lazy, so that
``import xsweep`` stays cheap: a ``grow`` process in a job array never pays for
xarray, pandas or plotting unless it builds a dataset.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "XsweepError": "xsweep.errors",
    "XYZError": "xsweep.errors",
    # combos
    "Grid": "xsweep.combos",
    # running functions over combos
    "combo_runner": "xsweep.farming.runner",
    "combo_runner_to_ds": "xsweep.farming.runner",
    "case_runner": "xsweep.farming.runner",
    "case_runner_to_ds": "xsweep.farming.runner",
    "combo_runner_to_df": "xsweep.farming.runner",
    "case_runner_to_df": "xsweep.farming.runner",
    "results_to_ds": "xsweep.farming.runner",
    "find_missing_cases": "xsweep.farming.missing",
    "is_case_missing": "xsweep.farming.missing",
    "parse_into_cases": "xsweep.farming.missing",
    # farming objects
    "Runner": "xsweep.farming.runner",
    "label": "xsweep.farming.runner",
    "Harvester": "xsweep.farming.harvester",
    "Sampler": "xsweep.farming.sampler",
    # persisted sweeps
    "Crop": "xsweep.crop.crop",
    "grow": "xsweep.crop.entry",
    "load_crops": "xsweep.crop.entry",
    "parse_crop_details": "xsweep.crop.xyzpy_methods",
    # engines (Ray is imported only when one is made)
    "RayExecutor": "xsweep.engine.ray_executor",
    "RayGPUExecutor": "xsweep.engine.ray_executor",
    # looking at results
    "plot": "xsweep.plot",
    "provenance": "xsweep.manage",
    # saving and loading by hand (xyzpy's names)
    "save_ds": "xsweep.manage",
    "load_ds": "xsweep.manage",
    "save_merge_ds": "xsweep.manage",
    "load_merge_ds": "xsweep.manage",
    "save_df": "xsweep.manage",
    "load_df": "xsweep.manage",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'xsweep' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

"""Sphinx configuration for xsweep's documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html``. Nothing heavy
runs during the build: notebooks are shown as stored (the test suite executes
them separately, in a real kernel).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import xsweep  # noqa: E402

project = "xsweep"
author = "the xsweep developers"
copyright = "2026, the xsweep developers"
release = xsweep.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_nb",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}
root_doc = "index"

# Docstrings are numpydoc style.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
# Names in signatures that autodoc cannot resolve to a documented object are
# shown as plain text rather than warning.
nitpicky = False

# Notebooks: shown with whatever outputs they were stored with; never executed
# during the build (tests/docs/test_notebooks.py runs them in a real kernel).
nb_execution_mode = "off"
nb_merge_streams = True

html_theme = "alabaster"
html_title = f"xsweep {release}"
html_theme_options = {
    "description": "Parameter sweeps into labelled xarray datasets",
    "fixed_sidebar": True,
}
pygments_style = "sphinx"

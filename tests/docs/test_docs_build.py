"""The Sphinx documentation builds with no warning at all (``-W``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PAGES = [
    "getting-started",
    "tutorials/notebook",
    "tutorials/local-workers",
    "tutorials/batch-scripts",
    "tutorials/job-arrays",
    "tutorials/dask",
    "crop-directory",
    "failures",
    "provenance",
    "cli",
    "from-xyzpy",
    "benchmarks",
    "api",
    "architecture",
]


def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q"]
    command += ["-b", "html", "-d", str(tmp_path / "doctrees")]
    result = subprocess.run(
        [*command, str(ROOT / "docs"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    for page in PAGES:
        assert (out / f"{page}.html").is_file(), page
    index = (out / "index.html").read_text()
    assert all(f'href="{page}.html"' in index for page in PAGES)
    api = (out / "api.html").read_text()
    assert "A compact multi-line picture of a crop" in api
    assert "Plot one variable of a swept dataset" in api


def test_readme_is_valid_rst_and_links_existing_pages():
    import re

    import docutils.core
    import docutils.writers.null

    text = (ROOT / "README.rst").read_text()
    docutils.core.publish_string(
        text,
        writer=docutils.writers.null.Writer(),
        settings_overrides={"halt_level": 2},
    )
    links = re.findall(r"<(docs/[^>]+)>`_", text)
    assert len(links) >= 10
    assert [link for link in links if not (ROOT / link).exists()] == []
    assert "./scripts/demo" in text and "./scripts/test" in text

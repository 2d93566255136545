"""The Python examples in the README and the docs run as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: pages whose ``.. code-block:: python`` blocks run top to bottom as a script
RUNNABLE = [
    "README.rst",
    "docs/getting-started.rst",
    "docs/tutorials/local-workers.rst",
    "docs/failures.rst",
    "docs/provenance.rst",
]

_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", re.MULTILINE)

#: runs each page's script in its own directory and namespace, in one process
#: (one interpreter and worker pool start instead of one per page)
_DRIVER = """
import json, os, sys, traceback
import matplotlib
matplotlib.use("Agg")
failed = {}
for page, script in json.loads(sys.stdin.read()).items():
    here = os.path.join(os.getcwd(), page.replace("/", "_"))
    os.makedirs(here)
    os.chdir(here)
    try:
        exec(compile(script, page, "exec"), {"__name__": "__main__"})
    except BaseException:
        failed[page] = traceback.format_exc()
    os.chdir("..")
print(json.dumps(failed))
"""


#: pages whose first part (up to the marker) runs as a script
RUNNABLE_PARTS = {"docs/recipes.rst": ".. _recipe-crash:"}


def python_blocks(page: Path, until: str | None = None) -> list[str]:
    """The dedented source of each Python code block of an rst page (of its
    text before ``until``, if given)."""
    blocks = []
    text = page.read_text()
    if until is not None:
        text = text[: text.index(until)]
    for match in _BLOCK.finditer(text):
        lines = match.group(1).splitlines()
        blocks.append("\n".join(line[4:] for line in lines).strip() + "\n")
    return blocks


def test_every_runnable_page_has_examples():
    assert all(python_blocks(ROOT / page) for page in RUNNABLE)
    assert all(python_blocks(ROOT / p, until) for p, until in RUNNABLE_PARTS.items())


def test_examples_run(tmp_path):
    scripts = {page: "\n".join(python_blocks(ROOT / page)) for page in RUNNABLE}
    for page, until in RUNNABLE_PARTS.items():
        scripts[page] = "\n".join(python_blocks(ROOT / page, until))
    result = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=json.dumps(scripts),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed = json.loads(result.stdout.splitlines()[-1])
    assert failed == {}, "\n".join(f"{p}:\n{tb}" for p, tb in failed.items())

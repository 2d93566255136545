"""The Python examples in the docs run as written, against this xsweep."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: pages whose ``.. code-block:: python`` blocks run top to bottom as a script
RUNNABLE = [
    "README.rst",
    "docs/getting-started.rst",
    "docs/tutorials/local-workers.rst",
]

_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", re.MULTILINE)


def python_blocks(page: Path) -> list[str]:
    """The dedented source of each Python code block of an rst page."""
    blocks = []
    for match in _BLOCK.finditer(page.read_text()):
        lines = match.group(1).splitlines()
        blocks.append("\n".join(line[4:] for line in lines).strip() + "\n")
    return blocks


@pytest.mark.parametrize("page", RUNNABLE)
def test_examples_of_page_run(page, tmp_path):
    blocks = python_blocks(ROOT / page)
    assert blocks, f"no python examples found in {page}"
    script = "import matplotlib\nmatplotlib.use('Agg')\n" + "\n".join(blocks)
    (tmp_path / "examples.py").write_text(script)
    result = subprocess.run(
        [sys.executable, "examples.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]

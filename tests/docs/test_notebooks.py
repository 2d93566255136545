"""The example notebooks under ``docs/notebooks`` run cleanly in a real kernel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parents[2] / "docs/notebooks").glob("*.ipynb")
)
KERNEL = "xsweep-test-kernel"


@pytest.fixture
def kernel_of_this_python(tmp_path, monkeypatch):
    """A kernel spec that starts this very interpreter (the venv's python).

    A ``python3`` kernel spec installed system-wide could point at another
    Python without xsweep; this one, first on ``JUPYTER_PATH``, cannot.
    """
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "xsweep tests", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return KERNEL


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1


def execute(path: Path, workdir: Path, kernel: str):
    """Run a notebook in a fresh kernel in ``workdir``; the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    resources = {"metadata": {"path": str(workdir)}}
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel, timeout=120, resources=resources
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    return nb


def outputs_of(cell) -> list[dict]:
    return [out.get("data", {}) for out in cell.get("outputs", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_error(path, tmp_path, kernel_of_this_python):
    nb = execute(path, tmp_path, kernel_of_this_python)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert images, "every example notebook ends with a plot"
    if path.stem == "crop":
        check_crop_displays(code)


def check_crop_displays(cells) -> None:
    """A crop shows as HTML; ``reap(wait=True)`` shows a progress widget."""
    sown = next(c for c in cells if "crop.sow_combos" in c.source)
    (html,) = [d["text/html"] for d in outputs_of(sown) if "text/html" in d]
    assert 'class="xsweep-crop"' in html and "pending" in html
    reap = next(c for c in cells if "reap(wait=True" in c.source)
    widget = "application/vnd.jupyter.widget-view+json"
    assert any(widget in d for d in outputs_of(reap)), "no progress widget"
    failing = next(c for c in cells if "fragile.grow()" in c.source)
    (html,) = [d["text/html"] for d in outputs_of(failing) if "text/html" in d]
    assert "1 combo failed, in 1 batch" in html and "ZeroDivisionError" in html

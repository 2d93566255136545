"""The code is pinned (issue 9.2): a function saved by reference is imported
afresh by each grower; a grower that finds its module (or a helper module it
uses) edited since the crop was sown refuses, says what changed and what to
do, and grows nothing, so no reap mixes two versions of the code."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid

import pytest

import xsweep
from xsweep.errors import FunctionMismatchError

MODULE = """
import {helper}

OFFSET = 0


def f(x):
    return {helper}.g(x) + OFFSET
"""
HELPER = """
def g(x):
    return 10 * x
"""


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """A user's module and its helper module, on disk, imported here."""
    tag = uuid.uuid4().hex[:8]
    names = {"module": f"sweepmod_{tag}", "helper": f"sweephelp_{tag}"}
    src = tmp_path / "src"
    src.mkdir()
    paths = {k: src / f"{v}.py" for k, v in names.items()}
    paths["module"].write_text(MODULE.format(helper=names["helper"]))
    paths["helper"].write_text(HELPER)
    monkeypatch.syspath_prepend(str(src))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield names, paths, src
    for name in names.values():
        sys.modules.pop(name, None)


def grow(crop, batch: int, src) -> subprocess.CompletedProcess:
    """``python -m xsweep grow CROP batch`` in a fresh process that imports
    the user's modules from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "xsweep", "grow", crop.location, str(batch)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_grower_refuses_edited_code_and_reaps_never_mix_versions(modules):
    names, paths, src = modules
    module = importlib.import_module(names["module"])
    crop = xsweep.Crop(fn=module.f, parent_dir=src.parent, name="pinned")
    crop.sow_combos({"x": [1, 2, 3, 4]}, verbosity=0)
    assert grow(crop, 1, src).returncode == 0

    original = paths["module"].read_text()
    paths["module"].write_text(original.replace("OFFSET = 0", "OFFSET = 1000"))
    edited = grow(crop, 2, src)
    assert edited.returncode != 0
    assert f"{names['module']}.f changed" in edited.stderr
    assert "restore the code" in edited.stderr and "Nothing was grown" in edited.stderr
    assert "Grow without fn=" not in edited.stderr  # no advice back into the mix
    assert crop.completed_results() == (1,)

    paths["module"].write_text(original)  # restored: growing goes on
    assert grow(crop, 2, src).returncode == 0

    helper = paths["helper"].read_text()
    paths["helper"].write_text(helper.replace("10 * x", "10 * x + 3000"))
    edited = grow(crop, 3, src)  # only the helper module changed
    assert edited.returncode != 0
    assert f"{names['helper']}.g changed" in edited.stderr
    assert crop.completed_results() == (1, 2)

    paths["helper"].write_text(helper)
    assert grow(crop, 3, src).returncode == 0
    assert grow(crop, 4, src).returncode == 0
    assert list(crop.reap()) == [10, 20, 30, 40]  # one version of the code


def test_fn_given_to_grow_is_checked_with_what_changed_and_how_to_adopt(modules):
    names, paths, src = modules
    module = importlib.import_module(names["module"])
    crop = xsweep.Crop(fn=module.f, parent_dir=src.parent, name="given")
    crop.sow_combos({"x": [1, 2]}, verbosity=0)
    crop.grow(1)
    helper = sys.modules[names["helper"]]
    paths["helper"].write_text(HELPER.replace("10 * x", "7 * x"))
    importlib.reload(helper)
    with pytest.raises(FunctionMismatchError) as info:
        crop.grow(2, fn=module.f)
    message = str(info.value)
    assert f"{names['helper']}.g changed" in message
    assert "crop.sow_combos(...) again" in message
    # following the advice: adopt the new code, whose results are computed
    summary = crop.sow_combos({"x": [1, 2]}, verbosity=0)
    assert (summary.kept, summary.to_compute) == (0, 2)
    crop.grow()
    assert list(crop.reap()) == [7, 14]


def test_xsweep_retry_adopt_code_reruns_the_failed_combos_with_the_fixed_code(
    modules,
):
    names, paths, src = modules
    paths["helper"].write_text("def g(x):\n    return 10 // (x - 2)\n")  # x=2 fails
    module = importlib.import_module(names["module"])
    crop = xsweep.Crop(fn=module.f, parent_dir=src.parent, name="adopt")
    crop.sow_combos({"x": [1, 2, 3]}, verbosity=0)
    for batch in (1, 2, 3):
        grow(crop, batch, src)
    assert [f.combo["x"] for f in crop.failures()] == [2]

    paths["helper"].write_text("def g(x):\n    return 10 // (x - 2) if x != 2 else 0\n")
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}

    def retry(*extra: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "xsweep", "retry", crop.location, *extra]
        return subprocess.run(argv, capture_output=True, text=True, env=env)

    plain = retry()  # the sown code is pinned: the edited code is refused
    assert plain.returncode != 0 and f"{names['helper']}.g changed" in plain.stderr
    assert "--adopt-code" in plain.stderr
    adopted = retry("--adopt-code")
    assert adopted.returncode == 0, adopted.stderr
    assert "0 still fail" in adopted.stdout
    assert list(crop.reap()) == [-10, 0, 10]  # x=1 and x=3 from the sown code


def test_a_function_saved_by_value_fingerprints_the_same_once_loaded_elsewhere():
    # `ones` names both the function and the attribute it reads (np.ones):
    # only the globals it reads count, as cloudpickle saves them
    import pickle

    import cloudpickle
    from grower_procs import by_value

    from xsweep.crop.fingerprint import function_fingerprint

    source = "import numpy as np\n\ndef ones(n):\n    return np.ones(n)\n"
    fn = by_value(source, "ones")
    loaded = pickle.loads(cloudpickle.dumps(fn))
    assert function_fingerprint(loaded) == function_fingerprint(fn)


def test_adopting_fixed_code_from_the_command_line_keeps_the_labels(modules):
    # a labelled crop (Runner.Crop) reopened by the CLI: retry --adopt-code
    # sows again with the fixed code and must keep the Runner's labels
    names, paths, src = modules
    paths["helper"].write_text("def g(x):\n    return 10 // (x - 2)\n")  # x=2 fails
    module = importlib.import_module(names["module"])
    runner = xsweep.Runner(module.f, var_names="y")
    crop = runner.Crop(parent_dir=src.parent, name="labelled")
    crop.sow_combos({"x": [1, 2, 3]}, verbosity=0)
    for batch in (1, 2, 3):
        grow(crop, batch, src)
    paths["helper"].write_text("def g(x):\n    return 10 // (x - 2) if x != 2 else 0\n")
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [sys.executable, "-m", "xsweep", "retry", crop.location, "--adopt-code"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    reopened = xsweep.Crop(name="labelled", parent_dir=src.parent)
    ds = reopened.reap()
    assert ds["y"].sel(x=[1, 2, 3]).values.tolist() == [-10, 0, 10]

"""Bad input and real faults: each gives a clear error, nothing half-written counts.

Every case is checked twice: from Python (the error's type and message: what,
where, what to do) and through the command line (its exit code, a one-line
message naming the file or batch, no traceback).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from grower_procs import (
    PY,
    by_value,
    finish,
    result_paths,
    run_cli,
    start_cli,
    temporaries,
    wait_for,
)

import xsweep
from xsweep.crop.layout import CropLayout
from xsweep.crop.store import ResultStore
from xsweep.errors import CropError, FileFormatError, NotPicklableError

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import os
import time
import numpy as np

def f(x, size=1, gate=None):
    while gate is not None and os.path.exists(gate):
        time.sleep(0.005)  # held until the test removes the gate file
    return np.full(size, float(x))
"""


def sow(tmp_path: Path, name: str = "faulty", xs=(1, 2, 3), **constants):
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "f"), name=name, parent_dir=str(tmp_path), batchsize=1
    )
    crop.sow_combos({"x": list(xs)}, constants=constants or None)
    return crop


def one_line_error(done: subprocess.CompletedProcess, code: int, *needles: str):
    """The command exited with ``code`` and a message holding every needle."""
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stderr.startswith("xsweep: error:"), done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr, (needle, done.stderr)


def result_files(crop) -> list[Path]:
    return result_paths(crop.location)


# ------------------------------------------------------------- damaged files


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_a_damaged_result_is_named_and_regrowing_it_fixes_the_crop(tmp_path, damage):
    crop = sow(tmp_path)
    crop.grow([1, 2])  # fast batches: one file under both names
    crop.grow([3])  # a file of its own
    path = result_files(crop)[-1]
    shared = result_files(crop)[0]
    for victim in (path, shared):  # damaged in place, as a disk would
        blob = victim.read_bytes()
        if damage == "truncate":
            victim.write_bytes(blob[: len(blob) // 2])
        else:
            victim.write_bytes(blob[:-20] + bytes(b ^ 0xFF for b in blob[-20:]))
    store = ResultStore(CropLayout(Path(crop.location)))
    with pytest.raises(FileFormatError, match="delete it and grow") as err:
        store.read(3, crop._read_sow().fingerprint(3))  # a file of its own
    assert str(path) in str(err.value)
    with pytest.raises(FileFormatError, match="delete them all") as err:
        crop.reap()  # batch 1 first: the shared file
    assert str(shared) in str(err.value)
    one_line_error(run_cli("reap", str(crop.location)), 2, str(shared))
    assert Path(crop.location, "results").exists()  # nothing cleaned up
    # what the messages say to do
    subprocess.run(str(err.value).split("`")[1], shell=True, check=True)
    path.unlink()
    assert crop.missing_results() == (1, 2, 3)
    assert run_cli("grow", str(crop.location)).returncode == 0
    reaped = run_cli("reap", str(crop.location))
    assert reaped.returncode == 0, reaped.stderr


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_a_damaged_sow_file_is_named(tmp_path, damage):
    crop = sow(tmp_path)
    sow_file = CropLayout(Path(crop.location)).sow_file
    blob = sow_file.read_bytes()
    if damage == "truncate":
        sow_file.write_bytes(blob[: len(blob) // 3])
    else:
        sow_file.write_bytes(blob[:40] + b"\0" * 16 + blob[56:])
    with pytest.raises(FileFormatError, match="sow"):
        reopened = xsweep.Crop(name="faulty", parent_dir=str(tmp_path))
        xsweep.grow(1, crop=reopened)
    for command in ("status", "grow", "reap"):
        one_line_error(run_cli(command, str(crop.location)), 2, str(sow_file))
    assert result_files(crop) == []


def test_a_missing_function_file_is_named_with_what_to_do(tmp_path):
    crop = sow(tmp_path)
    layout = CropLayout(Path(crop.location))
    (function_file,) = layout.list_functions().values()
    function_file.unlink()
    reopened = xsweep.Crop(name="faulty", parent_dir=str(tmp_path))
    with pytest.raises(CropError, match="sow") as err:
        xsweep.grow(1, crop=reopened)
    assert str(function_file) in str(err.value)
    one_line_error(run_cli("grow", str(crop.location)), 2, str(function_file))
    assert result_files(crop) == []


# ---------------------------------------------------------------- faults


def test_the_crop_deleted_mid_grow_stops_the_grower_cleanly(tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    crop = sow(tmp_path, gate=str(gate))
    layout = CropLayout(Path(crop.location))
    grower = start_cli(crop.location)
    wait_for(lambda: layout.list_claims(), what="the grower's claim")
    shutil.rmtree(crop.location)
    gate.unlink()
    ((code, err),) = finish([grower])
    assert code == 4, err  # the file system, not the input: exit code 4
    assert str(crop.location) in err and "deleted" in err
    assert "Sow" not in err  # it may be an unmounted file system: never re-sow
    assert "Traceback" not in err
    assert not layout.sow_file.exists()
    assert result_files(crop) == []


def _tiny_tmpfs(directory: Path, size: str) -> bool:
    """Mount a tmpfs of ``size`` on ``directory``; whether it could."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
    )
    return done.returncode == 0


def test_a_full_disk_enospc_leaves_nothing_half_written(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _tiny_tmpfs(disk, "1m"):
        pytest.skip("mounting a tiny tmpfs needs root and CAP_SYS_ADMIN")
    try:
        crop = sow(disk, size=400_000)  # a 3.2 MB result cannot fit in 1 MB
        with pytest.raises(CropError, match="space") as err:
            crop.grow(1)
        assert str(crop.location) in str(err.value)
        one_line_error(run_cli("grow", str(crop.location), "2"), 4, "space")
        assert result_files(crop) == []
        assert temporaries(Path(crop.location)) == []
        assert list(crop.missing_results()) == [1, 2, 3]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_file_size_limit_efbig_leaves_nothing_half_written(tmp_path):
    crop = sow(tmp_path, size=400_000)  # a 3.2 MB result; the limit is 1 MB

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    done = subprocess.run(
        [PY, "-m", "xsweep", "grow", str(crop.location), "1"],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=60,
    )
    one_line_error(done, 2, "File too large", str(crop.location))
    assert result_files(crop) == []
    assert temporaries(Path(crop.location)) == []
    assert list(crop.missing_results()) == [1, 2, 3]


# ------------------------------------------------------------- bad input


def test_an_unpicklable_function_is_refused_at_sow(tmp_path):
    lock = threading.Lock()

    def locked(x):
        with lock:
            return x

    crop = xsweep.Crop(fn=locked, name="nopickle", parent_dir=str(tmp_path))
    with pytest.raises(NotPicklableError, match="function"):
        crop.sow_combos({"x": [1, 2]})
    assert not CropLayout(Path(crop.location)).sow_file.exists()
    one_line_error(run_cli("status", str(crop.location)), 3, "not sown")


def test_an_unpicklable_combo_is_refused_at_sow(tmp_path):
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "f"), name="nopickle", parent_dir=str(tmp_path)
    )
    with pytest.raises(NotPicklableError):
        crop.sow_combos({"x": [1, threading.Lock()]})
    assert not CropLayout(Path(crop.location)).sow_file.exists()


def test_an_unpicklable_result_is_a_named_failure_of_its_combo(tmp_path):
    source = "import threading\ndef f(x):\n    return threading.Lock()\n"
    crop = xsweep.Crop(
        fn=by_value(source, "f"), name="badresult", parent_dir=str(tmp_path)
    )
    crop.sow_combos({"x": [1, 2]})
    done = run_cli("grow", str(crop.location), "1")
    assert done.returncode == 1, done  # a failed combo, recorded (issue 9.4)
    assert temporaries(Path(crop.location)) == []
    assert list(crop.missing_results()) == [2]
    (failure,) = crop.failures()
    assert failure.combo == {"x": 1} and "cannot be saved" in failure.message


def test_growing_before_sowing_says_sow_first(tmp_path):
    crop = xsweep.Crop(name="unsown", parent_dir=str(tmp_path))
    with pytest.raises(CropError, match="sow"):
        xsweep.grow(1, crop=crop)
    one_line_error(run_cli("grow", str(tmp_path / ".xyz-unsown")), 3, "sow")


def test_a_batch_that_does_not_exist_is_named(tmp_path):
    crop = sow(tmp_path)
    with pytest.raises(CropError, match="99"):
        crop.grow(99)
    one_line_error(run_cli("grow", str(crop.location), "99"), 2, "99", "1 to 3")


def test_a_partial_reap_before_any_result_is_all_nan_with_internal_dims(tmp_path):
    """Reaping while growers have not finished a single batch yet still works."""
    namespace: dict = {"__name__": "xsweep_test_faults_spectrum"}
    exec("import numpy as np\ndef g(x):\n    return x, np.arange(3) * x\n", namespace)
    runner = xsweep.Runner(
        namespace["g"],
        var_names=["a", "b"],
        var_dims={"b": ["t"]},
        var_coords={"t": [0, 1, 2]},
    )
    crop = runner.Crop(name="early", parent_dir=str(tmp_path), batchsize=1)
    crop.sow_combos({"x": [1, 2]})
    ds = crop.reap(allow_incomplete=True)
    assert ds["b"].dims == ("x", "t") and ds["b"].shape == (2, 3)
    assert bool(ds["a"].isnull().all()) and bool(ds["b"].isnull().all())
    crop.grow(1)
    ds = crop.reap(allow_incomplete=True)
    assert ds["b"].sel(x=1).values.tolist() == [0, 1, 2]
    assert bool(ds["b"].sel(x=2).isnull().all())

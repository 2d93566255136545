"""Every kind of crop file, damaged, gives a clear error naming it (and what to
do), in Python and on the command line (exit 2, one line); doing what it says
mends the crop. Results and sow records are in ``test_faults.py``; here the
function, a compacted results file and the saved farmer. Also: what a failed
combo's record holds."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from grower_procs import by_value, run_cli

import xsweep
from xsweep.errors import FileFormatError

SOURCE = """
def f(x):
    if x == 3:
        raise ArithmeticError(f"no f at x={x}")
    return 10 * x
"""


def sow(tmp_path: Path, farmer=None, **settings) -> xsweep.Crop:
    if farmer is not None:
        crop = farmer.Crop(name="damaged", parent_dir=tmp_path, batchsize=1)
    else:
        crop = xsweep.Crop(
            fn=by_value(SOURCE, "f"), name="damaged", parent_dir=tmp_path, batchsize=1
        )
    crop.sow_combos({"x": [1, 2, 4]}, **settings)
    return crop


def damage(path: Path) -> None:
    """Flip the last bytes of ``path`` in place, as a failing disk would."""
    blob = path.read_bytes()
    path.write_bytes(blob[:-8] + bytes(b ^ 0xFF for b in blob[-8:]))


def one_line_error(argv: list[str], *needles: str) -> None:
    done = run_cli(*argv)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.startswith("xsweep: error:") and "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr, (needle, done.stderr)


def test_a_damaged_function_file_is_named_and_sowing_again_mends_it(tmp_path):
    crop = sow(tmp_path)
    (path,) = crop.layout.list_functions().values()
    damage(path)
    reopened = xsweep.Crop(name="damaged", parent_dir=tmp_path)
    with pytest.raises(FileFormatError, match="garbled") as err:
        reopened.grow(1)
    assert str(path) in str(err.value)
    one_line_error(["grow", crop.location], str(path), "garbled")
    assert crop.completed_results() == ()  # nothing grown with it
    crop.sow_combos({"x": [1, 2, 4]})  # sowing again (with the function) mends it
    assert run_cli("grow", crop.location).returncode == 0
    assert crop.reap() == (10, 20, 40)


def test_a_damaged_compacted_file_is_named_and_regrowing_mends_it(tmp_path):
    crop = sow(tmp_path)
    crop.grow()
    assert crop.compact() == 3
    (path,) = crop.layout.list_compacts()
    damage(path)
    with pytest.raises(FileFormatError, match="delete") as err:
        crop.reap()
    assert str(path) in str(err.value)
    for command in ("status", "grow", "reap"):
        one_line_error([command, crop.location], str(path))
    assert crop.is_prepared()  # nothing cleaned up
    path.unlink()  # what the message says to do
    assert crop.missing_results() == (1, 2, 3)
    assert run_cli("grow", crop.location).returncode == 0
    assert crop.reap() == (10, 20, 40)


def test_a_damaged_saved_farmer_is_named_when_reaping_elsewhere(tmp_path):
    pytest.importorskip("xarray")
    runner = xsweep.Runner(by_value(SOURCE, "f"), var_names="y")
    harvester = xsweep.Harvester(runner, data_name=tmp_path / "h.nc")
    crop = sow(tmp_path, farmer=harvester)
    crop.grow()
    farmer_file = crop.layout.farmer_file
    damage(farmer_file)
    with pytest.raises(FileFormatError) as err:
        xsweep.Crop(name="damaged", parent_dir=tmp_path).reap()
    assert str(farmer_file) in str(err.value)
    one_line_error(["reap", crop.location], str(farmer_file))
    assert crop.is_prepared() and not (tmp_path / "h.nc").exists()
    crop.reap()  # with the farmer at hand, no saved one is needed
    assert (tmp_path / "h.nc").exists()


def test_a_failed_combo_records_exception_where_when_and_how_long(tmp_path):
    crop = sow(tmp_path)
    crop.sow_combos({"x": [1, 3, 4]})
    before = time.time()
    done = run_cli("grow", crop.location)
    after = time.time()
    assert done.returncode == 1, done.stderr  # some combos failed
    (failure,) = crop.failures()
    assert failure.combo == {"x": 3} and failure.index == 1
    assert failure.exc_type == "ArithmeticError"
    assert failure.message == "no f at x=3"
    assert failure.traceback.startswith("Traceback")
    assert ", in f\n" in failure.traceback  # down to the user's function
    assert failure.traceback.endswith("ArithmeticError: no f at x=3\n")
    assert failure.host == socket.gethostname()
    assert isinstance(failure.pid, int) and failure.pid > 0
    assert before <= failure.start <= failure.start + failure.duration <= after
    (shown,) = crop.status().to_dict()["failures"]
    for key in ("exc_type", "message", "traceback", "host", "pid", "start"):
        assert shown[key] == getattr(failure, key), key
    assert shown["batch_id"] == 2 and shown["duration"] >= 0

"""``xsweep compact CROP``: a grown crop becomes one result file; refused while
a grower holds a live claim; the reap is unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import xsweep
from xsweep.cli import EXIT_NOTHING, EXIT_OK, EXIT_USAGE
from xsweep.crop import claims


def add(x, y):
    return x * 10 + y


def xsweep_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xsweep", *args], capture_output=True, text=True
    )


def files_of(location: str) -> list[Path]:
    return [p for p in Path(location, "results").iterdir() if p.is_file()]


def test_compact_merges_every_result_into_one_file_and_reaps_the_same(tmp_path):
    runner = xsweep.Runner(add, var_names="z")
    combos = {"x": list(range(6)), "y": list(range(5))}
    crop = runner.Crop(name="many", parent_dir=tmp_path, batchsize=1)
    crop.sow_combos(combos)
    assert xsweep_cli("compact", crop.location).returncode == EXIT_NOTHING
    for batch in range(1, 31):
        crop.grow(batch)  # one file per batch
    assert len(files_of(crop.location)) == 30

    sow = crop._read_sow()
    crop.layout.result_file(7, sow.fingerprint(7)).unlink()  # missing again,
    live = crop.layout.claim_file(7, sow.fingerprint(7))  # and being grown
    token = claims.try_claim(live)
    refused = xsweep_cli("compact", crop.location)
    assert refused.returncode == EXIT_USAGE
    assert "being grown" in refused.stderr and "Traceback" not in refused.stderr
    claims.release(live, token)
    crop.grow(7)

    done = xsweep_cli("compact", crop.location)
    assert done.returncode == EXIT_OK, done.stderr
    assert "compacted 30 result(s)" in done.stdout
    (only,) = files_of(crop.location)
    assert only.name.startswith("compact.")
    assert crop.missing_results() == ()
    np.testing.assert_array_equal(crop.reap()["z"], runner.run_combos(combos)["z"])

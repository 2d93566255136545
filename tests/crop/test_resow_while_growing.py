"""A crop sown again while a grower works: the grower notices before its next
claim, grows the new sowing's batches, adopts by combo what it computed for
the old one, and reports only what counts (a new user's first hour: it went
on growing the old batches, said "grew 12 batch(es)" and left 9 finished
combos thrown away and 12 orphaned result files)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from grower_procs import PY, by_value, finish, runs, wait_for

import xsweep

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import os, time

def slow(a, b, log):
    time.sleep(0.2)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{a} {b}\\n".encode())
    finally:
        os.close(fd)
    return 10 * a + b
"""


def start(crop: xsweep.Crop, *args: str):
    import subprocess

    return subprocess.Popen(
        [PY, "-m", "xsweep", "grow", crop.location, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def orphans(crop: xsweep.Crop) -> list[str]:
    """Result files in results/ that no batch of the current sowing names."""
    sow = crop._read_sow()
    wanted = {f"b{k}.{fp}." for k, fp in enumerate(sow.fingerprints, 1)}
    names = [p.name for p in Path(crop.location, "results").iterdir()]
    return [
        n
        for n in names
        if re.match(r"b\d+\.", n) and not any(n.startswith(w) for w in wanted)
    ]


@pytest.mark.parametrize(
    "how",
    [[], ["--no-supervise"], ["--subprocess"], ["--num-workers", "2"]],
    ids=["pipelined", "plain", "supervised", "workers"],
)
def test_a_grower_goes_on_with_the_new_sowing_and_loses_nothing(tmp_path, how):
    log = tmp_path / "log"
    fn = by_value(SOURCE, "slow")
    crop = xsweep.Crop(fn=fn, name="slow", parent_dir=tmp_path, batchsize=1)
    crop.sow_combos({"a": range(6), "b": [1, 2]}, constants={"log": str(log)})
    grower = start(crop, *how)
    try:
        wait_for(lambda: len(crop.completed_results()) >= 3, what="3 results")
        new = {"a": range(8), "b": [1, 2]}
        summary = crop.sow_combos(new, constants={"log": str(log)})
        assert summary.kept >= 3 and summary.combos == 16
        out, err = grower.communicate(timeout=90)
    finally:
        finish([grower], timeout=5)
    assert grower.returncode == 0, err
    # it grew the new sowing to the end: nothing left, nothing thrown away
    assert not crop.missing_results() and crop.status().failed_combos == 0
    assert orphans(crop) == []
    # every combo computed once: what it finished of the old sowing was adopted
    done = runs(log)
    assert set(done) == {(a, b) for a in range(8) for b in (1, 2)}
    # (with two workers, a combo one was computing when sown again may be
    # claimed in the new sowing by the other before the first adopts it)
    limit = 2 if "--num-workers" in how else 1
    assert max(done.values()) <= limit, done
    assert "sown again" in out, out
    grew = int(re.search(r"grew (\d+) batch", out).group(1))
    assert grew <= summary.batches  # never the old sowing's batches as if they counted
    expected = [[10 * a + b for b in (1, 2)] for a in range(8)]
    np.testing.assert_array_equal(np.array(crop.reap()), expected)


CHANGED = SOURCE.replace("return 10 * a + b", "return 100 * a + b")


def test_sown_again_with_another_function_the_grower_stops_and_says_so(tmp_path):
    log = tmp_path / "log"
    crop = xsweep.Crop(
        fn=by_value(SOURCE, "slow"), name="slow", parent_dir=tmp_path, batchsize=1
    )
    crop.sow_combos({"a": range(6), "b": [1, 2]}, constants={"log": str(log)})
    grower = start(crop)
    try:
        wait_for(lambda: sum(runs(log).values()) >= 2, what="2 combos computed")
        other = xsweep.Crop(
            fn=by_value(CHANGED, "slow"), name="slow", parent_dir=tmp_path, batchsize=1
        )
        other.sow_combos({"a": range(6), "b": [1, 2]}, constants={"log": str(log)})
        out, err = grower.communicate(timeout=60)
    finally:
        finish([grower], timeout=5)
    assert grower.returncode == 75, (out, err)  # stopped early: grow again
    assert "sown again with another function" in out, out
    assert orphans(other) == []  # nothing of the old code left beside the new
    other.grow()
    expected = [[100 * a + b for b in (1, 2)] for a in range(6)]
    np.testing.assert_array_equal(np.array(other.reap()), expected)

"""Chaos: real growers SIGKILLed at random moments, mid-write included.

Whatever instant a grower dies at, no partial file counts as done, every file
that counts as done reads back whole, and a final grow and reap give exactly
the in-memory result. The randomness is seeded, so a failure replays.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
from grower_procs import (
    by_value,
    holds_claim,
    kill,
    poll,
    run_cli,
    start_cli,
    start_python,
    temporaries,
    wait_for,
)

import xsweep
from xsweep.crop.layout import CropLayout
from xsweep.crop.store import ResultStore

xr = pytest.importorskip("xarray")
pytestmark = pytest.mark.timeout(240)

SOURCE = """
import os
import time
import numpy as np

def wave(x, y):
    # growers take their time (so that kills land mid-batch); the reference not
    time.sleep(float(os.environ.get("CHAOS_PAUSE", "0")) * (1 + x % 3))
    return x + y, np.arange(40_000, dtype=float) * x + y
"""
COMBOS = {"x": list(range(8)), "y": [0.5, 1.5, 2.5, 3.5, 4.5]}
SEED = 20261121
SLOW = {"CHAOS_PAUSE": "0.06"}


def make_runner() -> xsweep.Runner:
    return xsweep.Runner(
        by_value(SOURCE, "wave"),
        var_names=["s", "w"],
        var_dims={"w": ["t"]},
        var_coords={"t": np.arange(40_000)},
    )


def sow(tmp_path: Path, name: str, source: str, fn: str, combos, **kw) -> xsweep.Crop:
    crop = xsweep.Crop(
        fn=by_value(source, fn), name=name, parent_dir=str(tmp_path), **kw
    )
    crop.sow_combos(combos)
    return crop


def assert_done_results_read_whole(location: Path) -> int:
    """Every result file that counts as done reads back whole, holding the
    record of the batch its name gives (one record or a group); how many."""
    store = ResultStore(CropLayout(Path(location)))
    singles, _, _ = store.layout.list_results()
    n = 0
    for (batch_id, fp), path in singles.items():
        try:
            record = store.read(batch_id, fp)
        except FileNotFoundError:
            continue  # replaced (compacted, re-sown) since the listing
        assert (record["batch_id"], record["fingerprint"]) == (batch_id, fp), path
        n += 1
    return n


def assert_partial_reap_is_exact(crop, expected) -> None:
    """Reap what is there while growers work: every value present is exact."""
    partial = crop.reap(allow_incomplete=True, clean_up=False)
    done = partial["s"].notnull()
    assert (partial["s"] == expected["s"]).where(done, True).all()
    assert (partial["w"] == expected["w"]).where(done, True).all()
    assert xsweep.provenance(partial)["crop_failed_combos"] == 0


def at_work(procs: list, location: Path) -> list:
    """The growers among ``procs`` that hold a claim (are growing a batch)."""
    return [p for p in procs if holds_claim(location, p.pid)]


def test_random_sigkills_then_final_grow_and_reap_equal_memory(tmp_path):
    rng = random.Random(SEED)
    runner = make_runner()
    crop = runner.Crop(name="chaos", parent_dir=str(tmp_path), batchsize=2)
    crop.sow_combos(COMBOS)
    location = Path(crop.location)
    num_batches = len(crop.missing_results())
    assert num_batches == 20
    expected = runner.run_combos(COMBOS)
    procs: list = []
    kills = restarts = working_kills = 0
    # the loop ends as soon as it has its kills; the allowance is for a loaded
    # machine, where growers take seconds to start
    deadline = time.monotonic() + 120
    while (kills < 32 or working_kills < 5) and time.monotonic() < deadline:
        while len(procs) < 4:  # keep four growers of both kinds running
            if rng.random() < 0.5:
                procs.append(start_cli(location, env=SLOW))
            else:
                batch = rng.randint(1, num_batches)
                procs.append(start_python(tmp_path, "chaos", batch, env=SLOW))
            restarts += 1
        working = []
        if rng.random() < 0.6 and crop.missing_results():  # most kills hit
            # a grower at work on a batch, while there is work
            working = poll(lambda: at_work(procs, location), timeout=5)
        victim = rng.choice(working or procs)
        working_kills += bool(working)
        procs.remove(victim)
        time.sleep(rng.uniform(0.0, 0.3))  # the random kill moment (test input)
        kill(victim)
        kills += 1
        for p in [p for p in procs if p.poll() is not None]:
            procs.remove(p)  # finished by itself: it must have exited cleanly
            _, err = p.communicate()
            assert p.returncode in (0, 3), err
        # at any instant: what counts as done reads back whole
        assert assert_done_results_read_whole(location) <= crop.status().done
        if kills % 10 == 5:  # and a partial reap, growers at work, is exact
            assert_partial_reap_is_exact(crop, expected)
    for p in procs:
        kill(p)
    assert kills >= 20, f"only {kills} kills in the time allowed"
    assert working_kills >= 5, f"only {working_kills} kills of a working grower"

    status = crop.status()  # leftovers of the killed never count as done
    assert status.done + status.pending + status.claimed == num_batches
    assert status.failed == 0

    final = run_cli("grow", str(location))
    assert final.returncode in (0, 3), final.stderr
    status = crop.status()
    assert (status.done, status.pending, status.claimed) == (num_batches, 0, 0)
    assert list(crop.missing_results()) == []

    cleaned = run_cli("clean", str(location))
    assert cleaned.returncode == 0, cleaned.stderr
    assert temporaries(location) == []
    assert CropLayout(location).list_debris() == []
    assert CropLayout(location).list_claims() == {}

    reaped = crop.reap()
    xr.testing.assert_identical(without_attrs(reaped), without_attrs(expected))


def without_attrs(ds):
    """The data and labels of ``ds`` (provenance attributes differ by design)."""
    return ds.drop_attrs() if hasattr(ds, "drop_attrs") else ds.assign_attrs({})


def test_kill_mid_write_leaves_a_temporary_that_never_counts(tmp_path):
    """SIGKILL while a big result is being written (its temporary exists)."""
    source = (
        "import numpy as np\n"
        "def big(x):\n"
        "    return np.full(6_000_000, float(x))\n"  # 48 MB: a long write
    )
    crop = sow(tmp_path, "midwrite", source, "big", {"x": [1, 2]}, batchsize=1)
    location = Path(crop.location)
    left = []
    for _ in range(8):  # the kill must land between open and rename
        proc = start_python(tmp_path, "midwrite", 1)
        wait_for(
            lambda p=proc: temporaries(location) or p.poll() is not None,
            timeout=60,
            what="a temporary result file",
        )
        kill(proc)
        left = temporaries(location)
        if left and list(crop.missing_results()) == [1, 2]:
            break
        # too late (renamed already): start again from nothing
        run_cli("clean", "--all", "--yes", str(location))
        crop = sow(tmp_path, "midwrite", source, "big", {"x": [1, 2]}, batchsize=1)
    assert left, "no kill landed mid-write in 8 tries"
    status = crop.status()
    assert (status.done, status.pending) == (0, 2)
    assert list(crop.missing_results()) == [1, 2]
    shown = run_cli("status", "--json", str(location))
    assert shown.returncode == 0, shown.stderr
    assert '"done": 0' in shown.stdout

    cleaned = run_cli("clean", str(location))
    assert cleaned.returncode == 0, cleaned.stderr
    assert temporaries(location) == []

    grown = run_cli("grow", str(location))
    assert grown.returncode == 0, grown.stderr
    assert list(crop.missing_results()) == []

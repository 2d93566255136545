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
    result_paths,
    run_cli,
    start_cli,
    start_python,
    temporaries,
    wait_for,
)

import xsweep
from xsweep.crop import records
from xsweep.crop.layout import CropLayout

pytestmark = pytest.mark.timeout(120)

SOURCE = """
import time
import numpy as np

def wave(x, y):
    time.sleep(0.04 + 0.03 * (x % 3))
    return np.arange(40_000, dtype=float) * x + y
"""
COMBOS = {"x": list(range(8)), "y": [0.5, 1.5, 2.5, 3.5, 4.5]}
SEED = 20261121


def expected_values() -> np.ndarray:
    """The sweep computed in memory, in this process."""
    wave = by_value(SOURCE, "wave")
    return np.array([[wave(x, y) for y in COMBOS["y"]] for x in COMBOS["x"]])


def sow(tmp_path: Path, name: str, source: str, fn: str, combos, **kw) -> xsweep.Crop:
    crop = xsweep.Crop(
        fn=by_value(source, fn), name=name, parent_dir=str(tmp_path), **kw
    )
    crop.sow_combos(combos)
    return crop


def assert_done_results_read_whole(location: Path) -> int:
    """Every result file that counts as done reads back whole; how many."""
    n = 0
    for path in result_paths(location):
        try:
            records.read(path, "result")
        except FileNotFoundError:
            continue  # replaced (compacted, re-sown) since the listing
        n += 1
    return n


def test_random_sigkills_then_final_grow_and_reap_equal_memory(tmp_path):
    rng = random.Random(SEED)
    crop = sow(tmp_path, "chaos", SOURCE, "wave", COMBOS, batchsize=2)
    location = Path(crop.location)
    num_batches = len(crop.missing_results())
    assert num_batches == 20
    procs: list = []
    kills = restarts = 0
    deadline = time.monotonic() + 30
    while kills < 36 and time.monotonic() < deadline:
        while len(procs) < 4:  # keep four growers of both kinds running
            if rng.random() < 0.5:
                procs.append(start_cli(location))
            else:
                batch = rng.randint(1, num_batches)
                procs.append(start_python(tmp_path, "chaos", batch))
            restarts += 1
        working = [p for p in procs if holds_claim(location, p.pid)]
        if working and rng.random() < 0.5:  # many kills hit a grower at work
            victim = rng.choice(working)
        else:
            victim = rng.choice(procs)
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
    for p in procs:
        kill(p)
    assert kills >= 24, f"only {kills} kills in the time allowed"

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

    values = reaped_values(crop)
    np.testing.assert_array_equal(values, expected_values())


def reaped_values(crop) -> np.ndarray:
    """The reaped results as one array (combo dims first)."""
    result = crop.reap()
    return np.asarray(result)


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

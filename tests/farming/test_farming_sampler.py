"""Sampler: random samples into a DataFrame, appended on disk atomically."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import xsweep
from xsweep import Runner, Sampler
from xsweep.errors import InvalidCombosError


def energy(a, b):
    if b < 0:
        raise ValueError("negative b")
    return a * b, np.array([a, b])


@pytest.fixture
def runner():
    return Runner(energy, ["e", "v"], var_dims={"v": "k"}, var_coords={"k": [0, 1]})


def test_samples_accumulate_on_disk(runner, tmp_path):
    path = tmp_path / "s.pkl"
    sampler = Sampler(runner, file_name=path)
    first = sampler.sample_combos(
        6, {"a": [1, 2, 3], "b": lambda rng: rng.uniform(0, 1)}, seed=0
    )
    assert list(first.columns) == ["a", "b", "e", "v"]
    assert set(first.a) <= {1, 2, 3} and first.b.between(0, 1).all()
    np.testing.assert_allclose(first.e, first.a * first.b)
    sampler.sample_combos(4, {"a": [5], "b": [2.0]})
    full = Sampler(runner, path).full_df
    assert len(full) == 10 and full.index.tolist() == list(range(10))
    assert full.e.iloc[-1] == 10.0
    pd.testing.assert_frame_equal(full.iloc[:6], first, check_like=False)
    assert xsweep.provenance(full)["xsweep_function"].endswith("energy")


def test_seed_reproduces_and_default_combos(runner):
    sampler = Sampler(runner, default_combos={"a": range(100), "b": [1.0, 2.0]})
    one = sampler.sample_combos(5, seed=7, sync=False)
    two = sampler.sample_combos(5, seed=7, sync=False)
    pd.testing.assert_frame_equal(one, two)
    assert len(sampler.full_df) == 10


def test_failures_recorded(runner):
    sampler = Sampler(runner)
    df = sampler.sample_combos(4, {"a": [1], "b": [-1.0]}, on_error="record")
    assert df.e.isna().all()
    records = json.loads(df.attrs["xsweep_failures"])
    assert len(records) == 4 and records[0]["message"] == "negative b"


def test_bad_sample_spec_is_explained(runner):
    with pytest.raises(InvalidCombosError, match="cannot sample 'a'"):
        Sampler(runner).sample_combos(2, {"a": 3, "b": [1.0]})
    with pytest.raises(InvalidCombosError, match="nothing to sample"):
        Sampler(runner).sample_combos(2)


@pytest.mark.parametrize("on_disk", [False, True])
def test_appending_keeps_attrs_of_runs_that_differ(runner, tmp_path, on_disk):
    sampler = Sampler(runner, tmp_path / "a.pkl" if on_disk else None)
    old = pd.DataFrame({"a": [1], "b": [-1.0]})
    old.attrs = {"xsweep_run_start": "t1", "xsweep_failures": '[{"combo": {"a": 1}}]'}
    new = pd.DataFrame({"a": [2], "b": [1.0]})
    new.attrs = {"xsweep_run_start": "t2"}
    sampler.add_df(old)
    sampler.add_df(new)
    full = Sampler(runner, tmp_path / "a.pkl").full_df if on_disk else sampler.full_df
    assert full.a.tolist() == [1, 2] and full.attrs["xsweep_run_start"] == "t2"
    assert json.loads(full.attrs["xsweep_failures"]) == [{"combo": {"a": 1}}]

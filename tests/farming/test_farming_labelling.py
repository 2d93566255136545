"""Labelling, checked on random grids and cases (hypothesis)."""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xsweep import case_runner_to_ds, combo_runner_to_ds
from xsweep.netcdf import load_dataset, save_dataset

unique = {"min_size": 1, "max_size": 3, "unique": True}
values = st.one_of(
    st.lists(st.integers(-50, 50), **unique),
    st.lists(st.floats(-10, 10, allow_nan=False, width=32), **unique),
    st.lists(st.text("abc", min_size=1, max_size=3), **unique),
)
names = st.sampled_from(["p", "q", "r"])
grids = st.dictionaries(names, values, min_size=1, max_size=3)


def out(**kw):
    key = repr(sorted(kw.items()))
    h = float(sum(ord(c) for c in key) % 997)
    return h, np.array([h, -h]), h > 400


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=grids)
def test_every_combo_lands_at_its_coordinates(grid, tmp_path_factory):
    ds = combo_runner_to_ds(
        out, grid, ["h", "v", "big"], var_dims={"v": "k"}, var_coords={"k": [0, 1]}
    )
    assert ds.h.dims == tuple(grid)
    for combo in itertools.product(*grid.values()):
        kw = dict(zip(grid, combo, strict=True))
        h, v, big = out(**kw)
        at = ds.sel(kw)
        assert float(at.h) == h and bool(at.big) == big
        np.testing.assert_array_equal(at.v.values, v)
    path = tmp_path_factory.mktemp("g") / "g.nc"
    save_dataset(ds, path)
    xr.testing.assert_identical(load_dataset(path), ds)


@settings(max_examples=25, deadline=None)
@given(grid=grids, data=st.data())
def test_cases_fill_their_cells_and_leave_the_rest_missing(grid, data):
    every = list(itertools.product(*grid.values()))
    chosen = data.draw(st.lists(st.sampled_from(every), min_size=1, unique=True))
    ds = case_runner_to_ds(out, list(grid), chosen, ["h", "v", "big"],
                           var_dims={"v": "k"}, var_coords={"k": [0, 1]})  # fmt: skip
    filled = int(ds.h.notnull().sum())
    assert filled == len(chosen)
    for case in chosen:
        kw = dict(zip(grid, case, strict=True))
        assert float(ds.h.sel(kw)) == out(**kw)[0]


def test_ready_made_variables_and_indexes_equal_what_xarray_builds():
    """Labelling hands xarray numbers as Variables and indexes (no dask
    import); the dataset is the one xarray builds from plain arrays."""
    from xsweep.combos import parse_combos
    from xsweep.labelling import arrays_to_dataset

    coords = {
        "i8": [3, 1, 2],
        "f8": [0.5, np.nan],
        "f4": np.array([1.5], dtype="f4"),
        "u2": np.array([7, 9], dtype="u2"),
        "b": [True, False],
        "s": ["x", "yy"],
    }
    combos = parse_combos(coords)
    rng = np.random.default_rng(2)
    arrays = {
        "real": rng.normal(size=combos.shape),
        "whole": np.arange(combos.size).reshape(combos.shape),
        "flag": rng.normal(size=combos.shape) > 0,
        "cplx": rng.normal(size=combos.shape) * 1j,
        "text": np.full(combos.shape, "t", dtype=object),
    }
    ds = arrays_to_dataset(arrays, combos)
    plain = xr.Dataset(
        {k: (tuple(coords), v) for k, v in arrays.items()},
        coords={k: np.asarray(v) for k, v in coords.items()},
    )
    xr.testing.assert_identical(ds, plain)
    for name in coords:
        assert ds.indexes[name].equals(plain.indexes[name])
        assert ds.indexes[name].dtype == plain.indexes[name].dtype

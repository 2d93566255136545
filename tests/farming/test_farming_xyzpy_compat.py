"""The calls xyzpy users make, by name and keyword, work unchanged.

Each call below is spelled as in xyzpy's documentation; only the import
differs (``import xsweep as xyz``).
"""

from __future__ import annotations

import numpy as np

import xsweep as xyz


def foo(a, b, c):
    return a + b + c, a * b * c


def signal(f, t, amp=1.0):
    return amp * np.sin(f * t), f > 1


def test_function_api_by_keyword():
    combos = [("a", [1, 2, 3]), ("b", [10, 20])]
    plain = xyz.combo_runner(foo, combos, constants={"c": 1}, verbosity=0)
    assert plain[2][1] == (24, 60)
    sums, prods = xyz.combo_runner(
        foo, combos=combos, constants={"c": 1}, split=True, hide_progbar=True
    )
    assert sums[2][1] == 24 and prods[0][0] == 10
    cases = xyz.case_runner(foo, fn_args=("a", "b"), cases=[(1, 2), (3, 4)],
                            constants={"c": 0})  # fmt: skip
    assert [tuple(x) for x in cases] == [(3, 0), (7, 0)]
    ts = np.linspace(0, 1, 5)
    ds = xyz.combo_runner_to_ds(
        signal,
        combos={"f": [0.5, 2.0]},
        var_names=["x", "high"],
        var_dims={"x": ["t"]},
        var_coords={"t": ts},
        constants={"t": ts, "amp": 2.0},
        resources=None,
        attrs={"experiment": 1},
        parse=True,
        parallel=False,
        num_workers=None,
        verbosity=0,
    )
    assert ds.x.dims == ("f", "t") and ds.attrs["amp"] == 2.0
    assert ds.attrs["experiment"] == 1
    ds = xyz.case_runner_to_ds(
        foo,
        fn_args=["a", "b"],
        cases=[(1, 2), (3, 4)],
        var_names=["sum", "prod"],
        constants={"c": 0},
    )
    assert float(ds["sum"].sel(a=3, b=4)) == 7


def test_runner_harvester_sampler_by_keyword(tmp_path):
    r = xyz.Runner(foo, var_names=["sum", "prod"], fn_args=["a", "b", "c"])
    ds = r.run_combos({"a": range(1, 4), "b": [1, 2, 3]}, constants={"c": 3})
    assert ds["sum"].shape == (3, 3) and r.last_ds is ds
    ds = r.run_cases([(1, 2, 3), (4, 5, 6)])
    assert float(ds["prod"].sel(a=4, b=5, c=6)) == 120

    h = xyz.Harvester(r, data_name=str(tmp_path / "foo.nc"))
    h.harvest_combos({"a": [1, 2], "b": [1]}, constants={"c": 0})
    h.harvest_combos({"a": [3], "b": [1]}, constants={"c": 0}, overwrite=None)
    h.harvest_cases([(5, 5)], fn_args=["a", "b"], constants={"c": 0}, overwrite=True)
    assert float(h.full_ds["sum"].sel(a=3, b=1)) == 4
    assert float(h.full_ds["prod"].sel(a=5, b=5)) == 0
    assert h.last_ds.a.values.tolist() == [5]
    h.delete_ds(backup=False)

    s = xyz.Sampler(r, data_name=str(tmp_path / "foo.pkl"))
    df = s.sample_combos(5, combos={"a": [1, 2], "b": [3], "c": [4]})
    assert len(df) == 5 and len(s.full_df) == 5 and s.last_df is df


def test_label_decorator_by_keyword(tmp_path):
    @xyz.label(var_names=["x", "high"], var_dims={"x": "t"},
               constants={"t": np.arange(3)})  # fmt: skip
    def sig(f, t):
        return signal(f, t)

    ds = sig.run_combos({"f": [1.0, 3.0]})
    assert ds.x.dims == ("f", "t")

    @xyz.label(var_names="y", harvester=str(tmp_path / "y.nc"))
    def double(x):
        return 2 * x

    double.harvest_combos({"x": [1, 2]})
    assert double.full_ds.y.values.tolist() == [2, 4]

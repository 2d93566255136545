"""Runner and the runner functions: every output kind, labelled as xyzpy does."""

from __future__ import annotations

import datetime
import json
import os

import numpy as np
import pytest
import xarray as xr

import xsweep
from xsweep import Runner, case_runner_to_ds, combo_runner_to_ds, label
from xsweep.errors import (
    ComboFailedError,
    FunctionSignatureError,
    InvalidCombosError,
    OutputMismatchError,
)
from xsweep.netcdf import load_dataset, save_dataset

COMBOS = {"a": [1, 2, 3], "b": [0.5, 1.5]}


def scalar(a, b):
    return a * b


def several(a, b):
    return a + b, a - b, a > b


def as_dict(a, b):
    return {"sum": a + b, "prod": a * b}


def spectrum(a, b, t, note=""):
    return np.cos(a * t) * b, complex(a, b)


def labelled(a, b):
    return xr.Dataset(
        {"y": ("k", np.array([a, b, a * b])), "z": a + 1j * b},
        coords={"k": ["u", "v", "w"]},
    )


def fails_at_2(a, b):
    if a == 2:
        raise ValueError(f"bad a={a}")
    return a > b


def uses_resource(a, b, big):
    return a * b + big.sum()


def test_scalar_output_labelled_by_combos():
    ds = combo_runner_to_ds(scalar, COMBOS, var_names="x")
    assert ds.x.dims == ("a", "b")
    assert ds.a.values.tolist() == [1, 2, 3]
    np.testing.assert_allclose(ds.x.sel(a=3, b=1.5), 4.5)


def test_several_outputs_keep_their_dtypes():
    ds = combo_runner_to_ds(several, COMBOS, var_names=["s", "d", "gt"])
    assert ds.s.dtype == float and ds.gt.dtype == bool
    assert bool(ds.gt.sel(a=1, b=0.5)) and not bool(ds.gt.sel(a=1, b=1.5))


def test_dict_outputs_by_name():
    ds = combo_runner_to_ds(as_dict, COMBOS, var_names=["prod", "sum"])
    assert float(ds["sum"].sel(a=2, b=0.5)) == 2.5
    assert float(ds["prod"].sel(a=2, b=0.5)) == 1.0


def test_internal_dims_from_constants_become_coords():
    t = np.linspace(0, 1, 5)
    ds = combo_runner_to_ds(
        spectrum,
        COMBOS,
        var_names=["s", "c"],
        var_dims={"s": "t"},
        constants={"t": t, "note": "hi"},
    )
    assert ds.s.dims == ("a", "b", "t")
    np.testing.assert_array_equal(ds.t.values, t)
    assert ds.attrs["note"] == "hi" and "t" not in ds.attrs
    assert ds.c.dtype == complex
    np.testing.assert_allclose(ds.s.sel(a=2, b=1.5), np.cos(2 * t) * 1.5)


def test_var_coords_label_internal_dims():
    ds = combo_runner_to_ds(
        spectrum,
        COMBOS,
        var_names=["s", "c"],
        var_dims={"s": ["t"]},
        var_coords={"t": [10, 20, 30]},
        constants={"t": np.arange(3)},
    )
    assert ds.t.values.tolist() == [10, 20, 30]


def test_functions_returning_datasets_need_no_var_names():
    ds = combo_runner_to_ds(labelled, COMBOS, var_names=None)
    assert ds.y.dims == ("a", "b", "k")
    assert ds.k.values.tolist() == ["u", "v", "w"]
    assert complex(ds.z.sel(a=3, b=0.5)) == 3 + 0.5j


def test_constants_saved_resources_not():
    runner = Runner(
        uses_resource,
        "x",
        constants={},
        resources={"big": np.ones(10)},
        attrs={"who": "me"},
    )
    ds = runner.run_combos(COMBOS)
    assert float(ds.x.sel(a=1, b=0.5)) == 10.5
    assert "big" not in ds.attrs and ds.attrs["who"] == "me"


def test_provenance_attrs():
    ds = combo_runner_to_ds(scalar, COMBOS, var_names="x")
    assert xsweep.provenance(ds)["xsweep_version"] == xsweep.__version__
    assert xsweep.provenance(ds)["xsweep_function"] == f"{__name__}.scalar"
    start = datetime.datetime.fromisoformat(xsweep.provenance(ds)["xsweep_run_start"])
    end = datetime.datetime.fromisoformat(xsweep.provenance(ds)["xsweep_run_end"])
    assert start.utcoffset() == datetime.timedelta(0) and start <= end


def test_first_failure_raises_with_combo_and_cause():
    with pytest.raises(ComboFailedError, match=r"'a': 2") as info:
        combo_runner_to_ds(fails_at_2, COMBOS, var_names="ok")
    assert isinstance(info.value.__cause__, ValueError)


def test_recorded_failures_survive_netcdf(tmp_path):
    ds = combo_runner_to_ds(fails_at_2, COMBOS, var_names="ok", on_error="record")
    # booleans with failures: float64, 1.0 true, 0.0 false, NaN failed
    assert ds.ok.dtype == np.float64
    assert ds.ok.sel(a=2).isnull().all() and float(ds.ok.sel(a=3, b=0.5)) == 1.0
    save_dataset(ds, tmp_path / "f.nc")
    back = load_dataset(tmp_path / "f.nc")
    xr.testing.assert_identical(back, ds)
    records = json.loads(back.attrs["xsweep_failures"])
    assert sorted(r["combo"]["b"] for r in records) == [0.5, 1.5]
    assert records[0]["exc_type"] == "ValueError" and "bad a=2" in records[0]["message"]
    assert "Traceback" in records[0]["traceback"]


def test_all_output_kinds_round_trip_netcdf(tmp_path):
    t = np.linspace(0, 1, 4)
    datasets = [
        combo_runner_to_ds(several, COMBOS, var_names=["s", "d", "gt"]),
        combo_runner_to_ds(
            spectrum, COMBOS, ["s", "c"], var_dims={"s": "t"}, constants={"t": t}
        ),
        combo_runner_to_ds(labelled, COMBOS, var_names=None),
        combo_runner_to_ds(as_dict, COMBOS, var_names=["sum", "prod"]),
    ]
    for i, ds in enumerate(datasets):
        save_dataset(ds, tmp_path / f"{i}.nc")
        xr.testing.assert_identical(load_dataset(tmp_path / f"{i}.nc"), ds)


def test_cases_laid_out_on_covering_grid():
    ds = case_runner_to_ds(scalar, ["a", "b"], [(1, 0.5), (3, 1.5)], var_names="x")
    assert ds.a.values.tolist() == [1, 3] and ds.b.values.tolist() == [0.5, 1.5]
    assert float(ds.x.sel(a=3, b=1.5)) == 4.5 and ds.x.sel(a=1, b=1.5).isnull()


def test_runner_run_cases_with_dicts_and_run_constants():
    runner = Runner(spectrum, ["s", "c"], var_dims={"s": "t"}, constants={"t": [0.0]})
    ds = runner.run_cases([{"a": 1, "b": 2.0}], constants={"t": [0.0, 1.0]})
    assert ds.t.values.tolist() == [0.0, 1.0]
    assert runner.last_ds is ds and runner.constants == {"t": [0.0]}


def test_num_workers_equals_sequential():
    runner = Runner(several, ["s", "d", "gt"])
    combos = {"a": range(40), "b": np.linspace(0, 1, 25)}
    sequential = runner.run_combos(combos)
    parallel = runner.run_combos(combos, num_workers=2, in_process_below=0)
    xr.testing.assert_identical(parallel.drop_attrs(), sequential.drop_attrs())


def test_label_decorator_makes_runner_harvester_sampler(tmp_path):
    runner = label(var_names="x")(scalar)
    assert isinstance(runner, Runner) and runner(2, 3) == 6
    harvester = label("x", harvester=str(tmp_path / "h.nc"))(scalar)
    assert isinstance(harvester, xsweep.Harvester)
    sampler = label("x", sampler=str(tmp_path / "s.pkl"))(scalar)
    assert isinstance(sampler, xsweep.Sampler)


# ---------------------------------------------------------------- bad input --


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"var_names": ["s", "c"], "var_dims": {"s": "a"}},
            InvalidCombosError,
            "also a combo dimension",
        ),
        (
            {"var_names": ["s", "c"], "var_dims": {"zz": "t"}},
            InvalidCombosError,
            "'zz', which is not in var_names",
        ),
        (
            {"var_names": ["s", "c"], "var_dims": {"s": "t"}, "var_coords": {"t": [1]}},
            OutputMismatchError,
            "'t'",
        ),
        ({"var_names": ["s", "c", "d"]}, OutputMismatchError, "returned 2 values"),
        ({"var_names": "s", "var_dims": "t"}, OutputMismatchError, "internal dim"),
        ({"var_names": ["s", "c"], "colour": 1}, TypeError, "unknown run setting"),
        (
            {"var_names": ["s", "c"], "var_coords": {"a": [1, 2, 3]}},
            InvalidCombosError,
            r"var_coords gives values for \['a'\], which are combo dimensions",
        ),
        (
            {"var_names": ["s", "c"], "var_dims": {"s": "t"}, "constants": {"t": 2}},
            InvalidCombosError,
            r"internal dimension 't' \(of output 's'\) must be 1-D",
        ),
    ],
)
def test_bad_labels_give_clear_errors(kwargs, error, match):
    kwargs.setdefault("constants", {"t": np.arange(4)})
    with pytest.raises(error, match=match):
        combo_runner_to_ds(spectrum, COMBOS, **kwargs)


def test_bad_combos_and_arguments_fail_before_running():
    with pytest.raises(InvalidCombosError, match="twice"):
        combo_runner_to_ds(scalar, {"a": [1, 1], "b": [0]}, var_names="x")
    with pytest.raises(FunctionSignatureError, match="'c'"):
        combo_runner_to_ds(scalar, {"a": [1], "b": [0], "c": [1]}, var_names="x")
    with pytest.raises(InvalidCombosError, match="fn_args"):
        Runner(scalar, "x").run_cases([(1, 2)])


def test_parallel_results_come_from_workers():
    ds = combo_runner_to_ds(
        worker_pid, {"i": range(20)}, "pid", num_workers=2, in_process_below=0
    )
    assert set(np.unique(ds.pid.values)) - {os.getpid()}


def worker_pid(i):
    return os.getpid()


def always_fails(a, b):
    raise KeyError(a)


def test_every_combo_failing_still_gives_a_dataset_with_failures():
    for var_names in (None, "x"):
        ds = combo_runner_to_ds(
            always_fails, COMBOS, var_names=var_names, on_error="record"
        )
        assert ds.a.values.tolist() == [1, 2, 3]
        assert len(json.loads(ds.attrs["xsweep_failures"])) == 6
        assert all(ds[v].isnull().all() for v in ds.data_vars)

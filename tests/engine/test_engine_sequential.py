import os
import tracemalloc

import numpy as np
import pytest

from xsweep.combos import parse_cases, parse_combos
from xsweep.engine import Block, Failure, OutputBuffer, compute_block, run
from xsweep.errors import ComboFailedError


def add(x, y, c=0.0):
    return x + y + c


def test_scalar_results_fill_a_float_array_in_c_order():
    xs, ys = np.linspace(0, 1, 7), np.arange(5)
    buffer = run(add, {"x": xs, "y": ys}, constants={"c": 10.0}, var_names="z")
    z = buffer.arrays["z"]
    assert z.dtype == np.float64
    np.testing.assert_array_equal(z, xs[:, None] + ys[None, :] + 10.0)
    assert buffer.missing == [] and buffer.failures == []


def test_resources_reach_the_function():
    buffer = run(add, {"x": [1, 2]}, constants={"y": 3}, resources={"c": 100})
    assert buffer.result.tolist() == [104, 105]


def test_cases_run_in_order():
    cases = parse_cases(["x", "y"], [(1, 2), (10, 20), (5, 5)])
    assert run(add, cases).result.tolist() == [3, 30, 10]


def test_several_outputs_keep_their_own_dtypes():
    def fn(x):
        return x, x * 0.5, x * 1j, x > 1, f"s{x}"

    names = ["i", "f", "c", "b", "s"]
    arrays = run(fn, {"x": [1, 2, 3]}, var_names=names).arrays
    assert [arrays[n].dtype.kind for n in names] == ["i", "f", "c", "b", "U"]
    assert arrays["s"].tolist() == ["s1", "s2", "s3"]


def test_array_outputs_get_internal_dimensions():
    def fn(x):
        return np.arange(4) * x, x

    buffer = run(
        fn,
        {"x": [1, 2, 3]},
        var_names=["a", "b"],
        var_dims={"a": "t"},
        var_coords={"t": [0, 1, 2, 3]},
    )
    assert buffer.arrays["a"].shape == (3, 4)
    np.testing.assert_array_equal(buffer.arrays["a"][2], [0, 3, 6, 9])


def test_dict_results_map_to_var_names():
    buffer = run(lambda x: {"b": -x, "a": x}, {"x": [1, 2]}, var_names=["a", "b"])
    assert buffer.arrays["a"].tolist() == [1, 2]
    assert buffer.arrays["b"].tolist() == [-1, -2]


def test_objects_are_kept_as_they_are_without_var_names():
    results = run(lambda x: {"x": x}, {"x": [1, 2]}).result
    assert results.dtype == object
    assert results.tolist() == [{"x": 1}, {"x": 2}]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1, 2, 2.5], "f"),  # int then float
        ([1.0, 2.0, 1j], "c"),  # real then complex
        ([True, 2, 3], "i"),  # bool then int
        (["a", "bb", "cccccc"], "U"),  # strings that get longer
    ],
)
def test_later_results_upgrade_the_dtype_instead_of_truncating(values, kind):
    n = 40_000  # several chunks, the odd value in the last one
    values = [values[0]] * (n - 2) + values[1:]
    buffer = run(lambda i: values[i], {"i": range(n)}, var_names="v")
    out = buffer.arrays["v"]
    assert out.dtype.kind == kind
    assert out[-2:].tolist() == values[-2:]


def test_numbers_and_strings_become_objects_not_strings():
    buffer = run(lambda i: [1.5, "x"][i], {"i": [0, 1]}, var_names="v")
    assert buffer.arrays["v"].tolist() == [1.5, "x"]


def boom(x, y):
    if x == 2:
        raise ValueError(f"x={x} is bad")
    return x * y


def test_raise_names_the_combo_and_chains_the_original():
    with pytest.raises(ComboFailedError) as info:
        run(boom, {"x": [1, 2, 3], "y": [10, 20]})
    message = str(info.value)
    assert "{'x': 2, 'y': 10}" in message and "ValueError: x=2 is bad" in message
    assert isinstance(info.value.__cause__, ValueError)


def test_record_keeps_going_and_keeps_completed_work():
    buffer = run(boom, {"x": [1, 2, 3], "y": [10, 20]}, on_error="record")
    out = buffer.result
    assert out.dtype == np.float64  # ints with missing entries become float
    np.testing.assert_array_equal(out, [[10, 20], [np.nan, np.nan], [30, 60]])
    assert buffer.missing == [2, 3]
    first = buffer.failures[0]
    assert isinstance(first, Failure)
    assert (first.index, first.combo, first.exc_type) == (
        2,
        {"x": 2, "y": 10},
        "ValueError",
    )
    assert first.message == "x=2 is bad" and "in boom" in first.traceback
    assert first.pid == os.getpid() and first.duration >= 0 and first.start > 1e9


def test_compute_block_runs_a_range_and_records():
    grid = parse_combos({"x": [1, 2, 3], "y": [10, 20]})
    block = compute_block(boom, grid, 1, 5, on_error="record")
    assert isinstance(block, Block) and (block.start, block.stop) == (1, 5)
    assert block.values == [20, None, None, 30]
    assert [f.index for f in block.failures] == [2, 3]
    buffer = OutputBuffer(grid, var_names="z")
    buffer.put_block(block.start, block)
    assert buffer.missing == [0, 2, 3, 5]
    with pytest.raises(ComboFailedError, match="flat index 2 of 6"):
        compute_block(boom, grid, 0, 6)


def test_names_that_are_not_identifiers_go_through_kwargs():
    def fn(**kwargs):
        return kwargs["a b"] + kwargs["class"]

    buffer = run(fn, {"a b": [1, 2], "class": [10]})
    assert buffer.result.tolist() == [[11], [12]]


def test_a_grid_without_dimensions_calls_once():
    assert run(lambda: 7, {}).result.tolist() == 7


def test_memory_stays_near_the_output_size():
    n = 200_000
    tracemalloc.start()
    try:
        buffer = run(add, {"x": range(n // 100), "y": range(100)}, var_names="z")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    output = buffer.arrays["z"].nbytes
    assert output == 8 * n
    assert peak < 3 * output + 1_000_000


def test_ragged_results_without_var_names_become_objects():
    result = run(lambda x: np.ones(x + 1), {"x": range(4)}).result
    assert result.dtype == object and result.shape == (4,)
    assert [len(r) for r in result] == [1, 2, 3, 4]

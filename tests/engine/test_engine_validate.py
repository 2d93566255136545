import threading

import numpy as np
import pytest

from xsweep.engine import OutputBuffer, run
from xsweep.errors import (
    FunctionSignatureError,
    InvalidCombosError,
    NotPicklableError,
    OutputMismatchError,
)


def fn_xy(x, y):
    return x + y


def test_missing_argument_is_named():
    with pytest.raises(FunctionSignatureError, match=r"needs argument\(s\) \['y'\]"):
        run(fn_xy, {"x": [1]})


def test_unknown_argument_is_named_with_the_fix():
    with pytest.raises(FunctionSignatureError, match=r"\['z'\] given in constants"):
        run(fn_xy, {"x": [1], "y": [2]}, constants={"z": 1})


def test_kwargs_accept_anything():
    assert run(lambda x, **kw: x + kw["z"], {"x": [1]}, constants={"z": 1}).result == [
        2
    ]


def test_positional_only_arguments_are_refused():
    def fn(x, /):
        return x

    with pytest.raises(FunctionSignatureError, match="positional-only"):
        run(fn, {"x": [1]})


def test_a_name_in_combos_and_constants_is_an_error():
    with pytest.raises(InvalidCombosError, match="'y' is given both"):
        run(fn_xy, {"x": [1], "y": [2]}, constants={"y": 3})


def test_output_count_mismatch_on_first_result():
    calls = []

    def fn(x):
        calls.append(x)
        return x, x

    with pytest.raises(OutputMismatchError, match="returned 2 values per combo but"):
        run(fn, {"x": range(1000)}, var_names=["a", "b", "c"])
    assert calls == [0]  # checked on the very first result


def test_single_value_for_several_names():
    with pytest.raises(OutputMismatchError, match="must return a tuple of 2"):
        run(lambda x: x, {"x": [1]}, var_names=["a", "b"])


def test_dims_mismatch_on_first_result():
    with pytest.raises(OutputMismatchError, match="1 internal dimension"):
        run(
            lambda x: np.ones(3),
            {"x": [1, 2]},
            var_names="a",
            var_dims={"a": ["t", "u"]},
            var_coords={"t": [1, 2, 3], "u": [1]},
        )


def test_var_dims_without_coordinates_are_sized_by_the_results():
    # as in xyzpy: a dimension with no values given is labelled 0..n-1
    buffer = run(lambda x: np.ones(3) * x, {"x": [1, 2]}, var_names="a",
                 var_dims={"a": ["t"]})  # fmt: skip
    assert buffer.arrays["a"].shape == (2, 3)
    empty = OutputBuffer((2,), var_names="a", var_dims={"a": ["t"]})
    with pytest.raises(OutputMismatchError, match="nothing tells the length"):
        empty.arrays  # noqa: B018
    with pytest.raises(OutputMismatchError, match="not in var_names"):
        OutputBuffer((2,), var_names="a", var_dims={"b": ["t"]}, var_coords={"t": [1]})


def test_coordinate_length_mismatch():
    with pytest.raises(OutputMismatchError, match="has 3 values along 't'"):
        run(
            lambda x: np.ones(3),
            {"x": [1]},
            var_names="a",
            var_dims={"a": "t"},
            var_coords={"t": [1, 2]},
        )


def test_unpicklable_function_for_process_workers_says_how_to_fix(monkeypatch):
    lock = threading.Lock()

    def fn(x):
        with lock:
            return x

    monkeypatch.setenv("XSWEEP_FORK_WORKERS", "0")  # workers that unpickle it
    with pytest.raises(NotPicklableError, match="define the function at module level"):
        run(fn, {"x": range(10)}, num_workers=2, in_process_below=0)


def test_messages_show_combo_values_as_plain_python():
    # a new user's finding: {'i': np.int64(7), 'j': 0}
    import numpy as np

    from xsweep.engine import run
    from xsweep.errors import ComboFailedError

    def bad(i, j):
        raise ValueError("no")

    with pytest.raises(ComboFailedError) as info:
        run(bad, {"i": np.arange(3, 9), "j": [0]})
    assert "combo {'i': 3, 'j': 0}" in str(info.value)
    recorded = run(bad, {"i": np.arange(3, 5), "j": [0]}, on_error="record")
    assert recorded.failures[0].describe().startswith("combo {'i': 3, 'j': 0} raised")

import itertools
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xsweep.combos import Cases, Grid, check_names_disjoint, parse_cases, parse_combos
from xsweep.errors import InvalidCombosError

# a few dimensions of distinct values
dims = st.lists(
    st.lists(st.integers(-50, 50), min_size=1, max_size=5, unique=True),
    min_size=0,
    max_size=4,
)


def grid_of(value_lists):
    return Grid([f"d{i}" for i in range(len(value_lists))], value_lists)


@settings(max_examples=60, deadline=None)
@given(dims)
def test_flat_index_round_trips_in_c_order(value_lists):
    grid = grid_of(value_lists)
    expected = list(itertools.product(*value_lists))
    assert grid.size == len(expected) == math.prod(grid.shape)
    for i, args in enumerate(expected):
        assert grid.args(i) == args
        assert grid.combo(i) == dict(zip(grid.names, args, strict=False))
        assert grid.flat_index(grid.multi_index(i)) == i
        assert np.ravel_multi_index(grid.multi_index(i), grid.shape) == i


@settings(max_examples=80, deadline=None)
@given(dims, st.data())
def test_iter_range_matches_slice_of_product(value_lists, data):
    grid = grid_of(value_lists)
    start = data.draw(st.integers(0, grid.size))
    stop = data.draw(st.integers(start, grid.size + 2))
    expected = list(itertools.product(*value_lists))[start:stop]
    assert list(grid.iter_range(start, stop)) == expected


def test_iter_range_streams_huge_grids():
    grid = parse_combos({"a": range(1000), "b": range(1000), "c": range(1000)})
    assert grid.size == 10**9
    it = grid.iter_range(123_456_789, 10**9)
    assert next(it) == grid.args(123_456_789) == (123, 456, 789)
    assert next(it) == (123, 456, 790)


def test_parse_accepts_dict_pairs_arrays_and_ranges():
    grid = parse_combos([("x", np.array([0.5, 1.5])), ("y", range(3))])
    assert grid.names == ("x", "y")
    assert grid.shape == (2, 3)
    assert parse_combos({"x": [1], "y": ["a"]}).size == 1
    assert parse_combos(grid) is grid


@pytest.mark.parametrize(
    ("combos", "words"),
    [
        ({"x": 3}, ["'x'", "sequence", "[3]"]),
        ({"x": "abc"}, ["'x'", "sequence"]),
        ({"x": []}, ["'x'", "no values"]),
        ({"x": np.zeros((2, 2))}, ["'x'", "1-D"]),
        ([("x", [1]), ("x", [2])], ["'x'", "more than once"]),
        ([("x", [1], 2)], ["(name, values) pairs"]),
    ],
)
def test_bad_combos_say_what_is_wrong(combos, words):
    with pytest.raises(InvalidCombosError) as info:
        parse_combos(combos)
    for word in words:
        assert word in str(info.value)


def test_duplicate_value_names_dimension_and_value():
    with pytest.raises(InvalidCombosError, match=r"'beta' has the value 0\.5 twice"):
        parse_combos({"alpha": [1, 2], "beta": [0.25, 0.5, 0.5]})


def test_cases_map_indices_and_stream():
    cases = parse_cases(["a", "b"], [(1, 2), (3, 4), (5, 6)])
    assert cases.shape == (3,) and cases.size == 3
    assert cases.combo(1) == {"a": 3, "b": 4}
    assert list(cases.iter_range(1, 5)) == [(3, 4), (5, 6)]
    single = parse_cases("a", [1, 2])
    assert single.combo(1) == {"a": 2}


def test_bad_cases_are_rejected():
    with pytest.raises(InvalidCombosError, match="case 1"):
        Cases(["a", "b"], [(1, 2), (3,)])
    with pytest.raises(InvalidCombosError, match="twice"):
        parse_cases(["a"], [(1,), (1,)])


def test_names_in_two_places_are_an_error():
    check_names_disjoint(combos=["x"], constants={"y": 1}, resources=None)
    with pytest.raises(InvalidCombosError, match="'y' is given both in combos"):
        check_names_disjoint(combos=["x", "y"], constants={"y": 1})


names = st.text(alphabet="abcxyz_", min_size=1, max_size=4)
values = st.one_of(
    st.lists(st.integers(), min_size=1, max_size=6),
    st.lists(st.floats(allow_nan=False), min_size=1, max_size=6),
    st.lists(st.text(max_size=3), min_size=1, max_size=6),
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(names, values, max_size=4))
def test_parsing_dicts_and_pairs_agree_and_catch_every_duplicate(spec):
    duplicated = [n for n, v in spec.items() if len(set(v)) != len(v)]
    if duplicated:
        with pytest.raises(InvalidCombosError, match=repr(duplicated[0])):
            parse_combos(spec)
        return
    grid = parse_combos(spec)
    assert grid == parse_combos(list(spec.items()))
    assert grid.names == tuple(spec)
    assert grid.shape == tuple(len(v) for v in spec.values())
    assert [list(v) for v in grid.values] == list(spec.values())


def test_grids_pickle_numpy_values_compactly():
    grid = parse_combos({"x": np.linspace(0, 1, 10_000), "s": ["a", "b"]})
    data = pickle.dumps(grid)
    assert len(data) < 8 * 10_000 + 1_000
    again = pickle.loads(data)
    assert again == grid and again.combo(3) == grid.combo(3)
    assert type(again.values[0][0]) is np.float64

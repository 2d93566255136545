"""A Block pickles its numeric and string columns as raw bytes: losslessly."""

import pickle

import numpy as np
import pytest

from xsweep.engine.block import Block, build_block

COLUMNS = {
    "float 2-D": np.arange(6.0).reshape(3, 2),
    "unicode": np.array(["a", "bb", "c"]),
    "bytes": np.array([b"a", b"bb", b"c"]),
    "complex": np.array([1 + 2j, 3, 4]),
    "datetime": np.array(["2020-01-01", "2021-06-30", "1999-12-31"], dtype="M8[ns]"),
    "timedelta": np.array([1, 2, 3], dtype="m8[s]"),
    "bool": np.array([True, False, True]),
    "big-endian": np.array([1, 2, 3], dtype=">i4"),
    "fortran order": np.asfortranarray(np.arange(6).reshape(3, 2)),
    "strided view": np.arange(12)[::4],
    "object": np.array([{"a": 1}, None, 3], dtype=object),
    "structured": np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]),
}


@pytest.mark.parametrize("name", COLUMNS)
def test_a_block_round_trips_through_pickle_unchanged_and_writable(name):
    column = COLUMNS[name]
    block = Block(10, 13, "scalar", [column], (1,), [], 0.25)
    back = pickle.loads(pickle.dumps(block, protocol=pickle.HIGHEST_PROTOCOL))
    (got,) = back.columns
    assert (back.start, back.stop, back.kind, back.failed, back.duration) == (
        10, 13, "scalar", (1,), 0.25,
    )  # fmt: skip
    assert got.dtype == column.dtype and got.shape == column.shape
    assert got.tolist() == column.tolist()
    got[0] = got[1]  # writable, like any unpickled array
    assert got.tolist()[0] == column.tolist()[1]


def test_a_block_of_tuples_keeps_every_column():
    block = build_block([(1, "a", 2.5), (2, "b", 3.5)], start=0)
    back = pickle.loads(pickle.dumps(block))
    assert back.kind == "tuple" and back.values == [(1, "a", 2.5), (2, "b", 3.5)]

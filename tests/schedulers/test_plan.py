"""Which array task grows which batch (pure; no scheduler needed)."""

from __future__ import annotations

import pytest

from xsweep.errors import SchedulerError
from xsweep.schedulers.plan import as_range, compress_ranges, make_plan


def plan(batch_ids, missing, **kw):
    kw.setdefault("index_base", 0)
    kw.setdefault("direct_ok", lambda ids: True)
    kw.setdefault("max_index", 1000)
    return make_plan(batch_ids, missing, **kw)


def test_only_missing_batches_are_planned():
    p = plan([1, 2, 3, 4], missing=[2, 4, 5])
    assert p.shape == "direct" and p.batch_ids == (2, 4) and p.indices == (2, 4)


def test_nothing_missing_is_an_error_not_an_empty_job():
    with pytest.raises(SchedulerError, match="nothing to submit"):
        plan([1, 2], missing=[3])


@pytest.mark.parametrize("bad", [0, -1, 1.5, "x", True])
def test_bad_batch_ids_are_refused(bad):
    with pytest.raises(SchedulerError, match="batch id"):
        plan([bad], missing=[1])


def test_ids_a_scheduler_cannot_index_are_mapped_from_its_base():
    p = plan(None, [3, 7, 9], index_base=1, direct_ok=lambda ids: False)
    assert p.shape == "mapped" and p.indices == (1, 2, 3) and p.batch_ids == (3, 7, 9)


def test_too_large_array_of_all_missing_switches_to_pull():
    p = plan(None, list(range(1, 10001)), max_index=1000)
    assert p.shape == "pull" and p.num_tasks == 1001 and p.indices == tuple(range(1001))


def test_too_large_explicit_list_is_split_over_the_largest_array():
    ids = list(range(1, 5001))
    p = plan(ids, ids, index_base=1, max_index=1000)
    assert p.shape == "mapped" and p.num_tasks == 1000
    assert p.indices == tuple(range(1, 1001))


def test_ids_above_the_index_limit_are_mapped():
    p = plan([2000, 2001], [2000, 2001], max_index=1000)
    assert p.shape == "mapped" and p.indices == (0, 1)


def test_pull_mode_with_num_tasks():
    p = plan(None, list(range(1, 10001)), num_tasks=50)
    assert p.shape == "pull" and p.num_tasks == 50 and p.batch_ids == ()
    # never more tasks than batches
    assert plan(None, [1, 2], num_tasks=50).num_tasks == 2


def test_single_mode():
    assert plan(None, [1, 2], mode="single").shape == "pull"
    p = plan([2], [1, 2], mode="single")
    assert p.shape == "listed" and p.batch_ids == (2,) and p.indices == ()
    with pytest.raises(SchedulerError, match="mode"):
        plan(None, [1], mode="batch")


def test_ranges():
    assert compress_ranges([9, 1, 2, 3, 7, 10]) == ["1-3", "7", "9-10"]
    assert as_range([4, 6, 8]) == (4, 8, 2)
    assert as_range([4, 6, 9]) is None
    assert as_range([5]) == (5, 5, 1)

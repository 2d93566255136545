"""Sowing again a crop that was reaped never deletes its reaped results."""

from __future__ import annotations

import numpy as np

import xsweep


def square(x):
    return x * x


def test_sowing_a_reaped_crop_again_sets_its_reaped_file_aside(tmp_path, capsys):
    runner = xsweep.Runner(square, var_names="y")
    crop = runner.Crop(name="sq", parent_dir=str(tmp_path))
    crop.sow_combos({"x": [1, 2, 3]})
    crop.grow_missing()
    first = crop.reap()
    assert crop.layout.reaped_dataset.exists()
    capsys.readouterr()

    summary = crop.sow_combos({"x": [0, 1, 2, 3]})  # extend after reaping
    assert not crop.layout.reaped_dataset.exists()
    assert len(summary.set_aside) == 1
    assert summary.set_aside[0] in capsys.readouterr().out
    earlier = xsweep.load_ds(summary.set_aside[0])
    assert earlier.identical(first)

    crop.grow_missing()
    second = crop.reap()
    np.testing.assert_array_equal(second["y"].values, [0, 1, 4, 9])
    # reaping (which cleans the crop up) keeps the earlier file too
    assert xsweep.load_ds(summary.set_aside[0]).identical(first)

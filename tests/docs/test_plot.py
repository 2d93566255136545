"""``xsweep.plot``: a quick look at a swept dataset along chosen dimensions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import xsweep  # noqa: E402
from xsweep.plot import _choose_dims  # noqa: E402


@pytest.fixture
def sweep() -> xr.Dataset:
    t = np.linspace(0, 2, 50)
    omega = [1.0, 2.0, 3.0]
    damping = [0.1, 0.5]
    T, W, D = np.meshgrid(t, omega, damping, indexing="ij")
    return xr.Dataset(
        {
            "x": (("t", "omega", "damping"), np.exp(-D * T) * np.cos(W * T)),
            "ok": (("t", "omega", "damping"), T < 1),
        },
        coords={"t": t, "omega": omega, "damping": damping},
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_defaults_put_longest_numeric_dim_on_x_then_hue_then_col(sweep):
    roles = _choose_dims(sweep["x"], x=None, y=None, hue=None, col=None, row=None)
    assert roles == {"x": "t", "hue": "omega", "col": "damping"}


def test_plot_saves_a_png_with_one_panel_per_col_and_a_line_per_hue(tmp_path, sweep):
    fig = xsweep.plot(sweep, "x", x="t", hue="omega", col="damping")
    path = tmp_path / "sweep.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = plt.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 200
    assert image[..., :3].std() > 0.05  # not a blank canvas
    panels = [ax for ax in fig.axes if ax.lines]
    assert len(panels) == 2
    assert all(len(ax.lines) == 3 for ax in panels)
    np.testing.assert_allclose(
        panels[0].lines[1].get_ydata(), sweep["x"].sel(omega=2.0, damping=0.1)
    )


def test_leftover_dims_are_fixed_at_their_first_value(sweep):
    fig = xsweep.plot(sweep, x="t", hue=False, col=False)
    (ax,) = fig.axes
    np.testing.assert_allclose(
        ax.lines[0].get_ydata(), sweep["x"].isel(omega=0, damping=0)
    )
    assert "omega" in ax.get_title() and "damping" in ax.get_title()


def test_y_draws_a_colour_map_and_select_fixes_values(sweep):
    fig = xsweep.plot(sweep["x"], x="t", y="omega", select={"damping": 0.5})
    mesh = fig.axes[0].collections[0]
    np.testing.assert_allclose(
        np.asarray(mesh.get_array()).ravel(),
        sweep["x"].sel(damping=0.5).transpose("omega", "t").values.ravel(),
    )


def test_booleans_and_complex_values_are_plottable(sweep):
    assert xsweep.plot(sweep, "ok", x="t").axes
    z = (sweep["x"] * (1 + 1j)).rename("z")
    fig = xsweep.plot(z, x="t", hue="omega", col=False)
    np.testing.assert_allclose(
        fig.axes[0].lines[0].get_ydata(),
        np.abs(z.isel(omega=0, damping=0)),
    )


def test_bad_names_say_what_exists(sweep):
    with pytest.raises(KeyError, match=r"no data variable 'y'.*\['x', 'ok'\]"):
        xsweep.plot(sweep, "y")
    with pytest.raises(ValueError, match="hue='beta' is not a dimension"):
        xsweep.plot(sweep, hue="beta")


def test_plot_is_callable_after_importing_the_submodule():
    code = (
        "import sys, xsweep, xsweep.plot; "
        "assert 'matplotlib' not in sys.modules; "
        "assert callable(xsweep.plot); print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"

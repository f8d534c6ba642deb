"""preview.figures: real matplotlib figures (Agg) and PNGs, in each theme's colours."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.colors import to_hex

from ckpt_widgets.preview import figures


def decode(data: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


# -- figure / png -------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "size"), [(1, (240, 320)), (4, (480, 960))])
def test_png_size(count, size):
    rng = np.random.default_rng(0)
    panels = [(f"v{i}", rng.standard_normal(50), rng.standard_normal(40)) for i in range(count)]
    data = figures.png(panels)
    assert data.startswith(b"\x89PNG")
    assert decode(data).shape[:2] == size


def test_more_panels_than_max_draws_max():
    panels = [(f"v{i}", np.arange(4.0), None) for i in range(9)]
    fig, shown = figures.figure(panels, max_panels=4)
    assert shown == 4
    assert sum(ax.get_visible() and ax.axison for ax in fig.axes) == 4
    assert decode(figures.png(panels, max_panels=4)).shape[:2] == (480, 960)


def test_same_bins_and_labels():
    fig, _ = figures.figure([("a/b", np.array([0.0, 1.0]), np.array([3.0, 4.0]))], bins=8)
    ax = fig.axes[0]
    ckpt, model = ax.patches
    assert ckpt.get_label() == "checkpoint" and model.get_label() == "model"
    assert np.array_equal(ckpt.get_data().edges, model.get_data().edges)
    assert ckpt.get_data().edges[0] == 0.0 and ckpt.get_data().edges[-1] == 4.0
    assert ax.get_title() == "a/b"


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
def test_bars_are_the_share_of_values_per_bin(dtype):
    rng = np.random.default_rng(7)
    stored = (rng.standard_normal(10_000) * 100).astype(dtype)
    current = (rng.standard_normal(3_000) * 50).astype(dtype)
    current[:3] = [np.nan, np.inf, 0] if dtype != "int16" else 0
    fig, _ = figures.figure([("v", stored, current)], bins=20)
    bars = {p.get_label(): p.get_data() for p in fig.axes[0].patches}
    edges = bars["checkpoint"].edges
    for side, values in (("checkpoint", stored), ("model", current)):
        finite = values[np.isfinite(values)]
        expected, _ = np.histogram(finite, edges)
        assert bars[side].values == pytest.approx(expected * 100 / finite.size)


def test_values_on_the_edges_fall_as_in_numpy():
    for values in (np.repeat(np.arange(11.0) / 10, 3), np.arange(-20, 21, dtype="float32")):
        fig, _ = figures.figure([("ties", values, None)], bins=10)  # values on (or next to) edges
        bars = fig.axes[0].patches[0].get_data()
        assert np.array_equal(bars.edges, np.linspace(values.min(), values.max(), 11))
        expected, _ = np.histogram(values, bars.edges)  # the same float64 edges
        assert np.rint(bars.values * values.size / 100).tolist() == expected.tolist()


@pytest.mark.parametrize(
    "panel",
    [
        ("constant", np.full(10, 2.5, "float32"), np.full((2, 2), 2.5)),
        ("empty", np.zeros(0), np.zeros((0, 4))),
        ("non-finite", np.array([np.nan, np.inf]), None),
        ("one side", None, np.ones(3)),
        ("nothing", None, None),
        ("int", np.arange(5, dtype="int64"), np.arange(3, dtype="int32")),
        ("huge", np.array([-1.7e308, 1.7e308]), None),
        ("wide float32", np.array([-3e38, 3e38], "float32"), np.zeros(2, "float32")),
        ("tiny float32", np.array([1e-40, 3e-40], "float32"), np.array([2e-40], "float32")),
    ],
    ids=lambda p: p[0],
)
def test_degenerate_panels_render(panel):
    assert figures.png([panel]).startswith(b"\x89PNG")


def test_no_panels():
    _, shown = figures.figure([])
    assert shown == 0
    assert figures.png([]).startswith(b"\x89PNG")


# -- theme, log scale, HiDPI --------------------------------------------------------------

DARK = {
    "foreground": "#dddddd",
    "background": "#111111",
    "checkpoint": "#42a5f5",
    "model": "#ffa726",
}


def test_a_dark_theme_draws_a_dark_image_not_a_white_rectangle():
    panels = [("a/kernel", np.arange(100.0), np.arange(50.0))]
    image = decode(figures.png(panels, theme=DARK))
    rgb = image[..., :3].astype(float) * (255 if image.dtype.kind == "f" else 1)
    assert (rgb.mean(axis=-1) > 200).mean() < 0.05  # hardly any near-white pixel
    light = decode(figures.png(panels))[..., :3].astype(float) * (
        255 if image.dtype.kind == "f" else 1
    )
    assert (light.mean(axis=-1) > 200).mean() > 0.5


def test_scale_2_doubles_the_pixels_for_hidpi():
    panels = [("v", np.arange(4.0), None)]
    assert decode(figures.png(panels, scale=2)).shape[:2] == (480, 640)


def test_log_counts_draw_a_log_axis():
    fig, _ = figures.figure([("v", np.arange(10.0), np.arange(5.0))], log=True)
    assert fig.axes[0].get_yscale() == "log"
    fig, _ = figures.figure([("v", np.arange(10.0), np.arange(5.0))])
    assert fig.axes[0].get_yscale() == "linear"


@pytest.mark.parametrize("theme", [None, DARK], ids=["light", "dark"])
def test_axes_labels_and_colours_follow_the_theme(theme):
    colours = figures.LIGHT if theme is None else DARK
    panels = [("dense/kernel", np.arange(6.0), np.arange(4.0)), ("dense/bias", np.ones(3), None)]
    fig, shown = figures.figure(panels, theme=theme, labels=("A", "B"))
    assert shown == 2 and len(fig.axes) == 2  # one row of two panels
    assert to_hex(fig.get_facecolor()) == colours["background"]
    first, second = fig.axes[:2]
    assert [ax.get_title() for ax in (first, second)] == ["dense/kernel", "dense/bias"]
    assert to_hex(first.title.get_color()) == colours["foreground"]
    assert to_hex(first.get_facecolor()) == colours["background"]
    assert {to_hex(s.get_edgecolor()) for s in first.spines.values()} == {colours["foreground"]}
    assert [p.get_label() for p in first.patches] == ["A", "B"]
    assert [to_hex(p.get_facecolor()) for p in first.patches] == [
        colours["checkpoint"],
        colours["model"],
    ]
    assert [t.get_text() for t in first.get_legend().get_texts()] == ["A", "B"]
    assert [p.get_label() for p in second.patches] == ["A"]


@pytest.mark.parametrize(
    ("theme", "message"),
    [
        ({**DARK, "model": "orange"}, "Theme colour 'model' must be '#rrggbb'"),
        ({**DARK, "extra": "#000000"}, "A theme maps exactly foreground, background"),
        (["#000000"], "A theme maps exactly"),
    ],
)
def test_check_theme_names_what_is_wrong(theme, message):
    assert figures.check_theme(None) == figures.LIGHT
    assert figures.check_theme(dict(DARK)) == DARK
    with pytest.raises(ValueError, match=message):
        figures.check_theme(theme)

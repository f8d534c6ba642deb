"""preview: summary statistics (stats), PNG rendering (figures) and the preview of a Match."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.preview import preview as pv
from ckpt_widgets.preview import stats as st
from tests import models
from tests.test_figures import DARK

KEYS = ["mean", "std", "min", "max", "zeros_pct", "nan", "inf", "l2"]


def decode(data: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


@pytest.fixture(scope="module")
def net_match(net_ckpt):
    prefix, _ = net_ckpt
    return cw.match(models.net(head_units=7, seed=3), prefix)


# -- summary ------------------------------------------------------------------------------


def test_summary_of_plain_values():
    s = st.summary(np.array([[1.0, -1.0], [3.0, 0.0]], "float32"))
    assert list(s) == KEYS
    assert s == pytest.approx(
        {
            "mean": 0.75,
            "std": math.sqrt(2.1875),
            "min": -1.0,
            "max": 3.0,
            "zeros_pct": 25.0,
            "nan": 0,
            "inf": 0,
            "l2": math.sqrt(11.0),
        }
    )


def test_summary_counts_nan_inf_and_uses_finite_values_only():
    values = np.array([np.nan, np.inf, -np.inf, 0.0, 0.0, 2.0, 4.0, np.nan])
    s = st.summary(values)
    assert s["nan"] == 2 and s["inf"] == 2
    assert s["zeros_pct"] == 25.0  # 2 zeros among 8 elements
    assert s["mean"] == 1.5 and s["min"] == 0.0 and s["max"] == 4.0
    assert s["std"] == pytest.approx(math.sqrt(2.75))  # of 0, 0, 2, 4
    assert s["l2"] == pytest.approx(math.sqrt(20.0))


@pytest.mark.parametrize(
    "values",
    [np.zeros((0, 3), "float32"), np.array([np.nan, np.inf]), np.array([], "int64")],
    ids=["empty", "all-non-finite", "empty-int"],
)
def test_summary_without_finite_values(values):
    s = st.summary(values)
    assert all(math.isnan(s[k]) for k in ("mean", "std", "min", "max"))
    assert s["l2"] == 0.0 and s["zeros_pct"] == 0.0
    assert s["nan"] + s["inf"] == values.size


@pytest.mark.parametrize("dtype", ["int32", "float16", "bfloat16"])
def test_summary_of_other_dtypes(dtype):
    if dtype == "bfloat16":  # numpy has no bfloat16; TensorFlow's arrays use ml_dtypes'
        dtype = pytest.importorskip("ml_dtypes").bfloat16
    values = np.array([1, 2, 3, 0], dtype)
    s = st.summary(values)
    assert s["mean"] == 1.5 and s["max"] == 3.0 and s["zeros_pct"] == 25.0
    assert s["l2"] == pytest.approx(math.sqrt(14.0))


def test_summary_of_a_large_array_is_exact():
    values = np.arange(3 * 2**20 + 7, dtype="float32")  # several float64 blocks
    s = st.summary(values)
    n = values.size
    assert s["mean"] == (n - 1) / 2 and s["zeros_pct"] == pytest.approx(100 / n)
    assert s["std"] == pytest.approx(math.sqrt((n * n - 1) / 12), rel=1e-12)


# -- compare ------------------------------------------------------------------------------


def test_compare_on_overlapping_shapes():
    stored = np.arange(6, dtype="float32").reshape(2, 3)
    current = np.zeros((3, 2), "float32")
    current[1, 0] = -10.0
    frame = st.compare(stored, current)
    assert list(frame.index) == ["checkpoint", "model"]
    assert list(frame.columns) == [*KEYS, "max_abs_diff"]
    # overlap is [:2, :2]: |stored| there is 0, 1, 3, 4; at [1, 0]: |3 - -10| = 13
    assert (frame["max_abs_diff"] == 13.0).all()
    assert frame.loc["checkpoint", "mean"] == 2.5


def test_compare_with_a_missing_side_or_other_rank():
    only_model = st.compare(None, np.ones(3))
    assert list(only_model.index) == ["model"] and math.isnan(only_model["max_abs_diff"].iat[0])
    ranks = st.compare(np.ones(3), np.ones((3, 1)))
    assert ranks["max_abs_diff"].isna().all() and len(ranks) == 2


# -- preview ------------------------------------------------------------------------------

STATS = ["path", "side", *KEYS, "max_abs_diff"]


def test_preview_of_one_variable(net_match):
    m = net_match
    data, stats = pv.preview(m, "head/_kernel")
    assert decode(data).shape[:2] == (240, 320)
    assert list(stats.columns) == STATS
    assert list(stats["side"]) == ["checkpoint", "model"]
    assert set(stats["path"]) == {"head/_kernel"}
    row = m.table.index[m.table["model_path"] == "head/_kernel"][0]
    stored = m.source.read(m.table["key"].iat[row])
    current = m.variables[row].numpy()
    assert stored.shape == (5, 3) and current.shape == (5, 7)
    expected = np.abs(stored - current[:, :3]).max()
    assert stats["max_abs_diff"].tolist() == pytest.approx([expected, expected])
    model_side = stats.iloc[1][KEYS].to_dict()
    assert model_side == pytest.approx(st.summary(current))


def test_preview_of_a_submodule(net_match):
    m = net_match
    data, stats = pv.preview(m, ["backbone"])
    backbone = [
        p for p in m.table["model_path"].iloc[: len(m.variables)] if p.startswith("backbone/")
    ]
    assert len(backbone) == 4
    assert stats["path"].tolist() == [p for p in backbone for _ in range(2)]
    assert decode(data).shape[:2] == (480, 960)  # 4 panels: 3 columns, 2 rows
    for _, row in stats[stats["side"] == "checkpoint"].iterrows():
        key = m.table.loc[m.table["model_path"] == row["path"], "key"].iat[0]
        assert row[KEYS].to_dict() == st.summary(m.source.read(key))
    # a restore-free match of another seed: the values differ
    assert (stats["max_abs_diff"] > 0).all()


def test_preview_of_an_unused_checkpoint_variable(net_match):
    m = net_match
    unused = m.table[m.table["status"] == "unused"]
    path = unused["ckpt_path"].iat[-1]
    _, stats = pv.preview(m, path)
    assert stats["side"].tolist() == ["checkpoint"]
    assert stats["path"].tolist() == [path]
    assert math.isnan(stats["max_abs_diff"].iat[0])


def test_preview_caps_panels_and_skips_repeats(net_match):
    data, stats = pv.preview(net_match, ["backbone", "head", "head/bias"], max_panels=2)
    assert decode(data).shape[:2] == (240, 640)
    assert len(stats) == 2 * 6


def test_preview_stats_stop_at_50_variables(tf, keras, tmp_path):
    model = keras.Sequential([keras.Input((2,)), *(keras.layers.Dense(2) for _ in range(30))])
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    m = cw.match(model, prefix)
    data, stats = pv.preview(m, "_functional", max_panels=3)
    assert len(m.variables) == 60 and stats["path"].nunique() == 50 and len(stats) == 100
    assert (stats["max_abs_diff"] == 0).all()  # the model is the one saved
    assert decode(data).shape[:2] == (240, 960)


def test_preview_of_an_untracked_variable_by_its_keras_name(tf, keras, tmp_path):
    class Blocks(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [keras.layers.Dense(3, name="hidden")]  # a list: untracked
            self.out = keras.layers.Dense(1, name="out")

        def call(self, x):
            return self.out(self.blocks[0](x))

    model = Blocks()
    model(np.zeros((1, 2), "float32"))
    m = cw.match(model, tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt")))
    name = m.table.loc[m.table["status"] == "untracked", "name"].iat[0]
    _, stats = pv.preview(m, name)
    assert stats["path"].tolist() == [name] and stats["side"].tolist() == ["model"]


def test_preview_of_a_missing_path(net_match):
    with pytest.raises(KeyError, match="'backbone/nope'"):
        pv.preview(net_match, "backbone/nope")
    with pytest.raises(KeyError, match="'back'"):  # a prefix of a name is not a submodule
        pv.preview(net_match, "back")


def test_preview_shows_the_adapted_tensor(net_ckpt):
    import ckpt_widgets as cw
    from ckpt_widgets.preview.preview import adapted
    from ckpt_widgets.preview.stats import summary
    from tests import models

    prefix, saved = net_ckpt
    m = cw.match(models.net(head_units=7, seed=5), prefix)
    _, plain = pv.preview(m, "head/_kernel")
    _, zeros = pv.preview(m, "head/_kernel", adapt="zeros")
    stored = saved.head.kernel.numpy()
    fitted = adapted(stored, m.variables[4].numpy(), "zeros")
    assert fitted.shape == (5, 7) and not fitted[:, 3:].any()
    row = zeros[zeros["side"] == "checkpoint"].iloc[0]
    assert row["zeros_pct"] == summary(fitted)["zeros_pct"] > 0
    assert plain[plain["side"] == "checkpoint"].iloc[0]["zeros_pct"] == summary(stored)["zeros_pct"]


# -- theme -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "theme",
    [
        {**DARK, "foreground": "red; injected"},
        {**DARK, "extra": "#000000"},
        {"foreground": "#000000"},
        ["#000000"],
    ],
)
def test_a_bad_theme_is_one_clear_error(theme, net_match):
    with pytest.raises(ValueError, match=r"[Tt]heme"):
        pv.preview(net_match, "head/_kernel", theme=theme)

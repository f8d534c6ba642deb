"""preview: the preview of a Match (statistics and figures: test_stats, test_figures)."""

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

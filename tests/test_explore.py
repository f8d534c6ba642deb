"""Exploring a checkpoint alone: per-variable statistics and per-subtree roll-ups."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.runs import frozen_backbone_run, stored


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    _, prefixes, _ = frozen_backbone_run(tmp_path_factory.mktemp("explore"))
    return prefixes[-1]


@pytest.fixture(scope="module")
def odd(tf, tmp_path_factory):
    """A checkpoint with a NaN, an Inf and an all-zero tensor beside a normal one."""
    values = {
        "nan": np.array([1.0, np.nan, 2.0], "float32"),
        "inf": np.array([np.inf, 3.0], "float32"),
        "zero": np.zeros((2, 2), "float32"),
        "plain": np.arange(6, dtype="float32").reshape(2, 3),
    }
    variables = {k: tf.Variable(v) for k, v in values.items()}
    prefix = tf.train.Checkpoint(**variables).write(str(tmp_path_factory.mktemp("odd") / "c"))
    return prefix, values


def test_variable_stats_equal_numpy(trained):
    stats = cw.variable_stats(trained)
    src = cw.open_checkpoint(trained)
    assert list(stats["path"]) == list(src.variables["path"])
    for _, row in stats[stats["dtype"] == "float32"].iterrows():
        value = stored(trained, row["key"]).astype(np.float64)
        np.testing.assert_allclose(row["mean"], value.mean(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(row["std"], value.std(), rtol=1e-9, atol=1e-12)
        assert row["min"] == value.min() and row["max"] == value.max()
        np.testing.assert_allclose(row["l2"], np.linalg.norm(value), rtol=1e-9)
    chosen = cw.variable_stats(trained, paths=["model/head/bias"])
    assert list(chosen["path"]) == ["model/head/bias"]


def test_nan_inf_and_all_zero_tensors_found(odd):
    prefix, values = odd
    stats = cw.variable_stats(prefix).set_index("path")
    assert stats.loc["nan", "nan"] == 1 and not stats.loc["nan", "finite"]
    assert stats.loc["inf", "inf"] == 1 and not stats.loc["inf", "finite"]
    assert stats.loc["zero", "all_zero"] and not stats.loc["plain", "all_zero"]
    assert stats.loc["plain", "finite"] and stats.loc["plain", "max"] == values["plain"].max()
    summary = cw.checkpoint_summary(prefix, values=True)
    assert summary.loc["", "nan_tensors"] == 1
    assert summary.loc["", "inf_tensors"] == 1
    assert summary.loc["", "zero_tensors"] == 1


def test_summary_counts_parameters_bytes_and_optimizer_share(trained, tf):
    summary = cw.checkpoint_summary(trained)
    shapes = dict(tf.train.list_variables(trained))
    kernel = shapes["model/head/_kernel/.ATTRIBUTES/VARIABLE_VALUE"]
    bias = shapes["model/head/bias/.ATTRIBUTES/VARIABLE_VALUE"]
    assert summary.loc["model/head", "params"] == np.prod(kernel) + np.prod(bias)
    assert summary.loc["model/head", "nbytes"] == 4 * (np.prod(kernel) + np.prod(bias))
    assert summary.loc["model/backbone", "params"] == 2 * 4 + 4 + 4 * 5 + 5
    assert summary.loc["model/backbone", "optimizer_share"] == 0.0
    whole = summary.loc[""]
    assert whole["variables"] == len(cw.open_checkpoint(trained).variables)
    # Adam: two slots per trained variable (head only: the backbone is frozen).
    slots = 2 * (np.prod(kernel) + np.prod(bias))
    assert whole["params_optimizer"] == slots + 2  # + iterations and learning rate
    assert 0 < whole["optimizer_share"] < 1
    assert "float32×" in whole["dtypes"] and "int64×" in whole["dtypes"]


def test_summary_of_keras_weights_file(tmp_path):
    import h5py

    model = models.cnn(seed=2)
    model.save_weights(str(tmp_path / "cnn.weights.h5"))
    summary = cw.checkpoint_summary(tmp_path / "cnn.weights.h5")
    with h5py.File(tmp_path / "cnn.weights.h5") as f:
        sizes = []
        f.visititems(lambda name, obj: sizes.append(obj.size) if hasattr(obj, "size") else None)
    assert summary.loc["", "params"] == sum(sizes) == model.count_params()


def test_sources_give_the_same_tables_as_methods(odd, tmp_path):
    prefix, values = odd
    src = cw.open_checkpoint(prefix)
    stats = src.stats(["plain"]).set_index("path")
    assert stats.loc["plain", "max"] == values["plain"].max()
    assert src.rollup(values=True).loc["", "nan_tensors"] == 1
    model = models.cnn(seed=3)
    model.save_weights(str(tmp_path / "m.weights.h5"))
    keras_src = cw.open_checkpoint(tmp_path / "m.weights.h5")
    assert keras_src.rollup().loc["", "params"] == model.count_params()
    assert len(keras_src.stats()) == len(model.weights)

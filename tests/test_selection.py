"""include= / exclude= names: object paths, Keras names of layers and nested models."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw


def _with_inner_model(keras, seed: int):
    """A Functional model whose ``backbone_net`` was built on its own, then nested."""
    x = keras.Input((3,))
    inner = keras.Model(x, keras.layers.Dense(2, name="d")(x), name="backbone_net")
    i = keras.Input((3,))
    model = keras.Model(i, keras.layers.Dense(1, name="top")(inner(i)))
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(size=v.shape).astype("float32"))
    return model


@pytest.fixture(scope="module")
def written(tf, keras, tmp_path_factory):
    writer = _with_inner_model(keras, seed=1)
    prefix = tf.train.Checkpoint(model=writer).write(str(tmp_path_factory.mktemp("sel") / "c"))
    return writer, prefix


def test_a_nested_model_is_selected_by_its_keras_name(keras, written):
    writer, prefix = written
    model = _with_inner_model(keras, seed=2)
    inner = model.get_layer("backbone_net")
    top_before = [v.numpy() for v in model.get_layer("top").weights]

    report = cw.restore(model, prefix, include=["backbone_net"])

    assert len(report.restored) == len(inner.weights) == 2
    for mine, theirs in zip(inner.weights, writer.get_layer("backbone_net").weights):
        assert np.array_equal(mine.numpy(), theirs.numpy())
    for v, before in zip(model.get_layer("top").weights, top_before):
        assert np.array_equal(v.numpy(), before)


def test_a_nested_model_is_excluded_by_a_glob_of_its_name(keras, written):
    _, prefix = written
    model = _with_inner_model(keras, seed=3)
    report = cw.restore(model, prefix, exclude="backbone_n*")
    assert set(report.restored["layer"]) == {"top"}


def test_an_optimizer_is_not_taken_for_a_variable(keras, written):
    _, prefix = written
    model = _with_inner_model(keras, seed=4)
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(cw.SelectionError):
        cw.restore(model, prefix, include=model.optimizer)

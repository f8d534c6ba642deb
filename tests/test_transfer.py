"""Transfer learning from a ResNet50 classifier checkpoint into a new model's backbone."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from tests.conftest import assert_same

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def resnet_ckpt(tf, keras, tmp_path_factory):
    classifier = keras.applications.ResNet50(weights=None)
    prefix = tf.train.Checkpoint(model=classifier).write(
        str(tmp_path_factory.mktemp("resnet") / "ckpt")
    )
    return prefix, classifier


def fresh_backbone(keras):
    return keras.applications.ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3))


def test_backbone_as_the_model(resnet_ckpt, keras):
    prefix, classifier = resnet_ckpt
    backbone = fresh_backbone(keras)
    report = cw.restore(backbone, prefix)
    assert len(report.restored) == len(backbone.weights)
    stored = {v.path: v for v in classifier.weights}
    for v in backbone.weights:
        assert_same(v.numpy(), stored[v.path].numpy())


def test_include_backbone_of_a_new_model(resnet_ckpt, keras, tf):
    prefix, classifier = resnet_ckpt
    backbone = fresh_backbone(keras)
    inputs = keras.Input((64, 64, 3))
    features = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5, name="new_head")(features))
    head_before = model.get_layer("new_head").kernel.numpy().copy()

    m = cw.match(model, prefix)
    assert (m.root, m.model_root) == ("model", "_operations/1")
    report = cw.restore(model, prefix, include=[backbone])
    assert len(report.restored) == len(backbone.weights)
    stored = {v.path: v for v in classifier.weights}
    for v in backbone.weights:
        assert_same(v.numpy(), stored[v.path].numpy())
    assert_same(model.get_layer("new_head").kernel.numpy(), head_before)

    twin_backbone = fresh_backbone(keras)
    twin_in = keras.Input((64, 64, 3))
    twin_features = keras.layers.GlobalAveragePooling2D()(twin_backbone(twin_in))
    twin = keras.Model(twin_in, keras.layers.Dense(5, name="new_head")(twin_features))
    twin.get_layer("new_head").kernel.assign(head_before)
    exec(report.code, {"tf": tf, "model": twin})
    for a, b in zip(model.weights, twin.weights):
        if a.path.startswith("new_head"):
            continue
        assert np.array_equal(a.numpy(), b.numpy())

"""report.code, run on a fresh model, reproduces the restore exactly, and reads well."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_code_reproduces, assert_same


@pytest.mark.parametrize(
    ("fixture", "build", "kwargs"),
    [
        ("net_ckpt", lambda: models.net(head_units=7, seed=50), {"include": "backbone"}),
        ("net_ckpt", lambda: models.net(head_units=7, seed=50), {"include": "d2"}),
        ("net_ckpt", lambda: models.net(head_units=7, seed=50), {"adapt": "zeros"}),
        ("net_ckpt", lambda: models.net(seed=50), {"exclude": "d1"}),
        ("functional_ckpt", lambda: models.functional(seed=51), {"include": "encoder_layer"}),
        ("conv_ckpt", lambda: models.cnn(seed=52), {"include": "conv*", "exclude": "conv2"}),
        ("conv_ckpt", lambda: models.cnn(seed=52), {}),
    ],
)
def test_code_reproduces_the_restore(request, tf, fixture, build, kwargs):
    prefix = request.getfixturevalue(fixture)[0]
    ours, theirs = build(), build()
    report = cw.restore(ours, prefix, **kwargs)
    assert_code_reproduces(report.code, ours, theirs, tf)


def test_code_for_a_variable_of_a_partially_selected_layer(net_ckpt, tf):
    prefix, _ = net_ckpt
    ours, theirs = models.net(seed=53), models.net(seed=53)
    report = cw.restore(ours, prefix, include=ours.head.kernel)
    assert "'_kernel': model.head.kernel" in report.code
    assert_code_reproduces(report.code, ours, theirs, tf)


def test_code_for_an_untracked_variable_paired_by_rename(keras, tf, tmp_path):
    class Inner(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.parts = [keras.layers.Dense(3, name="hidden")]  # invisible to TF's graph

        def call(self, x):
            return self.parts[0](x)

    class Outer(keras.Model):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.out = keras.layers.Dense(1)

        def call(self, x):
            return self.out(self.inner(x))

    def build(seed):
        return models.built(Outer(), 2, seed)

    stored = tf.Variable(np.arange(6, dtype="float32").reshape(2, 3))
    holder = tf.train.Checkpoint(hidden=tf.train.Checkpoint(kernel=stored))
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    ours, theirs = build(54), build(54)
    kernel = ours.inner.parts[0].kernel
    report = cw.restore(ours, prefix, include=kernel, rename={"model/hidden/kernel": kernel.path})
    assert_same(kernel.numpy(), stored.numpy())
    assert_code_reproduces(report.code, ours, theirs, tf)


def run_alone(code: str, model, twin) -> None:
    """``code`` run with only ``model`` in scope (it brings its own imports) gives
    ``model``'s values to ``twin`` bit for bit."""
    exec(compile(code, "<report.code>", "exec"), {"model": twin})
    for ours, theirs in zip(model.weights, twin.weights):
        assert_same(theirs.numpy(), ours.numpy())


def test_nested_sequential_layer_is_one_short_checkpoint(net_ckpt):
    """Was 12 lines of nested ``tf.train.Checkpoint(_functional=...(**{'2': ...}))``."""
    prefix, _ = net_ckpt
    ours, theirs = models.net(seed=55), models.net(seed=55)
    report = cw.restore(ours, prefix, include="d2")
    code = report.code
    assert code.startswith("import tensorflow as tf\n")
    assert code.count("tf.train.Checkpoint(") == 1
    assert "{'2': model.backbone.get_layer('d2')}" in code
    assert len(code.splitlines()) <= 10
    assert max(len(line) for line in code.splitlines()) <= 100
    run_alone(code, ours, theirs)


@pytest.mark.parametrize(
    ("fixture", "build", "kwargs", "expected"),
    [
        (
            "net_ckpt",
            lambda: models.net(seed=56),
            {"include": "backbone"},
            "ckpt = tf.train.Checkpoint(model={'backbone': model.backbone})",
        ),
        (
            "net_ckpt",
            lambda: models.net(seed=56),
            {},
            "ckpt = tf.train.Checkpoint(model={'backbone': model.backbone, 'head': model.head})",
        ),
        (
            "functional_ckpt",
            lambda: models.functional(seed=57),
            {"include": "encoder_layer"},
            "model={'_operations': {'2': model.get_layer('encoder_layer')}}",
        ),
        ("functional_ckpt", lambda: models.functional(seed=57), {}, "(model=model)"),
        (
            "conv_ckpt",
            lambda: models.cnn(seed=58),
            {"include": "conv*", "exclude": "conv2"},
            "net={'_functional': {'_operations': {'1': model.get_layer('conv1')}}}",
        ),
    ],
)
def test_code_is_short_and_runs_with_its_own_imports(request, fixture, build, kwargs, expected):
    prefix = request.getfixturevalue(fixture)[0]
    ours, theirs = build(), build()
    code = cw.restore(ours, prefix, **kwargs).code
    assert code.startswith("import tensorflow as tf\n\n")
    assert expected in code
    assert code.count("tf.train.Checkpoint(") == 1
    run_alone(code, ours, theirs)


def test_combined_code_imports_once(cnn_pair):
    (pa, _), (pb, _) = cnn_pair
    ours, theirs = models.cnn(seed=59), models.cnn(seed=59)
    report = cw.restore_many(ours, [(pa, {"include": "conv1"}), (pb, {"include": "conv2"})])
    assert report.code.count("import tensorflow as tf") == 1
    assert report.code.startswith("import tensorflow as tf\n\n")
    run_alone(report.code, ours, theirs)


def test_code_for_a_keras_hub_transformer_layer(tf, tmp_path):
    keras_hub = pytest.importorskip("keras_hub")
    writer = keras_hub.models.BertBackbone(**models.TINY_TRANSFORMER)
    models.perturb(writer, seed=60)
    prefix = tf.train.Checkpoint(model=writer).write(str(tmp_path / "ckpt"))

    def build():
        backbone = keras_hub.models.BertBackbone(**models.TINY_TRANSFORMER)
        task = keras_hub.models.BertTextClassifier(
            backbone=backbone, num_classes=3, preprocessor=None
        )
        models.perturb(task, seed=61)
        return task

    ours, theirs = build(), build()
    report = cw.restore(ours, prefix, root="model", include="transformer_layer_1")
    assert len(report.restored) > 0
    assert report.code.count("tf.train.Checkpoint(") == 1
    run_alone(report.code, ours, theirs)
    report = cw.restore(ours, prefix, root="model", include="backbone")
    run_alone(report.code, ours, theirs)

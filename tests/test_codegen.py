"""report.code, run on a fresh model, reproduces the restore exactly."""

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
    assert "_kernel=model.head.kernel" in report.code
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
        model = Outer()
        model(np.zeros((1, 2), "float32"))
        models.perturb(model, seed)
        return model

    stored = tf.Variable(np.arange(6, dtype="float32").reshape(2, 3))
    holder = tf.train.Checkpoint(hidden=tf.train.Checkpoint(kernel=stored))
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    ours, theirs = build(54), build(54)
    kernel = ours.inner.parts[0].kernel
    report = cw.restore(ours, prefix, include=kernel, rename={"model/hidden/kernel": kernel.path})
    assert_same(kernel.numpy(), stored.numpy())
    assert_code_reproduces(report.code, ours, theirs, tf)

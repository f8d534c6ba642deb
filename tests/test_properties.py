"""Property: random nested models and random selections restore exactly what was chosen."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_same

specs = st.recursive(
    st.integers(1, 4),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(["enc", "dec", "mid", "aux"]), inner, min_size=1),
    ),
    max_leaves=6,
)


def build(spec, keras):
    """int: Dense(units); list: Sequential; dict: a layer holding its parts as attributes."""

    class Chain(keras.layers.Layer):
        def __init__(self, parts):
            super().__init__()
            self.order = sorted(parts)
            for name in self.order:
                setattr(self, name, parts[name])

        def call(self, x):
            for name in self.order:
                x = getattr(self, name)(x)
            return x

    def make(node):
        if isinstance(node, int):
            return keras.layers.Dense(node)
        if isinstance(node, list):
            return keras.Sequential([make(n) for n in node])
        return Chain({k: make(v) for k, v in node.items()})

    model = keras.Sequential([keras.Input((3,)), make(spec)])
    model(np.zeros((1, 3), "float32"))
    return model


counter = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    spec=specs,
    placement=st.sampled_from(["", "model", "net/inner"]),
    data=st.data(),
)
def test_random_models_and_selections(tf, keras, tmp_path, spec, placement, data):
    saved = build(spec, keras)
    models.perturb(saved, seed=1)
    if placement:
        node = saved
        for edge in reversed(placement.split("/")):
            node = tf.train.Checkpoint(**{edge: node})
        ckpt = node
    else:
        ckpt = tf.train.Checkpoint(saved)
    prefix = ckpt.write(str(tmp_path / f"ckpt{next(counter)}"))

    model = build(spec, keras)
    models.perturb(model, seed=2)
    before = models.values(model)
    layers = [layer for layer in model._flatten_layers(include_self=False) if layer.weights]
    chosen = data.draw(st.lists(st.sampled_from(layers), min_size=1, max_size=4, unique=True))
    report = cw.restore(model, prefix, include=chosen)

    wanted = {id(v) for layer in chosen for v in layer.weights}
    assert len(report.restored) == len(wanted)
    for v, s, old in zip(model.weights, saved.weights, before):
        assert_same(v.numpy(), s.numpy() if id(v) in wanted else old)
    report.undo()
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)

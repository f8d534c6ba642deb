"""suggest_rename: when a layer was inserted, propose the shifted pairs."""

from __future__ import annotations

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_code_reproduces, assert_same


def sequential(keras, with_dropout: bool, seed: int):
    layers = [keras.Input((2,)), keras.layers.Dense(4, name="d1")]
    if with_dropout:
        layers.append(keras.layers.Dropout(0.1))
    layers += [keras.layers.Dense(5, name="d2"), keras.layers.Dense(3, name="d3")]
    model = keras.Sequential(layers)
    models.perturb(model, seed)
    return model


def test_inserted_layer_shifts_paths_and_suggestions_fix_it(keras, tf, tmp_path):
    saved = sequential(keras, with_dropout=False, seed=1)
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path / "ckpt"))
    model = sequential(keras, with_dropout=True, seed=2)
    m = cw.match(model, prefix)
    assert m.counts()["match"] == 2  # only d1 lines up

    suggestions = cw.suggest_rename(model, m)
    assert dict(zip(suggestions["model_path"], suggestions["ckpt_path"])) == {
        "_functional/_operations/3/_kernel": "model/_functional/_operations/2/_kernel",
        "_functional/_operations/3/bias": "model/_functional/_operations/2/bias",
        "_functional/_operations/4/_kernel": "model/_functional/_operations/3/_kernel",
        "_functional/_operations/4/bias": "model/_functional/_operations/3/bias",
    }
    report = cw.restore(model, prefix, rename=suggestions)
    assert len(report.restored) == 6
    for v, s in zip(model.weights, saved.weights):
        assert_same(v.numpy(), s.numpy())
    twin = sequential(keras, with_dropout=True, seed=2)
    assert_code_reproduces(report.code, model, twin, tf)

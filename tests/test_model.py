"""model_variables: object paths as TensorFlow saves them, untracked layers, errors."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.model import gc_paused
from tests import models


def test_paths_line_up_with_the_checkpoint(net_ckpt):
    prefix, model = net_ckpt
    table = cw.model_variables(model)
    stored = set(cw.open_checkpoint(prefix).variables["path"])
    assert len(table) == len(model.weights)
    assert table["tracked"].all()
    assert {"model/" + p for p in table["path"]} <= stored
    row = table.set_index("path").loc["backbone/_functional/_operations/1/_kernel"]
    assert row["layer"] == "d1"
    assert row["module"] == "backbone/_functional/_operations/1"
    assert row["name"].endswith("d1/kernel")
    assert row["shape"] == (2, 4) and row["dtype"] == "float32" and row["trainable"]


def test_compiled_model_is_walked_through_its_layers_not_its_optimizer(net_ckpt):
    _, model = net_ckpt  # fitted: the optimizer tracks every trainable variable
    paths = cw.model_variables(model)["path"]
    assert not paths.str.contains("optimizer").any()


def test_functional_and_nested(keras):
    inner = models.functional(seed=0)
    inputs = keras.Input((6,), dtype="int32")
    outputs = keras.layers.Dense(1, name="top")(inner(inputs))
    outer = keras.Model(inputs, outputs)
    table = cw.model_variables(outer)
    assert table["tracked"].all()
    assert "_operations/1/_operations/1/_embeddings" in set(table["path"])
    assert set(table["layer"]) == {"embedding_layer", "encoder_layer", "decoder", "top"}


def test_shared_layer_listed_once(keras):
    shared = keras.layers.Dense(3, name="shared")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, shared(shared(inputs)))
    table = cw.model_variables(model)
    assert len(table) == 2 and table["path"].is_unique


def test_layers_in_plain_lists_are_untracked(keras):
    class Blocks(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [keras.layers.Dense(3), keras.layers.Dense(3)]
            self.out = keras.layers.Dense(1)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.out(x)

    model = Blocks()
    model(np.zeros((1, 2), "float32"))
    table = cw.model_variables(model)
    assert len(table) == 6
    untracked = table[~table["tracked"]]
    assert len(untracked) == 4 and (untracked["path"] == "").all()
    assert untracked["reason"].str.contains(".blocks'", regex=False).all()
    assert table[table["tracked"]]["path"].tolist() == ["out/_kernel", "out/bias"]


def test_unbuilt_model_says_how_to_build(keras):
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(cw.UnbuiltModelError, match=r"model.build\(input_shape\)"):
        cw.model_variables(model)
    assert gc.isenabled()  # the walk pauses the collector; its error turns it back on


def test_gc_paused_puts_the_collector_back_as_it_was():
    def fail():
        with gc_paused():
            assert not gc.isenabled()
            raise ValueError("in the block")

    assert gc.isenabled()
    with pytest.raises(ValueError, match="in the block"):
        fail()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off: it stays off
    finally:
        gc.enable()


def test_table_built_by_columns_agrees_with_each_variable(keras):
    """Every column, from the variables themselves (Keras and TensorFlow), row by row."""
    model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3))
    table = cw.model_variables(model)
    assert table["name"].tolist() == [v.path for v in model.weights]
    assert table["shape"].tolist() == [tuple(v.shape) for v in model.weights]
    assert table["dtype"].tolist() == [v.dtype for v in model.weights]
    assert table["nbytes"].tolist() == [int(np.prod(v.shape)) * 4 for v in model.weights]
    assert table["trainable"].tolist() == [v.trainable for v in model.weights]
    layers = {id(v): layer.name for layer in model.layers for v in layer.weights}
    assert table["layer"].tolist() == [layers[id(v)] for v in model.weights]
    assert table["tracked"].all() and (table["reason"] == "").all()

"""accessors: the Python expression report.code uses for each live object."""

from __future__ import annotations

import numpy as np

from ckpt_widgets.engine.accessors import layer_expr, object_expr, path_expr
from ckpt_widgets.engine.model import ModelGraph
from tests import models


def test_public_attributes_and_layer_places(keras):
    model = models.net(seed=80)
    graph = ModelGraph.of(model)
    assert path_expr(graph, "") == "model"
    assert path_expr(graph, "head/_kernel") == "model.head.kernel"
    expr = path_expr(graph, "backbone/_functional/_operations/1/bias")
    assert expr == "model.backbone.get_layer('d1').bias"
    assert eval(expr, {"model": model}) is model.backbone.layers[0].bias
    assert object_expr(graph, model.head.bias) == "model.head.bias"


def test_a_layer_in_a_public_list_or_named_by_the_user(keras):
    class Listed(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [keras.layers.Dense(2), keras.layers.Dense(2, name="chosen")]

        def call(self, x):
            return self.blocks[1](self.blocks[0](x))

    model = Listed()
    model(np.zeros((1, 2), "float32"))
    assert layer_expr(model, model.blocks[1]) == "model.blocks[1]"
    graph = ModelGraph.of(model)
    assert object_expr(graph, model.blocks[0].kernel) == "model.blocks[0].kernel"
    sequential = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="chosen")])
    assert layer_expr(sequential, sequential.layers[0]) == "model.get_layer('chosen')"

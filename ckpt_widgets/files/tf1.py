"""TF1 name-based checkpoints (``tf.compat.v1.train.Saver``): no object graph, the keys
are the TensorFlow variable names, and a model variable pairs with the key of its name."""

from __future__ import annotations

import re
from typing import Any

from .source import WithoutGraph
from .tf_reader import CONFIG_SUFFIX, StoredTensors, TensorFlowSource, variable_columns

OPTIMIZER_KEY = re.compile(
    r"(/(Adam|Adam_\d+|Momentum|RMSProp|RMSProp_\d+|Adagrad|Ftrl|Ftrl_\d+|"
    r"Adadelta|Adadelta_\d+)$)|^(beta1_power|beta2_power)$"
)
OTHER_KEY = re.compile(r"^(global_step|step|save_counter)$")


class TF1Source(WithoutGraph, TensorFlowSource):
    """A TF1 name-based checkpoint: each variable's path is its stored name."""

    format = "tf1"
    pairs_by = "name"

    def __init__(self, stored: StoredTensors):
        super().__init__(stored, _columns(stored))

    def layer_of(self, path: str) -> str:
        """The name scope of the variable named ``path``."""
        return path.rpartition("/")[0]


def _columns(stored: StoredTensors) -> dict[str, list[Any]]:
    """One row per stored key, sorted; slots and counters grouped apart from the model."""
    keys = sorted(key for key in stored.shapes if not key.endswith(CONFIG_SUFFIX))
    return variable_columns(keys, keys, list(map(_group, keys)), [-1] * len(keys), stored)


def _group(key: str) -> str:
    if OPTIMIZER_KEY.search(key):
        return "optimizer"
    if OTHER_KEY.match(key):
        return "other"
    return "model"

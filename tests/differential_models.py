"""The differential tests' corpus: real architectures, tiny, with random weights.

Run as ``python -m tests.differential_models DIR`` it writes every architecture's files
(``.weights.h5``, ``.keras``, ``tf.train.Checkpoint``) in a process of its own, where
Keras's generated layer names start afresh.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np

from tests.models import perturb

FORMATS = ("weights.h5", "keras", "tf")
FILES = {"weights.h5": "m.weights.h5", "keras": "m.keras", "tf": "tf/ckpt"}


def efficientnet_b0():
    import keras

    return keras.applications.EfficientNetB0(
        weights=None, input_shape=(32, 32, 3), include_top=False
    )


SIZES = {"vocabulary_size": 50, "num_layers": 2, "hidden_dim": 8, "intermediate_dim": 16}
"""What every tiny keras_hub transformer here shares."""
ENCODER = {**SIZES, "num_heads": 2, "max_sequence_length": 16}
"""BERT's and GPT-2's arguments."""
GROUPED_QUERY = {**SIZES, "num_query_heads": 2, "num_key_value_heads": 1}
"""Gemma's and Llama's arguments (grouped-query attention)."""


def mobilenet_v3_small():
    import keras

    return keras.applications.MobileNetV3Small(
        weights=None, input_shape=(32, 32, 3), include_top=False, include_preprocessing=False
    )


def bert():
    import keras_hub

    return keras_hub.models.BertBackbone(**ENCODER)


def bert_classifier():
    """A task model whose ``backbone`` is a ``bert()``: where a backbone's file goes."""
    import keras_hub

    return keras_hub.models.BertTextClassifier(backbone=bert(), num_classes=3, preprocessor=None)


def gpt2():
    import keras_hub

    return keras_hub.models.GPT2Backbone(**ENCODER)


def gemma():
    import keras_hub

    return keras_hub.models.GemmaBackbone(**GROUPED_QUERY, head_dim=4)


def llama():
    import keras_hub

    return keras_hub.models.LlamaBackbone(**GROUPED_QUERY)


def rnn_stack():
    import keras

    return keras.Sequential(
        [
            keras.Input((5, 3)),
            keras.layers.LSTM(4, return_sequences=True),
            keras.layers.GRU(4, return_sequences=True),
            keras.layers.LSTM(3),
            keras.layers.Dense(2),
        ]
    )


def shared_layers():
    """One Dense applied to two inputs, then another on their sum, twice."""
    import keras

    shared, top = keras.layers.Dense(4), keras.layers.Dense(4)
    a, b = keras.Input((4,)), keras.Input((4,))
    x = keras.layers.Add()([shared(a), shared(b)])
    return keras.Model([a, b], top(shared(top(x))))


def _dict_model_class():
    import keras

    class Heads(keras.Model):
        """Layers in a dict and a list (tracked by Keras, not by TensorFlow) beside one
        held as an attribute."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.trunk = keras.layers.Dense(4)
            self.blocks = [keras.layers.Dense(4), keras.layers.Dense(4)]
            self.heads = {"left": keras.layers.Dense(2), "right": keras.layers.Dense(3)}

        def call(self, x):
            x = self.trunk(x)
            for block in self.blocks:
                x = block(x)
            return self.heads["left"](x), self.heads["right"](x)

    return Heads


def layers_in_a_dict():
    model = _dict_model_class()()
    model(np.zeros((1, 3), "float32"))
    return model


BUILDERS = {
    "efficientnet_b0": efficientnet_b0,
    "mobilenet_v3_small": mobilenet_v3_small,
    "bert": bert,
    "gpt2": gpt2,
    "gemma": gemma,
    "llama": llama,
    "rnn_stack": rnn_stack,
    "shared_layers": shared_layers,
    "layers_in_a_dict": layers_in_a_dict,
}


def write(model, directory: Path) -> dict[str, str]:
    """``model`` saved in every format under ``directory``; the path of each, by format."""
    import tensorflow as tf

    directory.mkdir(parents=True, exist_ok=True)
    paths = {fmt: str(directory / name) for fmt, name in FILES.items()}
    model.save_weights(paths["weights.h5"])
    model.save(paths["keras"])
    tf.train.Checkpoint(model=model).write(paths["tf"])
    return paths


def main(directory: str) -> None:
    for seed, (name, build) in enumerate(BUILDERS.items(), 100):
        model = build()
        perturb(model, seed)
        write(model, Path(directory) / name)


if __name__ == "__main__":
    main(sys.argv[1])

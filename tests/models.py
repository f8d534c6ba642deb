"""Small models for the tests, built deterministically from a seed."""

from __future__ import annotations

import numpy as np


def _keras():
    import keras

    return keras


def net(head_units: int = 3, seed: int = 0, width: int = 4):
    """A subclassed model: Sequential ``backbone`` + Dense ``head``."""
    keras = _keras()

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.backbone = keras.Sequential(
                [keras.layers.Dense(width, name="d1"), keras.layers.Dense(5, name="d2")]
            )
            self.head = keras.layers.Dense(head_units, name="head")

        def call(self, x):
            return self.head(self.backbone(x))

    return built(Net(), 2, seed)


def functional(seed: int = 0, decoder_units: int = 2):
    """A Functional model with layers named ``embedding_layer``, ``encoder_layer``, ``decoder``."""
    keras = _keras()
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(10, 4, name="embedding_layer")(inputs)
    x = keras.layers.Dense(3, name="encoder_layer")(x)
    outputs = keras.layers.Dense(decoder_units, name="decoder")(x)
    model = keras.Model(inputs, outputs)
    perturb(model, seed)
    return model


def cnn(seed: int = 0):
    """A Sequential CNN with two Conv2D layers (``conv1``, ``conv2``) and a Dense top."""
    keras = _keras()
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, name="conv1"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Conv2D(6, 3, name="conv2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, name="top"),
        ]
    )
    perturb(model, seed)
    return model


def perturb(model, seed: int) -> None:
    """Give every variable distinct values from ``seed`` (so restores are visible)."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        dtype = np.dtype(v.dtype)
        if dtype.kind == "f":
            v.assign(rng.standard_normal(tuple(v.shape)).astype(dtype))


def built(model, width: int, seed: int):
    """``model`` called once on zeros of shape ``(1, width)`` (so its variables exist),
    its values then drawn from ``seed``."""
    model(np.zeros((1, width), "float32"))
    perturb(model, seed)
    return model


def fit_briefly(model) -> None:
    """Compile with Adam and fit one epoch, so the optimizer holds state."""
    model.compile("adam", "mse")
    out = model(np.zeros((1, 2), "float32"))
    model.fit(
        np.random.default_rng(0).standard_normal((8, 2)).astype("float32"),
        np.zeros((8, out.shape[-1]), "float32"),
        epochs=1,
        verbose=0,
    )


TINY_TRANSFORMER = {
    "vocabulary_size": 64,
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 8,
    "intermediate_dim": 16,
    "max_sequence_length": 8,
}
"""Arguments of a keras_hub ``BertBackbone`` or ``GPT2Backbone`` small enough for a test."""


def values(model) -> list[np.ndarray]:
    """Copies of every variable's value, in ``model.weights`` order."""
    return [v.numpy().copy() for v in model.weights]


def write_tf1_saver(tf, prefix: str):
    """A ``tf.compat.v1`` Saver checkpoint with variable scopes fc1/fc2 (weights and
    biases): its prefix and the stored values."""
    rng = np.random.default_rng(7)
    stored = {
        "fc1/weights": rng.standard_normal((2, 4)).astype("float32"),
        "fc1/biases": rng.standard_normal(4).astype("float32"),
        "fc2/weights": rng.standard_normal((4, 5)).astype("float32"),
        "fc2/biases": rng.standard_normal(5).astype("float32"),
    }
    return save_tf1(tf, stored, prefix), stored


def save_tf1(tf, values: dict[str, np.ndarray], prefix) -> str:
    """``values`` (``{variable name: value}``) written by a ``tf.compat.v1`` Saver at
    ``prefix``; returns the prefix it wrote."""
    with tf.Graph().as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name, initializer=value)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(session, str(prefix))

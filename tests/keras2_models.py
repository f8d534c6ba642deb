"""The same architectures in Keras 2 (``tf_keras``) and Keras 3 (``keras``).

Each builder takes the Keras module ``k``, so the Keras 2 writer (``tests/keras2_writer.py``,
run in its own process as a Keras 2 user would) and the Keras 3 tests build one model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

VOCAB, LENGTH = 20, 5


def functional(k: Any) -> Any:
    """Dense, BatchNormalization, Dense."""
    inputs = k.Input((4,))
    x = k.layers.Dense(8, activation="relu")(inputs)
    x = k.layers.BatchNormalization()(x)
    return k.Model(inputs, k.layers.Dense(3)(x))


def sequential(k: Any) -> Any:
    """Embedding, BatchNormalization, Flatten, Dense: token ids in, 3 scores out."""
    return k.Sequential(
        [
            k.Input((LENGTH,), dtype="int32"),
            k.layers.Embedding(VOCAB, 4),
            k.layers.BatchNormalization(),
            k.layers.Flatten(),
            k.layers.Dense(3),
        ]
    )


def nested(k: Any) -> Any:
    """A Sequential backbone inside a Functional model (Keras 3: ``_functional/…``)."""
    backbone = k.Sequential(
        [k.Input((4,)), k.layers.Dense(8, activation="relu"), k.layers.BatchNormalization()]
    )
    inputs = k.Input((4,))
    return k.Model(inputs, k.layers.Dense(3)(backbone(inputs)))


def subclassed(k: Any) -> Any:
    """Attributes plus blocks in a plain list (Keras 2 saves them; Keras 3's graph does not)."""

    class Encoder(k.Model):
        def __init__(self) -> None:
            super().__init__()
            self.embed = k.layers.Embedding(VOCAB, 4)
            self.blocks = [k.layers.Dense(4, activation="relu") for _ in range(2)]
            self.norm = k.layers.LayerNormalization()
            self.head = k.layers.Dense(3)

        def call(self, x: Any) -> Any:
            h = self.embed(x)
            for block in self.blocks:
                h = block(h)
            return self.head(k.layers.Flatten()(self.norm(h)))

    model = Encoder()
    model(tokens()[:1])
    return model


def branched(k: Any) -> Any:
    """``functional`` with a second Dense(8) beside the first: which one had the weights?"""
    inputs = k.Input((4,))
    x = k.layers.Add()([k.layers.Dense(8, activation="relu")(inputs), k.layers.Dense(8)(inputs)])
    x = k.layers.BatchNormalization()(x)
    return k.Model(inputs, k.layers.Dense(3)(x))


BUILDERS = {
    "functional": functional,
    "sequential": sequential,
    "nested": nested,
    "subclassed": subclassed,
}


def features() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(16, 4)).astype("float32")


def tokens() -> np.ndarray:
    return np.random.default_rng(1).integers(0, VOCAB, size=(16, LENGTH)).astype("int32")


def inputs_for(name: str) -> np.ndarray:
    return features() if name in ("functional", "nested") else tokens()

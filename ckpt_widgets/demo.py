"""A small model and checkpoint to try ckpt-widgets on, made on the spot (no download)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def make_demo(directory: str | Path = "demo", classes: int = 5, seed: int = 0) -> tuple[Any, str]:
    """Train a tiny classifier briefly, save it, and return a *new* model and the directory.

    The checkpoint holds ``Checkpoint(model=classifier)`` with its Adam state; the new model
    has the same ``backbone`` but a head for ``classes`` classes (the saved one has 3), the
    usual fine-tuning set-up.
    """
    import numpy as np
    import tensorflow as tf

    keras_seed = np.random.default_rng(seed)
    directory = Path(directory)
    trained = _classifier(3)
    trained.compile("adam", "sparse_categorical_crossentropy")
    x = keras_seed.standard_normal((64, 16, 16, 3)).astype("float32")
    y = keras_seed.integers(0, 3, 64)
    trained.fit(x, y, epochs=2, batch_size=16, verbose=0)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=trained), str(directory), 2)
    manager.save()
    model = _classifier(classes)
    return model, str(directory)


def _classifier(classes: int) -> Any:
    import keras
    import numpy as np

    class Classifier(keras.Model):
        """A convolutional ``backbone`` and a Dense ``head``."""

        def __init__(self):
            super().__init__()
            self.backbone = keras.Sequential(
                [
                    keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
                    keras.layers.BatchNormalization(name="bn1"),
                    keras.layers.Conv2D(16, 3, activation="relu", name="conv2"),
                    keras.layers.GlobalAveragePooling2D(name="pool"),
                ],
                name="backbone",
            )
            self.head = keras.layers.Dense(classes, activation="softmax", name="head")

        def call(self, x):
            return self.head(self.backbone(x))

    model = Classifier()
    model(np.zeros((1, 16, 16, 3), "float32"))
    return model

"""Code the test notebooks run in their kernel, shared by the browser tests."""

from __future__ import annotations


def imports(backend: str | None = None, log_level: int = 2) -> str:
    """A kernel's first lines: Keras on ``backend`` (its default when None), TensorFlow
    logging at ``log_level``, and the imports the other snippets use."""
    keras_backend = f'os.environ["KERAS_BACKEND"] = "{backend}"\n' if backend else ""
    return f"""\
import os
{keras_backend}os.environ["TF_CPP_MIN_LOG_LEVEL"] = "{log_level}"
import keras
import numpy as np
import tensorflow as tf
import ckpt_widgets as cw
"""


NET = """\


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.backbone = keras.Sequential(
            [keras.layers.Dense(4, name="d1"), keras.layers.Dense(5, name="d2")]
        )
        self.head = keras.layers.Dense(3, name="head")

    def call(self, x):
        return self.head(self.backbone(x))


"""
"""The kernel's ``Net``, as ``tests.models.net()`` builds it: a Sequential ``backbone``
(Dense ``d1``, ``d2``) and a Dense ``head`` of 3 units."""

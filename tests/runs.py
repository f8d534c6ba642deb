"""A real fine-tuning run for the compare tests: frozen backbone, one checkpoint per step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests import models

STEPS = 3


def frozen_backbone_run(directory: Path):
    """Fit ``models.net`` with ``backbone.trainable = False`` for ``STEPS`` steps.

    ``CheckpointManager`` saves ``ckpt-1`` before training and one checkpoint after each
    step (``ckpt-2`` … ``ckpt-{STEPS + 1}``) under ``Checkpoint(model=...)``. Returns
    ``(directory, prefixes, model)``.
    """
    import tensorflow as tf

    model = models.net(head_units=3, seed=11)
    model.backbone.trainable = False
    model.compile("adam", "mse")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 2)).astype("float32")
    y = rng.standard_normal((16, 3)).astype("float32")
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(model=model), str(directory), max_to_keep=None
    )
    prefixes = [manager.save()]
    for _ in range(STEPS):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        prefixes.append(manager.save())
    return str(directory), prefixes, model


def stored(prefix: str, key: str) -> np.ndarray:
    """A tensor as TensorFlow reads it (never through ckpt_widgets)."""
    import tensorflow as tf

    return tf.train.load_checkpoint(prefix).get_tensor(key)

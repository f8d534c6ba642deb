"""Open any checkpoint file the tool reads: pick the source class by what the path holds."""

from __future__ import annotations

import os
from typing import Any

from .keras_weights import KerasWeightsSource, is_keras_file
from .paths import absolute, as_path, exists
from .source import CheckpointSource
from .tf1 import TF1Source
from .tf2 import TF2Source
from .tf_reader import open_tensors


def open_checkpoint(path: Any) -> CheckpointSource:
    """Open a checkpoint by prefix (``…/ckpt-3``) or directory (its latest checkpoint).

    A TF2 checkpoint opens as a :class:`~ckpt_widgets.files.tf2.TF2Source`, a TF1
    name-based one as a :class:`~ckpt_widgets.files.tf1.TF1Source`, a Keras weights file
    (Keras 3 ``.weights.h5``, ``.keras`` or sharded ``.weights.json``, Keras 2 ``.h5``) as a
    :class:`~ckpt_widgets.files.keras_weights.KerasWeightsSource`: each a
    :class:`~ckpt_widgets.CheckpointSource`. An opened source is returned as it is.
    ``path`` may be a ``str``, ``bytes`` or ``os.PathLike``.

    Raises ``FileNotFoundError`` when nothing is there and :class:`CheckpointError`
    (a ``ValueError``) when the file is not a readable checkpoint, is not a regular file
    (a FIFO, a device, a directory) or declares more data than it stores.
    """
    if not isinstance(path, (str, bytes, os.PathLike)) and isinstance(path, CheckpointSource):
        return path  # (the Protocol check alone costs 20 µs for a string)
    path = as_path(path)
    if is_keras_file(path):
        if not exists(path):
            raise FileNotFoundError(f"No Keras weights file at '{path}'.")
        return KerasWeightsSource(absolute(path))
    stored = open_tensors(path)
    return TF1Source(stored) if stored.graph is None else TF2Source(stored)

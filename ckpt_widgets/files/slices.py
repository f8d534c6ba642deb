"""Read one stored tensor in pieces of bounded size, whatever the source's format."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import CheckpointError, first_line

from .paths import local_path

if TYPE_CHECKING:
    import numpy as np


SLICE_BYTES = 64 << 20
"""Bytes per piece when a large stored tensor is read in pieces (see :func:`read_slices`)."""


def read_slices(
    source: Any, path_or_key: str, slice_bytes: int = SLICE_BYTES
) -> Iterator[tuple[int, np.ndarray]]:
    """One stored tensor as consecutive flat pieces ``(first element, values)``.

    Each piece holds at most ``slice_bytes`` bytes (at least one element; a Keras file's
    piece is at least one row), in C order, so the extra memory stays bounded whatever the
    tensor's size. A local TensorFlow checkpoint's tensor is read straight from its data
    file at the offset its index gives (TensorFlow's ``RestoreV2`` would load the whole
    tensor for any slice of it); a tensor stored in partitions, a remote checkpoint or a
    string tensor is read whole, as one piece.
    """
    import numpy as np

    from . import bundle

    key = source.key_of(path_or_key)
    row = source.variables.index[source.variables["key"] == key]
    shape = tuple(source.variables["shape"].iat[row[0]]) if len(row) else None
    dtype = _numpy_dtype(source.variables["dtype"].iat[row[0]]) if len(row) else None
    count = math.prod(shape) if shape is not None else 0
    piece = max(1, slice_bytes // max(1, dtype.itemsize)) if dtype is not None else 0
    dataset = getattr(source, "_file", None)
    if dtype is None or dtype.kind in "OSU" or count <= piece:
        yield 0, np.asarray(source.read(key)).reshape(-1)
    elif dataset is not None:  # a Keras file: h5py reads rows
        yield from _dataset_pieces(dataset[key], piece)
    else:
        located = bundle.locate(source.prefix, key) if local_path(source.prefix) else None
        if located is None:
            yield 0, np.asarray(source.read(key)).reshape(-1)
            return
        try:
            yield from bundle.read_pieces(located, dtype, count, piece)
        except (OSError, ValueError) as exc:
            raise CheckpointError(
                f"Cannot read '{key}' from '{source.prefix}' ({first_line(exc)}); "
                "the data file may be truncated or missing."
            ) from None


def _dataset_pieces(dataset: Any, piece: int) -> Iterator[tuple[int, np.ndarray]]:
    import numpy as np

    per_row = math.prod(dataset.shape[1:]) or 1
    rows = max(1, piece // per_row)
    for start in range(0, dataset.shape[0], rows):
        yield start * per_row, np.asarray(dataset[start : start + rows]).reshape(-1)


def _numpy_dtype(name: str) -> np.dtype | None:
    """The numpy dtype of a TensorFlow dtype name (``bfloat16`` from ml_dtypes)."""
    import numpy as np

    try:
        return np.dtype(name)
    except TypeError:
        import tensorflow as tf

        try:
            return np.dtype(tf.dtypes.as_dtype(name).as_numpy_dtype)
        except (TypeError, ValueError):
            return None

"""Read one stored tensor in pieces of bounded size, whatever the source's format."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .tf_reader import numpy_dtype

if TYPE_CHECKING:
    import numpy as np


SLICE_BYTES = 64 << 20
"""A stored tensor over this many bytes is read in pieces (see :func:`read_slices`)."""
PIECE_BYTES = 4 << 20
"""Bytes per piece when a tensor is streamed through one reused buffer: small enough to
stay in the processor's cache while it is measured (a 64 MB piece is read from memory
again by every pass over it), large enough for few reads."""


def read_slices(
    source: Any, path_or_key: str, slice_bytes: int = SLICE_BYTES, reuse: bool = False
) -> Iterator[tuple[int, np.ndarray]]:
    """One stored tensor as consecutive flat pieces ``(first element, values)``.

    Each piece holds at most ``slice_bytes`` bytes (at least one element; a Keras file's
    piece is at least one row), in C order, so the extra memory stays bounded whatever the
    tensor's size; the source reads them (``CheckpointSource.read_pieces``). A tensor of
    at most ``slice_bytes``, or of strings, is one piece. With ``reuse`` the pieces hold
    at most :data:`PIECE_BYTES` and are read into one buffer: a piece is valid only until
    the next one is read, and one piece is all the memory the reading holds.
    """
    import numpy as np

    key = source.key_of(path_or_key)
    row = source.variables.index[source.variables["key"] == key]
    shape = tuple(source.variables["shape"].iat[row[0]]) if len(row) else None
    dtype = numpy_dtype(source.variables["dtype"].iat[row[0]]) if len(row) else None
    count = math.prod(shape) if shape is not None else 0
    piece = max(1, slice_bytes // max(1, dtype.itemsize)) if dtype is not None else 0
    if dtype is None or dtype.kind in "OSU" or count <= piece:
        yield 0, np.asarray(source.read(key)).reshape(-1)
        return
    buffer = None
    if reuse:
        piece = min(piece, max(1, PIECE_BYTES // dtype.itemsize))
        buffer = np.empty(piece, dtype)
    yield from source.read_pieces(key, piece, buffer)

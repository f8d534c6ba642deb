"""Read one stored tensor in pieces of bounded size, whatever the source's format."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .tf_reader import numpy_dtype

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")

SLICE_BYTES = 64 << 20
"""A stored tensor over this many bytes is read in pieces (see :func:`read_slices`)."""
PIECE_BYTES = 4 << 20
"""Bytes per piece when a tensor is streamed through one reused buffer: small enough to
stay in the processor's cache while it is measured (a 64 MB piece is read from memory
again by every pass over it), large enough for few reads."""


def read_slices(
    source: Any,
    path_or_key: str,
    slice_bytes: int = SLICE_BYTES,
    reuse: bool = False,
    ahead: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """One stored tensor as consecutive flat pieces ``(first element, values)``.

    Each piece holds at most ``slice_bytes`` bytes (at least one element; a Keras file's
    piece is at least one row), in C order, so the extra memory stays bounded whatever the
    tensor's size; the source reads them (``CheckpointSource.read_pieces``). A tensor of
    at most ``slice_bytes``, or of strings, is one piece. With ``reuse`` the pieces hold
    at most :data:`PIECE_BYTES` and are read into one buffer: a piece is valid only until
    the next one is read, and one piece is all the memory the reading holds. With
    ``ahead`` the pieces hold at most :data:`PIECE_BYTES` too, but each is its own array,
    read in a thread while the one before is used (:func:`read_ahead`: at most three
    pieces in memory).
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
    if reuse or ahead:
        piece = min(piece, max(1, PIECE_BYTES // dtype.itemsize))
    if ahead:
        yield from read_ahead(source.read_pieces(key, piece, None))
        return
    if reuse:
        buffer = np.empty(piece, dtype)
    yield from source.read_pieces(key, piece, buffer)


def read_ahead(pieces: Iterator[T]) -> Iterator[T]:
    """The items of ``pieces``, each produced in a thread while the one before is used
    (reading a file releases the interpreter: reading and measuring take two cores).

    At most one item waits; an error while producing is raised here, in order; a reader
    that stops early stops the thread.
    """
    import queue
    import threading

    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in pieces:
                if not _put(ready, (True, item), stop):
                    return
            _put(ready, (False, None), stop)
        except BaseException as exc:  # raised in the reader's thread, below
            _put(ready, (False, exc), stop)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # a generator's files are closed in the thread that reads them

    thread = threading.Thread(target=produce, name="ckpt-widgets read ahead", daemon=True)
    thread.start()
    try:
        while True:
            more, item = ready.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _put(ready: Any, item: Any, stop: Any) -> bool:
    """Put ``item`` when there is room; False (not put) once ``stop`` is set."""
    import queue

    while not stop.is_set():
        try:
            ready.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False

"""Where a tensor's bytes sit in a TensorFlow checkpoint's data files, read from its index.

The ``.index`` file is a table (the LevelDB format TensorFlow's ``tensor_bundle`` writes:
uncompressed blocks of prefix-compressed keys, an index block, a 48-byte footer) mapping
each tensor key to a ``BundleEntryProto``: data shard, byte offset and size. TensorFlow's
own reader reads a whole stored tensor even for a slice of it (``RestoreV2`` with a slice
spec loads the full tensor into a temporary); knowing the offsets lets a caller read a
tensor in pieces of bounded size.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, NamedTuple

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
_TRAILER = 5  # compression type byte + crc32 after each block


class Located(NamedTuple):
    """A tensor stored whole, in one data file."""

    path: str
    offset: int
    size: int


def locate(prefix: str, key: str) -> Located | None:
    """The data file and byte range of ``key`` in the local checkpoint ``prefix``.

    None when the bytes cannot be read directly: a remote file, a compressed table, a
    tensor stored in partitions, or a key the index does not hold.
    """
    from tensorflow.core.protobuf.tensor_bundle_pb2 import BundleEntryProto, BundleHeaderProto

    try:
        with open(prefix + ".index", "rb") as f:
            data = f.read()
        values = dict(_entries(data, {b"", key.encode()}))
    except (OSError, ValueError, IndexError, struct.error):
        return None
    if b"" not in values or key.encode() not in values:
        return None
    header, entry = BundleHeaderProto(), BundleEntryProto()
    header.ParseFromString(values[b""])
    entry.ParseFromString(values[key.encode()])
    if entry.slices or header.endianness != 0:
        return None
    name = f"{prefix}.data-{entry.shard_id:05d}-of-{header.num_shards:05d}"
    return Located(name, int(entry.offset), int(entry.size))


def read_pieces(
    located: Located, dtype: Any, count: int, piece: int, buffer: Any = None
) -> Iterator[tuple[int, Any]]:
    """``(first element, flat array)`` for consecutive pieces of at most ``piece`` elements.

    With ``buffer`` (a flat array of ``dtype`` holding ``piece`` elements at least) every
    piece is read into it and is a view of it, valid until the next piece; else each piece
    is a new array.
    """
    import numpy as np

    itemsize = np.dtype(dtype).itemsize
    if count * itemsize != located.size:
        raise ValueError(f"'{located.path}' stores {located.size} bytes, not {count * itemsize}")
    if buffer is not None and (buffer.dtype != np.dtype(dtype) or buffer.size < piece):
        raise ValueError(f"a buffer of {piece} {np.dtype(dtype).name} elements is needed")
    with open(located.path, "rb", buffering=0) as f:
        f.seek(located.offset)
        for start in range(0, count, piece):
            n = min(piece, count - start)
            values = np.empty(n, dtype) if buffer is None else buffer[:n]
            if not _fill(f, values.view(np.uint8)):
                raise ValueError(f"'{located.path}' ends before the tensor's last byte")
            yield start, values


def _fill(f: Any, out: Any) -> bool:
    """Read ``len(out)`` bytes into ``out`` (a read may return fewer); False at the end."""
    done = 0
    while done < len(out):
        n = f.readinto(out[done:])
        if not n:
            return False
        done += n
    return True


def _entries(data: bytes, wanted: set[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """The ``(key, value)`` pairs of the table ``data`` whose key is in ``wanted``."""
    if len(data) < _FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != _MAGIC:
        raise ValueError("not a checkpoint index")
    footer = len(data) - _FOOTER
    _, at = _handle(data, footer)  # the meta index, unused
    (index_offset, index_size), _ = _handle(data, at)
    left = set(wanted)
    for _, handle in _block(data, index_offset, index_size):
        (offset, size), _ = _handle(handle, 0)
        for key, value in _block(data, offset, size):
            if key in left:
                left.discard(key)
                yield key, value
        if not left:
            return


def _block(data: bytes, offset: int, size: int) -> Iterator[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of one uncompressed block."""
    if data[offset + size] != 0:
        raise ValueError("compressed block")
    restarts = struct.unpack_from("<I", data, offset + size - 4)[0]
    end = offset + size - 4 * (restarts + 1)
    key = b""
    at = offset
    while at < end:
        shared, at = _varint(data, at)
        fresh, at = _varint(data, at)
        length, at = _varint(data, at)
        key = key[:shared] + data[at : at + fresh]
        at += fresh
        yield key, data[at : at + length]
        at += length


def _handle(data: bytes, at: int) -> tuple[tuple[int, int], int]:
    offset, at = _varint(data, at)
    size, at = _varint(data, at)
    return (offset, size), at


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7

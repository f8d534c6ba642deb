"""Checks on the paths a user passes, before any reader opens them."""

from __future__ import annotations

import os
import stat
from typing import Any

from ckpt_widgets.errors import CheckpointError


def as_path(path: Any) -> str:
    """``path`` (``str``, ``bytes`` or ``os.PathLike``) as a ``str`` TensorFlow can open.

    Raises ``TypeError`` for anything else and :class:`CheckpointError` for a name that is
    not valid UTF-8 (TensorFlow encodes every path as UTF-8).
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(
            f"A checkpoint path must be a str, bytes or os.PathLike, not {type(path).__name__}."
        )
    text = os.fsdecode(path)
    if "\0" in text:
        raise CheckpointError(f"{text!r} contains a NUL character, which no file name can hold.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(text).decode("utf-8", "backslashreplace")
        raise CheckpointError(
            f"'{shown}' is not a valid UTF-8 name, which TensorFlow cannot open; rename the "
            "file or folder."
        ) from None
    return text


def local_path(path: str) -> str | None:
    """The operating-system path of a local ``path`` (also ``file://…``), else None."""
    if path.startswith("file://"):
        return path[len("file://") :]
    return None if "://" in path else path


def absolute(path: str) -> str:
    """A local ``path`` made absolute (so ``report.code`` works anywhere); others as they are."""
    return path if "://" in path else os.path.abspath(path)


def exists(path: str) -> bool:
    """Whether anything is at ``path``, local or remote (``gs://``, ``ram://``)."""
    local = local_path(path)
    if local is not None:
        return os.path.exists(local)
    import tensorflow as tf

    return tf.io.gfile.exists(path)


def open_binary(path: str) -> Any:
    """A binary file object: Python's for a local path, TensorFlow's for ``gs://`` etc."""
    local = local_path(path)
    if local is not None:
        return open(local, "rb")  # the caller closes it
    import tensorflow as tf

    return tf.io.gfile.GFile(path, "rb")


def check_regular_file(path: str, what: str) -> None:
    """Refuse a local ``path`` that is not a regular file (a directory, a FIFO, a device).

    Reading a FIFO or a device would block forever or never end. Remote paths
    (``gs://``, ``ram://``) hold only files and folders and are left to TensorFlow.
    """
    local = local_path(path)
    if local is None:
        return
    try:
        mode = os.stat(local).st_mode
    except OSError as exc:  # e.g. permission denied on a folder on the way
        raise CheckpointError(f"'{path}' cannot be read as {what} ({exc.strerror}).") from None
    if stat.S_ISDIR(mode):
        raise CheckpointError(f"'{path}' is a directory, not {what}.")
    if not stat.S_ISREG(mode):
        raise CheckpointError(
            f"'{path}' is not a regular file (a FIFO, socket or device), so it is not read as "
            f"{what}; copy the file to a regular one."
        )

"""A TensorFlow checkpoint's files: find the prefix, check the shards, open the reader,
read tensors. Shared by the TF2 object-based (:mod:`.tf2`) and the TF1 name-based
(:mod:`.tf1`) sources, which differ only in how they name and group their variables."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter, mul
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import CheckpointError, did_you_mean, first_line
from ckpt_widgets.words import plural

from .paths import absolute, check_regular_file, exists, local_path
from .source import SourceTables, leading_block, variables_frame

if TYPE_CHECKING:
    import numpy as np

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
CONFIG_SUFFIX = "/.ATTRIBUTES/OBJECT_CONFIG_JSON"
"""Keys of objects' JSON configurations: stored tensors, but not variables."""


@dataclass
class StoredTensors:
    """What a checkpoint's index declares, read once: every key's shape and dtype."""

    prefix: str
    reader: Any = field(repr=False)
    shapes: dict[str, list[int]] = field(repr=False)
    dtypes: dict[str, tuple[str, int]] = field(repr=False)
    """Dtype name and item size per key."""
    graph: bytes | None = field(repr=False)
    """The serialized object graph (TF2), None for a name-based (TF1) checkpoint."""
    stamp: tuple[int, ...] = field(repr=False, default=())
    """The ``.index`` file as it was when opened (see :func:`index_stamp`)."""


def open_tensors(path: str) -> StoredTensors:
    """Locate the checkpoint at ``path`` (a prefix, an ``.index`` / ``.data-…`` file or a
    directory), check its files and read its index; see ``open_checkpoint`` for errors."""
    prefix = absolute(_find_prefix(path))
    check_regular_file(prefix + ".index", "a checkpoint index")
    stamp = index_stamp(prefix)
    data_bytes = _check_data_files(prefix)
    import tensorflow as tf

    try:
        # Not tf.train.load_checkpoint: it first asks whether the prefix is a directory,
        # which some file systems (ram://) wrongly answer yes to.
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        shapes = reader.get_variable_to_shape_map()
        dtypes = _dtypes(reader)
    except Exception as exc:  # TensorFlow raises many types here; the user needs one.
        raise _unreadable(prefix, exc) from None
    _check_sizes(prefix, shapes, dtypes, data_bytes)
    try:
        graph = reader.get_tensor(OBJECT_GRAPH_KEY) if OBJECT_GRAPH_KEY in shapes else None
    except Exception as exc:
        raise _unreadable(prefix, exc) from None
    shapes.pop(OBJECT_GRAPH_KEY, None)
    return StoredTensors(prefix, reader, shapes, dtypes, graph, stamp)


def index_stamp(prefix: str) -> tuple[int, ...]:
    """What tells one write of the checkpoint ``prefix`` from the next: its ``.index``
    file's inode, size and modification time (TensorFlow writes a new file and renames it)."""
    index = prefix + ".index"
    local = local_path(index)
    try:
        if local is not None:
            found = os.stat(local)
            return (found.st_ino, found.st_size, found.st_mtime_ns)
        import tensorflow as tf

        remote = tf.io.gfile.stat(index)
        return (remote.length, remote.mtime_nsec)
    except Exception:  # gone: a stamp no file has
        return (-1,)


class TensorFlowSource(SourceTables):
    """Reading a TensorFlow checkpoint's tensors; subclasses list :attr:`variables`."""

    format: str

    def __init__(self, stored: StoredTensors, variables: dict[str, list[Any]]):
        self.prefix = self.path = stored.prefix
        self.reader = stored.reader
        self._shapes = stored.shapes
        self._dtypes = stored.dtypes
        self.variables = variables_frame(variables)
        self._key_of_path = dict(zip(variables["path"], variables["key"]))
        self._stamp = stored.stamp

    def read(self, path_or_key: str) -> np.ndarray:
        """Read one stored tensor by its path or its key (any path to it works)."""
        key = self.key_of(path_or_key)
        self._check_unchanged()
        try:
            value = self.reader.get_tensor(key)
        except Exception as exc:
            raise self._read_failed(f"'{key}'", exc) from None
        self._check_unchanged()
        return value

    def read_tensors(self, keys: list[str]) -> list[Any]:
        """Read several stored tensors by key in one ``RestoreV2`` call, as eager tensors
        (assigned to a variable without a conversion)."""
        import tensorflow as tf

        self._check_unchanged()
        try:
            values = tf.raw_ops.RestoreV2(
                prefix=self.prefix,
                tensor_names=keys,
                shape_and_slices=[""] * len(keys),
                dtypes=[tf.dtypes.as_dtype(self._dtypes[key][0]) for key in keys],
            )
        except Exception as exc:
            raise self._read_failed(plural(len(keys), "tensor"), exc, keys[0]) from None
        self._check_unchanged()
        return values

    def _check_unchanged(self) -> None:
        """Refuse to read a checkpoint written again since it was opened (training that
        writes the same prefix): its keys may now name other variables' tensors (after a
        fit, ``optimizer/_trainable_variables/0`` is whichever layer trained first)."""
        if self._stamp and index_stamp(self.prefix) != self._stamp:
            raise CheckpointError(
                f"'{self.prefix}' was written again after it was opened; open it again "
                "(cw.match(model, path), or Refresh in the widget): its keys may now name "
                "other tensors, so nothing was read from it."
            )

    def read_block(self, path_or_key: str, shape: tuple[int, ...]) -> np.ndarray:
        """Read only the leading block ``[0:shape[0], 0:shape[1], …]`` of one stored tensor,
        clipped to its stored shape (so ``shape`` may be larger)."""
        key = self.key_of(path_or_key)
        stored = self._shapes.get(key)
        if stored is None:
            return self.read(key)
        block = leading_block(stored, shape, key)
        if block == tuple(stored):
            return self.read(key)
        import tensorflow as tf

        spec = " ".join(map(str, stored)) + " " + ":".join(f"0,{n}" for n in block)
        self._check_unchanged()
        try:
            (value,) = tf.raw_ops.RestoreV2(
                prefix=self.prefix,
                tensor_names=[key],
                shape_and_slices=[spec],
                dtypes=[tf.dtypes.as_dtype(self._dtypes[key][0])],
            )
            value = value.numpy()
        except Exception as exc:
            raise self._read_failed(f"'{key}'", exc) from None
        self._check_unchanged()
        return value

    def read_pieces(
        self, path_or_key: str, piece: int, buffer: np.ndarray | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """One stored tensor in flat pieces of at most ``piece`` elements, read straight from
        its data file at the offset the index gives (``RestoreV2`` would load the whole
        tensor for any slice of it); a tensor stored in partitions, a remote checkpoint or a
        string tensor is read whole, as one piece. See ``CheckpointSource.read_pieces``."""
        import numpy as np

        from . import bundle

        self._check_unchanged()
        key = self.key_of(path_or_key)
        dtype = numpy_dtype(self._dtypes[key][0])
        located = bundle.locate(self.prefix, key) if local_path(self.prefix) else None
        if located is None or dtype is None or dtype.kind in "OSU":
            yield 0, np.asarray(self.read(key)).reshape(-1)
            return
        count = math.prod(self._shapes[key])
        try:
            yield from bundle.read_pieces(located, dtype, count, max(1, piece), buffer)
        except (OSError, ValueError) as exc:
            raise self._read_failed(f"'{key}'", exc) from None
        self._check_unchanged()  # the pieces came from the files the index was read with

    def key_of(self, path_or_key: str) -> str:
        """The tensor key for a variable path or a key."""
        if path_or_key in self._key_of_path:
            return self._key_of_path[path_or_key]
        if path_or_key in self._shapes:
            return path_or_key
        hint = did_you_mean(path_or_key, self._key_of_path)
        raise KeyError(f"'{path_or_key}' is no variable of checkpoint '{self.prefix}'{hint}")

    def reader_code(self, note: str = "") -> tuple[list[str], list[str]]:
        """No imports (``tf`` is expected); ``reader = tf.train.load_checkpoint(…)``."""
        return [], [
            "# Read the stored tensors and assign them." + note,
            f"reader = tf.train.load_checkpoint({self.prefix!r})",
        ]

    def read_code(self, key: str) -> str:
        """``reader.get_tensor(key)``."""
        return f"reader.get_tensor({key!r})"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.prefix!r}, {len(self.variables)} variables, {self.format})"

    def _repr_html_(self) -> str:
        return f"<b>{self.prefix}</b> ({self.format})" + self.variables.to_html(max_rows=20)

    def _read_failed(self, what: str, exc: BaseException, example: str = "") -> CheckpointError:
        where = f" (e.g. '{example}': {first_line(exc)})" if example else f" ({first_line(exc)})"
        return CheckpointError(
            f"Cannot read {what} from '{self.prefix}'{where}; the data file may be truncated "
            "or missing."
        )


def variable_columns(
    paths: list[str], keys: list[str], groups: list[str], nodes: list[int], stored: StoredTensors
) -> dict[str, list[Any]]:
    """The variables table's columns, in the order of :data:`~.source.COLUMNS`, given the
    path, key, group and node of each row (the rest built by ``map``: no Python loop)."""
    shapes = list(map(tuple, map(stored.shapes.__getitem__, keys)))
    sizes = list(map(math.prod, shapes))
    dtypes = list(map(stored.dtypes.__getitem__, keys))
    return {
        "path": paths,
        "key": keys,
        "shape": shapes,
        "dtype": list(map(itemgetter(0), dtypes)),
        "size": sizes,
        "nbytes": list(map(mul, sizes, map(itemgetter(1), dtypes))),
        "group": groups,
        "node_id": nodes,
    }


def numpy_dtype(name: str) -> np.dtype | None:
    """The numpy dtype of a TensorFlow dtype name (``bfloat16`` from ml_dtypes), None for
    strings and other dtypes numpy has no number for."""
    import numpy as np

    try:
        return np.dtype(name)
    except TypeError:
        import tensorflow as tf

        try:
            return np.dtype(tf.dtypes.as_dtype(name).as_numpy_dtype)
        except (TypeError, ValueError):
            return None


def _unreadable(prefix: str, exc: BaseException) -> CheckpointError:
    if _has_brackets(prefix):
        return CheckpointError(f"'{prefix}' cannot be opened by TensorFlow: {GLOB_ADVICE}")
    return CheckpointError(
        f"'{prefix}' is not a readable TensorFlow checkpoint ({first_line(exc)}); "
        "check that the '.index' and '.data-…' files are complete and belong together."
    )


GLOB_ADVICE = (
    "it reads a checkpoint's path as a file pattern, in which '[…]' stands for one "
    "character; rename the file or folder without '[' and ']'."
)


def _has_brackets(path: str) -> bool:
    return "[" in path or "]" in path


# -- locating files ---------------------------------------------------------------------


def _find_prefix(path: str) -> str:
    import tensorflow as tf

    gfile = tf.io.gfile
    path = path.removesuffix(".index")
    data = re.match(r"(.*)\.data-\d{5}-of-\d{5}$", path)
    if data:
        path = data.group(1)
    if exists(path + ".index"):
        return path
    if gfile.isdir(path):
        return _latest_in(path)
    if gfile.exists(path):
        raise CheckpointError(
            f"'{path}' is not a TensorFlow checkpoint prefix; pass the path without the "
            "'.index' / '.data-…' suffix, e.g. '…/ckpt-3'."
        )
    raise FileNotFoundError(
        f"No checkpoint at '{path}': neither '{path}.index' nor a directory of that name exists."
    )


def _latest_in(directory: str) -> str:
    """The prefix a directory's ``checkpoint`` state file names as the latest."""
    import tensorflow as tf

    gfile = tf.io.gfile
    found = sorted(p[: -len(".index")] for p in gfile.glob(directory.rstrip("/") + "/*.index"))
    names = ", ".join(repr(f) for f in found[:3]) or "'…/ckpt-3'"
    state = directory.rstrip("/") + "/checkpoint"
    if gfile.exists(state):
        check_regular_file(state, "a 'checkpoint' state file")
    try:
        latest = tf.train.latest_checkpoint(directory)
    except Exception as exc:  # e.g. UnicodeDecodeError from a state file that is not text
        raise CheckpointError(
            f"The 'checkpoint' state file in '{directory}' cannot be read ({first_line(exc)}); "
            f"pass a prefix such as {names}."
        ) from None
    if latest and gfile.exists(latest + ".index"):
        return latest
    if _has_brackets(directory):
        raise CheckpointError(
            f"Directory '{directory}' cannot be searched by TensorFlow: {GLOB_ADVICE}"
        )
    if found:
        raise FileNotFoundError(
            f"Directory '{directory}' has checkpoint files but no valid 'checkpoint' state "
            f"file naming the latest one; pass a prefix such as {names}."
        )
    raise FileNotFoundError(
        f"Directory '{directory}' holds no TensorFlow checkpoint (no '*.index' file); "
        "pass the directory a CheckpointManager or Checkpoint.save() wrote to."
    )


def _dtypes(reader: Any) -> dict[str, tuple[str, int]]:
    """Dtype name and item size per key, without a ``tf.DType`` object per variable."""
    import tensorflow as tf

    raw = getattr(reader, "_GetVariableToDataTypeMap", None)
    enums = raw() if raw is not None else reader.get_variable_to_dtype_map()
    known: dict[Any, tuple[str, int]] = {}
    out = {}
    for key, enum in enums.items():
        if enum not in known:
            dtype = tf.dtypes.as_dtype(enum)
            known[enum] = (dtype.name, dtype.size or 0)
        out[key] = known[enum]
    return out


def _check_data_files(prefix: str) -> int:
    """Check every data shard is there and a regular file; their total size in bytes."""
    import tensorflow as tf

    data = _data_files(prefix)
    if not data:
        raise CheckpointError(
            f"Checkpoint '{prefix}' has an index but no '.data-…' file; copy the data "
            "files next to the '.index' file."
        )
    match = re.search(r"-of-(\d{5})$", data[0])
    if match:
        total = int(match.group(1))
        for shard in range(total):
            name = f"{prefix}.data-{shard:05d}-of-{total:05d}"
            if name not in data and not tf.io.gfile.exists(name):
                raise CheckpointError(
                    f"Checkpoint '{prefix}' is missing its data shard '{name}'; "
                    f"copy all {total} '.data-…' files next to the '.index' file."
                )
    for name in data:
        check_regular_file(name, "a checkpoint data file")
    return sum(_size(name) for name in data)


def _size(name: str) -> int:
    local = local_path(name)
    if local is not None:
        return os.stat(local).st_size
    import tensorflow as tf

    return tf.io.gfile.stat(name).length


def _data_files(prefix: str) -> list[str]:
    """The ``.data-…`` shards found next to ``prefix`` (a local folder is listed directly,
    ten times faster than TensorFlow's glob)."""
    import tensorflow as tf

    local = local_path(prefix)
    if local is None:
        return tf.io.gfile.glob(prefix + ".data-*-of-*")
    folder, base = os.path.split(local)
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return tf.io.gfile.glob(prefix + ".data-*-of-*")
    shard = re.compile(re.escape(base) + r"\.data-\d{5}-of-\d{5}")
    found = sorted(name for name in names if shard.fullmatch(name))
    return [prefix[: len(prefix) - len(base)] + name for name in found]


def _check_sizes(
    prefix: str, shapes: dict[str, list[int]], dtypes: dict[str, tuple[str, int]], data: int
) -> None:
    """Refuse a tensor whose declared size exceeds all the data files together: reading it
    would allocate memory for bytes the checkpoint does not hold."""
    if not shapes:
        return
    largest = max(map(math.prod, shapes.values()))
    widest = max((item for _, item in set(dtypes.values())), default=0)
    if largest * widest <= data:  # no tensor can exceed the data: skip the loop over keys
        return
    for key, shape in shapes.items():
        nbytes = math.prod(shape) * dtypes.get(key, ("", 0))[1]
        if nbytes > data:
            raise CheckpointError(
                f"Checkpoint '{prefix}' is refused: '{key}' declares shape {tuple(shape)} "
                f"({nbytes} bytes) but its data files hold {data} bytes in all."
            )

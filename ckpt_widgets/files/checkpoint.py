"""Open a TensorFlow checkpoint and list its variables without reading tensor values.

A TF2 checkpoint stores its object graph in the tensor ``_CHECKPOINTABLE_OBJECT_GRAPH``:
node 0 is the root, ``children`` are named edges, and a variable node carries the key of
its tensor. We name each variable by its path through the model (see :mod:`.graph`),
which is what a user recognises, not by the key, which after a ``fit`` often points into
the optimizer. TF1 name-based checkpoints have no graph: their keys are the names.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import CheckpointError, ShapeMismatchError, did_you_mean, first_line

from .graph import walk

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
VARIABLE_VALUE = "VARIABLE_VALUE"
OPTIMIZER_CHILDREN = frozenset({"_trainable_variables", "_iterations", "iter"})
TF1_OPTIMIZER_KEY = re.compile(
    r"(/(Adam|Adam_\d+|Momentum|RMSProp|RMSProp_\d+|Adagrad|Ftrl|Ftrl_\d+|"
    r"Adadelta|Adadelta_\d+)$)|^(beta1_power|beta2_power)$"
)
TF1_OTHER_KEY = re.compile(r"^(global_step|step|save_counter)$")
COLUMNS = ["path", "key", "shape", "dtype", "size", "nbytes", "group", "node_id"]


def open_checkpoint(path: Any) -> Any:
    """Open a checkpoint by prefix (``…/ckpt-3``) or directory (its latest checkpoint).

    A Keras weights file (Keras 3 ``.weights.h5`` or ``.keras``, Keras 2 ``.h5``) opens as a
    :class:`~ckpt_widgets.keras_file.KerasWeightsSource` with the same interface. ``path``
    may be a ``str``, ``bytes`` or ``os.PathLike``.

    Raises ``FileNotFoundError`` when nothing is there and :class:`CheckpointError`
    (a ``ValueError``) when the file is not a readable checkpoint, is not a regular file
    (a FIFO, a device, a directory) or declares more data than it stores.
    """
    from .keras_weights import KerasWeightsSource, is_keras_file

    if isinstance(path, (CheckpointSource, KerasWeightsSource)):
        return path
    path = as_path(path)
    if is_keras_file(path):
        if not _exists(path):
            raise FileNotFoundError(f"No Keras weights file at '{path}'.")
        return KerasWeightsSource(path if "://" in path else os.path.abspath(path))
    prefix = _find_prefix(path)
    if "://" not in prefix:  # a local path: absolute, so report.code works anywhere
        prefix = os.path.abspath(prefix)
    check_regular_file(prefix + ".index", "a checkpoint index")
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
        graph_bytes = reader.get_tensor(OBJECT_GRAPH_KEY) if OBJECT_GRAPH_KEY in shapes else None
    except Exception as exc:
        raise _unreadable(prefix, exc) from None
    return CheckpointSource(prefix, reader, shapes, dtypes, graph_bytes)


def _unreadable(prefix: str, exc: BaseException) -> CheckpointError:
    return CheckpointError(
        f"'{prefix}' is not a readable TensorFlow checkpoint ({first_line(exc)}); "
        "check that the '.index' and '.data-…' files are complete and belong together."
    )


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


def leading_block(stored: Any, shape: Any, key: str) -> tuple[int, ...]:
    """The shape of the leading block ``shape`` of a ``stored``-shaped tensor, clipped."""
    stored, shape = tuple(int(n) for n in stored), tuple(int(n) for n in shape)
    if len(stored) != len(shape):
        raise ShapeMismatchError(
            f"Cannot read a block of shape {shape} from '{key}', stored with shape {stored}: "
            "the ranks differ."
        )
    return tuple(max(0, min(a, b)) for a, b in zip(stored, shape))


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


def _exists(path: str) -> bool:
    local = local_path(path)
    if local is not None:
        return os.path.exists(local)
    import tensorflow as tf

    return tf.io.gfile.exists(path)


class SourceTables:
    """Tables about a source's stored values, shared by every kind of source."""

    def stats(self, paths: Iterable[str] | None = None) -> pd.DataFrame:
        """Statistics of the stored values, one row per variable (see ``cw.variable_stats``)."""
        from ckpt_widgets.preview.explore import variable_stats

        return variable_stats(self, paths)

    def rollup(self, values: bool = False) -> pd.DataFrame:
        """Parameters, bytes, optimizer share and dtypes per subtree
        (see ``cw.checkpoint_summary``)."""
        from ckpt_widgets.preview.explore import checkpoint_summary

        return checkpoint_summary(self, values=values)


@dataclass
class CheckpointSource(SourceTables):
    """A checkpoint opened once; :attr:`variables` lists it, :meth:`read` reads one tensor."""

    prefix: str
    reader: Any = field(repr=False)
    _shapes: dict[str, list[int]] = field(repr=False)
    _dtypes: dict[str, tuple[str, int]] = field(repr=False)
    """Dtype name and item size per key."""
    _graph_bytes: bytes | None = field(repr=False, default=None)

    def __post_init__(self) -> None:
        import pandas as pd

        self._shapes.pop(OBJECT_GRAPH_KEY, None)
        self.format = "tf2" if self._graph_bytes is not None else "tf1"
        self.children: list[dict[str, int]] = []
        self.attributes: list[dict[str, str]] = []
        if self._graph_bytes is not None:
            self._parse_graph(self._graph_bytes)
        self._graph_bytes = None
        columns = self._variable_columns()
        self.variables = pd.DataFrame(columns, columns=COLUMNS)
        self._key_of_path = dict(zip(columns["path"], columns["key"]))
        self._row_of_node = {n: i for i, n in enumerate(columns["node_id"]) if n >= 0}

    # -- public ---------------------------------------------------------------------

    def read(self, path_or_key: str) -> np.ndarray:
        """Read one stored tensor by its path or its key (any path to it works)."""
        key = self.key_of(path_or_key)
        try:
            return self.reader.get_tensor(key)
        except Exception as exc:
            raise CheckpointError(
                f"Cannot read '{key}' from '{self.prefix}' ({first_line(exc)}); "
                "the data file may be truncated or missing."
            ) from None

    def read_tensors(self, keys: list[str]) -> list[Any]:
        """Read several stored tensors by key in one ``RestoreV2`` call, as eager tensors
        (assigned to a variable without a conversion)."""
        import tensorflow as tf

        try:
            return tf.raw_ops.RestoreV2(
                prefix=self.prefix,
                tensor_names=keys,
                shape_and_slices=[""] * len(keys),
                dtypes=[tf.dtypes.as_dtype(self._dtypes[key][0]) for key in keys],
            )
        except Exception as exc:
            raise CheckpointError(
                f"Cannot read {len(keys)} tensor(s) from '{self.prefix}' (e.g. '{keys[0]}': "
                f"{first_line(exc)}); the data file may be truncated or missing."
            ) from None

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
        try:
            (value,) = tf.raw_ops.RestoreV2(
                prefix=self.prefix,
                tensor_names=[key],
                shape_and_slices=[spec],
                dtypes=[tf.dtypes.as_dtype(self._dtypes[key][0])],
            )
            return value.numpy()
        except Exception as exc:
            raise CheckpointError(
                f"Cannot read '{key}' from '{self.prefix}' ({first_line(exc)}); "
                "the data file may be truncated or missing."
            ) from None

    def key_of(self, path_or_key: str) -> str:
        """The tensor key for a variable path (preferred or alias) or a key."""
        if path_or_key in self._key_of_path:
            return self._key_of_path[path_or_key]
        if path_or_key in self._shapes:
            return path_or_key
        node = self.resolve(path_or_key)
        if node is not None and VARIABLE_VALUE in self.attributes[node]:
            return self.attributes[node][VARIABLE_VALUE]
        hint = did_you_mean(path_or_key, self._key_of_path)
        raise KeyError(f"'{path_or_key}' is no variable of checkpoint '{self.prefix}'{hint}")

    def resolve(self, path: str) -> int | None:
        """The node id reached by following ``path``'s edges from the root, or None."""
        if self.format != "tf2":
            return None
        node = 0
        if not path:
            return node
        for name in path.split("/"):
            child = self.children[node].get(name)
            if child is None:
                return None
            node = child
        return node

    def is_variable(self, node: int) -> bool:
        """Whether ``node`` holds a stored variable."""
        return node in self._row_of_node

    def row_of(self, node: int) -> int:
        """Row number in :attr:`variables` of a variable node."""
        return self._row_of_node[node]

    def object_paths(self) -> list[str]:
        """Paths of every non-variable node (candidate places for a model); a TF1
        name-based checkpoint stores no object graph, so none."""
        if self.format != "tf2":
            return []
        return [p for n, p in self._node_paths.items() if n not in self._row_of_node]

    def saveable_descendants(self, node: int) -> frozenset[int]:
        """Every node with stored tensors reachable from ``node`` (itself included)."""
        cache = self._descendants_cache
        if node in cache:
            return cache[node]
        seen = {node}
        stack = [node]
        found = set()
        while stack:
            n = stack.pop()
            if self.attributes[n]:
                found.add(n)
            for child in self.children[n].values():
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        cache[node] = frozenset(found)
        return cache[node]

    def __repr__(self) -> str:
        return f"CheckpointSource({self.prefix!r}, {len(self.variables)} variables, {self.format})"

    def _repr_html_(self) -> str:
        return f"<b>{self.prefix}</b> ({self.format})" + self.variables.to_html(max_rows=20)

    # -- parsing --------------------------------------------------------------------

    def _parse_graph(self, graph_bytes: bytes) -> None:
        from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

        proto = TrackableObjectGraph()
        try:
            proto.ParseFromString(graph_bytes)
        except Exception:
            raise CheckpointError(
                f"The object graph of '{self.prefix}' is corrupt; the checkpoint cannot be used."
            ) from None
        count = len(proto.nodes)
        slots: list[tuple[int, int, int, str]] = []
        for index, node in enumerate(proto.nodes):
            edges = {child.local_name: child.node_id for child in node.children}
            if edges and not 0 <= min(edges.values()) <= max(edges.values()) < count:
                self._check_ids(((f"edge '{k}'", v) for k, v in edges.items()), count)
            self.children.append(edges)
            attributes = node.attributes
            self.attributes.append(
                {a.name: a.checkpoint_key for a in attributes} if attributes else {}
            )
            for s in node.slot_variables:
                self._check_ids(
                    (
                        (f"slot '{s.slot_name}' of node {index}", s.slot_variable_node_id),
                        (f"slot '{s.slot_name}' of node {index}", s.original_variable_node_id),
                    ),
                    count,
                )
                slots.append(
                    (index, s.original_variable_node_id, s.slot_variable_node_id, s.slot_name)
                )
        if not count:
            raise CheckpointError(f"The object graph of '{self.prefix}' is empty.")
        optimizers = {
            i for i, edges in enumerate(self.children) if not OPTIMIZER_CHILDREN.isdisjoint(edges)
        } | {opt for opt, *_ in slots}
        result = walk(
            0,
            lambda n: self.children[n].items(),
            lambda name, child: name == "optimizer" or child in optimizers,
        )
        self._node_paths = result.paths
        self._deferred = set(result.deferred)
        for opt, original, slot, slot_name in slots:
            if slot not in self._node_paths and original in self._node_paths:
                opt_path = self._node_paths.get(opt, "optimizer")
                self._node_paths[slot] = (
                    f"{self._node_paths[original]}/.OPTIMIZER_SLOT/{opt_path}/{slot_name}"
                )
                self._deferred.add(slot)
        self._descendants_cache: dict[int, frozenset[int]] = {}

    def _check_ids(self, references: Iterable[tuple[str, int]], count: int) -> None:
        """Refuse a node id outside ``0 … count-1`` (a negative one would alias the last)."""
        for what, node in references:
            if not 0 <= node < count:
                raise CheckpointError(
                    f"The object graph of '{self.prefix}' is corrupt ({what} points to node "
                    f"{node} of {count})."
                )

    def _variable_columns(self) -> dict[str, list[Any]]:
        listed: list[tuple[str, str, str, int]] = []  # path, key, group, node
        if self.format == "tf2":
            for node, path in self._node_paths.items():
                key = self.attributes[node].get(VARIABLE_VALUE)
                if key is None or key not in self._shapes:
                    continue
                if node in self._deferred:
                    group = "optimizer"
                elif "/" not in path:
                    group = "other"
                else:
                    group = "model"
                listed.append((path, key, group, node))
        seen = {key for _, key, _, _ in listed}
        for key in sorted(self._shapes):
            if key in seen or key.endswith("/.ATTRIBUTES/OBJECT_CONFIG_JSON"):
                continue
            if self.format == "tf2":
                group = "other"
            elif TF1_OPTIMIZER_KEY.search(key):
                group = "optimizer"
            elif TF1_OTHER_KEY.match(key):
                group = "other"
            else:
                group = "model"
            listed.append((key, key, group, -1))
        shapes = [tuple(self._shapes[key]) for _, key, _, _ in listed]
        sizes = [math.prod(shape) for shape in shapes]
        dtypes = [self._dtypes[key] for _, key, _, _ in listed]
        return {
            "path": [row[0] for row in listed],
            "key": [row[1] for row in listed],
            "shape": shapes,
            "dtype": [name for name, _ in dtypes],
            "size": sizes,
            "nbytes": [size * item for size, (_, item) in zip(sizes, dtypes)],
            "group": [row[2] for row in listed],
            "node_id": [row[3] for row in listed],
        }


# -- locating files ---------------------------------------------------------------------


def _find_prefix(path: str) -> str:
    import tensorflow as tf

    gfile = tf.io.gfile
    for suffix in (".index",):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    data = re.match(r"(.*)\.data-\d{5}-of-\d{5}$", path)
    if data:
        path = data.group(1)
    if gfile.exists(path + ".index"):
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
    return sum(tf.io.gfile.stat(name).length for name in data)


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
    for key, shape in shapes.items():
        nbytes = math.prod(shape) * dtypes.get(key, ("", 0))[1]
        if nbytes > data:
            raise CheckpointError(
                f"Checkpoint '{prefix}' is refused: '{key}' declares shape {tuple(shape)} "
                f"({nbytes} bytes) but its data files hold {data} bytes in all."
            )

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import CheckpointError, did_you_mean, first_line
from .graph import walk

if TYPE_CHECKING:
    import numpy as np

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
    :class:`~ckpt_widgets.keras_file.KerasWeightsSource` with the same interface.

    Raises ``FileNotFoundError`` when nothing is there and :class:`CheckpointError`
    (a ``ValueError``) when the file is not a readable checkpoint.
    """
    from .keras_file import KerasWeightsSource, is_keras_file

    if isinstance(path, (CheckpointSource, KerasWeightsSource)):
        return path
    path = str(path)
    if is_keras_file(path):
        import tensorflow as tf

        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"No Keras weights file at '{path}'.")
        return KerasWeightsSource(path if "://" in path else os.path.abspath(path))
    prefix = _find_prefix(path)
    if "://" not in prefix:  # a local path: absolute, so report.code works anywhere
        prefix = os.path.abspath(prefix)
    _check_data_files(prefix)
    import tensorflow as tf

    try:
        # Not tf.train.load_checkpoint: it first asks whether the prefix is a directory,
        # which some file systems (ram://) wrongly answer yes to.
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        shapes = reader.get_variable_to_shape_map()
        dtypes = _dtypes(reader)
        graph_bytes = reader.get_tensor(OBJECT_GRAPH_KEY) if OBJECT_GRAPH_KEY in shapes else None
    except Exception as exc:  # TensorFlow raises many types here; the user needs one.
        raise CheckpointError(
            f"'{prefix}' is not a readable TensorFlow checkpoint ({first_line(exc)}); "
            "check that the '.index' and '.data-…' files are complete and belong together."
        ) from None
    return CheckpointSource(prefix, reader, shapes, dtypes, graph_bytes)


@dataclass
class CheckpointSource:
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
        """Paths of every non-variable node (candidate places for a model)."""
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
                name, target = next((k, v) for k, v in edges.items() if not 0 <= v < count)
                raise CheckpointError(
                    f"The object graph of '{self.prefix}' is corrupt (edge "
                    f"'{name}' points to node {target} of {count})."
                )
            self.children.append(edges)
            attributes = node.attributes
            self.attributes.append(
                {a.name: a.checkpoint_key for a in attributes} if attributes else {}
            )
            if node.slot_variables:
                slots.extend(
                    (index, s.original_variable_node_id, s.slot_variable_node_id, s.slot_name)
                    for s in node.slot_variables
                )
        if not count:
            raise CheckpointError(f"The object graph of '{self.prefix}' is empty.")
        optimizers = {
            i for i, edges in enumerate(self.children) if OPTIMIZER_CHILDREN & edges.keys()
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
        latest = tf.train.latest_checkpoint(path)
        if latest and gfile.exists(latest + ".index"):
            return latest
        found = sorted(p[: -len(".index")] for p in gfile.glob(path.rstrip("/") + "/*.index"))
        if found:
            names = ", ".join(repr(f) for f in found[:3])
            raise FileNotFoundError(
                f"Directory '{path}' has checkpoint files but no valid 'checkpoint' state "
                f"file naming the latest one; pass a prefix such as {names}."
            )
        raise FileNotFoundError(
            f"Directory '{path}' holds no TensorFlow checkpoint (no '*.index' file); "
            "pass the directory a CheckpointManager or Checkpoint.save() wrote to."
        )
    if gfile.exists(path):
        raise CheckpointError(
            f"'{path}' is not a TensorFlow checkpoint prefix; pass the path without the "
            "'.index' / '.data-…' suffix, e.g. '…/ckpt-3'."
        )
    raise FileNotFoundError(
        f"No checkpoint at '{path}': neither '{path}.index' nor a directory of that name exists."
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


def _check_data_files(prefix: str) -> None:
    import tensorflow as tf

    data = tf.io.gfile.glob(prefix + ".data-*-of-*")
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

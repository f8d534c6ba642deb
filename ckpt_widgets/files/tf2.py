"""TF2 object-based checkpoints: variables named by their path through the object graph.

A TF2 checkpoint stores its object graph in the tensor ``_CHECKPOINTABLE_OBJECT_GRAPH``:
node 0 is the root, ``children`` are named edges, and a variable node carries the key of
its tensor. We name each variable by its path through the model (see :mod:`.graph`),
which is what a user recognises, not by the key, which after a ``fit`` often points into
the optimizer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ckpt_widgets.errors import CheckpointError, did_you_mean

from .graph import GraphError, ObjectGraph
from .tf_reader import CONFIG_SUFFIX, StoredTensors, TensorFlowSource, variable_columns


class TF2Source(TensorFlowSource):
    """A TF2 object-based checkpoint; :attr:`object_graph` is its parsed graph."""

    format = "tf2"
    pairs_by = "path"

    def __init__(self, stored: StoredTensors):
        assert stored.graph is not None
        try:
            self.object_graph: ObjectGraph = ObjectGraph.parse(stored.graph)
        except GraphError as exc:
            raise CheckpointError(f"The object graph of '{stored.prefix}' {exc}.") from None
        columns = _columns(self.object_graph, stored)
        super().__init__(stored, columns)
        nodes = columns["node_id"]
        self._row_of_node = {n: i for i, n in enumerate(nodes) if n >= 0}

    @property
    def children(self) -> list[dict[str, int]]:
        """Named edges of each object graph node."""
        return self.object_graph.children

    @property
    def attributes(self) -> list[Mapping[str, str]]:
        """Stored attributes (name to tensor key) of each object graph node."""
        return self.object_graph.attributes

    def key_of(self, path_or_key: str) -> str:
        """The tensor key for a variable path (preferred or alias) or a key."""
        if path_or_key in self._key_of_path or path_or_key in self._shapes:
            return super().key_of(path_or_key)
        node = self.resolve(path_or_key)
        key = None if node is None else self.object_graph.variable_key(node)
        if key is not None:
            return key
        hint = did_you_mean(path_or_key, self._key_of_path)
        raise KeyError(f"'{path_or_key}' is no variable of checkpoint '{self.prefix}'{hint}")

    def resolve(self, path: str) -> int | None:
        """The node id reached by following ``path``'s edges from the root, or None."""
        return self.object_graph.resolve(path)

    def is_variable(self, node: int) -> bool:
        """Whether ``node`` holds a listed variable."""
        return node in self._row_of_node

    def row_of(self, node: int) -> int:
        """Row number in :attr:`variables` of a variable node."""
        return self._row_of_node[node]

    def object_paths(self) -> list[str]:
        """Paths of every non-variable node (candidate places for a model)."""
        rows = self._row_of_node
        return [p for n, p in self.object_graph.paths.items() if n not in rows]

    def saveable_descendants(self, node: int) -> frozenset[int]:
        """Every node with stored tensors reachable from ``node`` (itself included)."""
        return self.object_graph.saveable_descendants(node)

    def layer_of(self, path: str) -> str:
        """The object path of the layer owning the variable at ``path``."""
        return path.rpartition("/")[0]


def _columns(graph: ObjectGraph, stored: StoredTensors) -> dict[str, list[Any]]:
    """Rows of every variable the graph reaches, in breadth-first order, then every other
    stored tensor (group ``other``) under its key, sorted."""
    shapes = stored.shapes
    variable_keys, deferred = graph.variable_keys(), graph.deferred
    paths: list[str] = []
    keys: list[str] = []
    groups: list[str] = []
    nodes: list[int] = []
    for node, path in graph.paths.items():
        key = variable_keys.get(node)
        if key not in shapes:
            continue
        paths.append(path)
        keys.append(key)
        nodes.append(node)
        if node in deferred:
            groups.append("optimizer")
        else:
            groups.append("model" if "/" in path else "other")
    others = sorted(k for k in shapes.keys() - set(keys) if not k.endswith(CONFIG_SUFFIX))
    count = len(others)
    return variable_columns(
        paths + others, keys + others, groups + ["other"] * count, nodes + [-1] * count, stored
    )

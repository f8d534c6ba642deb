"""Object graphs: breadth-first walks that name every node by its path, and a TF2
checkpoint's stored graph, parsed.

TensorFlow names each object by its shortest path from the root. We do the same, with one
twist: edges into optimizers are walked last, so a model variable that an optimizer also
tracks (``optimizer/_trainable_variables/N``) is named by its path through the model.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from .graph_columns import FlatGraph, read_flat

Node = TypeVar("Node", bound=Hashable)


@dataclass(frozen=True)
class Walk(Generic[Node]):
    """The result of :func:`walk`: a path per node, in breadth-first order."""

    paths: dict[Node, str]
    """Preferred ``/``-joined path of each reached node (``""`` for the root)."""
    deferred: set[Node]
    """Nodes reachable only through a deferred edge (optimizer state)."""


def walk(
    root: Node,
    children: Callable[[Node], Iterable[tuple[str, Node]]],
    is_deferred: Callable[[str, Node], bool],
) -> Walk[Node]:
    """Name every node reachable from ``root`` by its shortest path.

    Edges for which ``is_deferred(name, child)`` holds are followed only once every node
    reachable without them has been named.
    """
    paths: dict[Node, str] = {root: ""}
    order: list[Node] = [root]  # grows while it is walked: breadth first
    postponed: list[tuple[str, Node]] = []
    for node in order:
        base = paths[node]
        prefix = f"{base}/" if base else ""
        for name, child in children(node):
            if child in paths:
                continue
            if is_deferred(name, child):
                postponed.append((prefix + name, child))
            else:
                paths[child] = prefix + name
                order.append(child)
    later: list[Node] = []
    for path, child in postponed:
        if child not in paths:
            paths[child] = path
            later.append(child)
    for node in later:
        base = paths[node]
        prefix = f"{base}/" if base else ""
        for name, child in children(node):
            if child not in paths:
                paths[child] = prefix + name
                later.append(child)
    return Walk(paths, set(later))


def is_under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` itself or lies below it."""
    return not prefix or path == prefix or path.startswith(prefix + "/")


def relative(path: str, prefix: str) -> str:
    """``path`` with ``prefix`` removed (``path`` must lie under ``prefix``)."""
    if not prefix:
        return path
    return "" if path == prefix else path[len(prefix) + 1 :]


def join(*parts: str) -> str:
    """Join path parts, skipping empty ones."""
    return "/".join(p for p in parts if p)


VARIABLE_VALUE = "VARIABLE_VALUE"
OPTIMIZER_CHILDREN = frozenset({"_trainable_variables", "_iterations", "iter"})
NO_ATTRIBUTES: Mapping[str, str] = MappingProxyType({})


class GraphError(ValueError):
    """A stored object graph that cannot be parsed or contradicts itself; ``str()`` says
    what is wrong with it, e.g. ``is corrupt (edge 'model' points to node 5 of 1)``."""


Slot = tuple[int, int, int, str]
"""A TF1-style optimizer slot: optimizer node, original variable, slot variable, slot name."""


@dataclass
class ObjectGraph:
    """A TF2 checkpoint's object graph (``TrackableObjectGraph``), parsed once.

    Node 0 is the root; every node reached from it has a preferred path (see :func:`walk`:
    optimizer edges are walked last, so a model variable is named through the model).
    """

    paths: dict[int, str]
    """Preferred path of every reached node, in breadth-first order."""
    deferred: set[int]
    """Nodes reached only through an optimizer: their variables are optimizer state."""
    slots: list[Slot] = field(default_factory=list)
    """TensorFlow's own optimizer slot records (``slot_variables``), in stored order."""
    _nodes: Any = field(default=None, repr=False)
    """The parsed proto's nodes, for what is read rarely (:meth:`full_name`)."""
    _flat: FlatGraph | None = field(default=None, repr=False)
    """The edges and attributes as columns, when read so (see :mod:`.graph_columns`)."""
    _children: list[dict[str, int]] | None = field(default=None, repr=False)
    _attributes: list[Mapping[str, str]] | None = field(default=None, repr=False)
    _descendants: dict[int, frozenset[int]] = field(default_factory=dict, repr=False)

    @property
    def children(self) -> list[dict[str, int]]:
        """Named edges of each node, in stored order (built on first use from the
        columns: a listing never needs them)."""
        if self._children is None:
            assert self._flat is not None
            self._children = self._flat.children()
        return self._children

    @property
    def attributes(self) -> list[Mapping[str, str]]:
        """Tensor key of each stored attribute (``VARIABLE_VALUE`` for a variable) per node."""
        if self._attributes is None:
            assert self._flat is not None
            self._attributes = self._flat.attributes(NO_ATTRIBUTES)
        return self._attributes

    def variable_keys(self) -> dict[int, str]:
        """Each variable node's tensor key (its ``VARIABLE_VALUE`` attribute)."""
        if self._flat is not None:
            return self._flat.keys_named(VARIABLE_VALUE)
        return {n: a[VARIABLE_VALUE] for n, a in enumerate(self.attributes) if VARIABLE_VALUE in a}

    @classmethod
    def parse(cls, data: bytes) -> ObjectGraph:
        """Parse a serialized ``TrackableObjectGraph``; :class:`GraphError` if it is corrupt."""
        from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

        try:
            graph = TrackableObjectGraph.FromString(data)
        except Exception:
            raise GraphError("is corrupt; the checkpoint cannot be used") from None
        nodes = graph.nodes
        if not nodes:
            raise GraphError("is empty")
        flat = read_flat(graph, data)
        walked = None if flat is None else _walk_flat(flat)
        if walked is not None:
            return cls(*walked, [], nodes, flat)
        children, attributes, slots, optimizers = _read_nodes(nodes)
        paths, deferred = _walk_graph(children, optimizers)
        for opt, original, slot, slot_name in slots:
            if slot not in paths and original in paths:
                opt_path = paths.get(opt, "optimizer")
                paths[slot] = f"{paths[original]}/.OPTIMIZER_SLOT/{opt_path}/{slot_name}"
                deferred.add(slot)
        return cls(paths, deferred, slots, nodes, None, children, attributes)

    def resolve(self, path: str) -> int | None:
        """The node reached by following ``path``'s edges from the root, or None."""
        node = 0
        if not path:
            return node
        children = self.children
        for name in path.split("/"):
            child = children[node].get(name)
            if child is None:
                return None
            node = child
        return node

    def variable_key(self, node: int) -> str | None:
        """The tensor key of a variable node, None for any other node."""
        return self.attributes[node].get(VARIABLE_VALUE)

    def full_name(self, node: int) -> str:
        """The name the writer gave the variable at ``node`` (the proto's ``full_name``:
        a label only, TensorFlow does not keep it reliable); ``""`` when none is stored."""
        if self._nodes is None:
            return ""
        for attribute in self._nodes[node].attributes:
            if attribute.name == VARIABLE_VALUE:
                return str(attribute.full_name)
        return ""

    def saveable_descendants(self, node: int) -> frozenset[int]:
        """Every node with stored tensors reachable from ``node`` (itself included)."""
        cache = self._descendants
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

    def depth_first(self, start: int) -> dict[int, int]:
        """Each node's rank in a depth-first walk from ``start``, edges in stored order."""
        rank: dict[int, int] = {}
        stack = [start]
        while stack:
            node = stack.pop()
            if node in rank:
                continue
            rank[node] = len(rank)
            stack.extend(reversed(list(self.children[node].values())))
        return rank


def _read_nodes(
    nodes: Any,
) -> tuple[list[dict[str, int]], list[Mapping[str, str]], list[Slot], set[int]]:
    """Each proto node's edges and attributes, the slots, and the optimizer nodes (those
    with ``_trainable_variables``, ``iter`` … or slots), in one pass.

    Reading a proto field costs more than anything done with it, and each message or list
    touched costs a Python wrapper: a node's single attribute (a variable's) is read by
    index, without an iterator or a comprehension (1.7x faster on ResNet50's graph)."""
    count = len(nodes)
    children: list[dict[str, int]] = []
    attributes: list[Mapping[str, str]] = [NO_ATTRIBUTES] * count
    slots: list[Slot] = []
    optimizers: set[int] = set()
    add = children.append
    for index, node in enumerate(nodes):
        refs = node.children
        if refs:
            edges = {ref.local_name: ref.node_id for ref in refs}
            if not 0 <= min(edges.values()) <= max(edges.values()) < count:
                _check_ids(((f"edge '{k}'", v) for k, v in edges.items()), count)
            if not OPTIMIZER_CHILDREN.isdisjoint(edges):
                optimizers.add(index)
            add(edges)
        else:
            add({})
        stored = node.attributes
        if len(stored) == 1:
            attribute = stored[0]
            attributes[index] = {attribute.name: attribute.checkpoint_key}
        elif stored:
            attributes[index] = {a.name: a.checkpoint_key for a in stored}
        if node.slot_variables:
            slots.extend(_slots_of(node, index, count))
            optimizers.add(index)
    return children, attributes, slots, optimizers


def _slots_of(node: Any, index: int, count: int) -> list[Slot]:
    """The ``slot_variables`` records of optimizer node ``index``, ids checked."""
    found = []
    for s in node.slot_variables:
        what = f"slot '{s.slot_name}' of node {index}"
        ids = (s.original_variable_node_id, s.slot_variable_node_id)
        _check_ids(((what, n) for n in ids), count)
        found.append((index, *ids, s.slot_name))
    return found


def _check_ids(references: Iterable[tuple[str, int]], count: int) -> None:
    """Refuse a node id outside ``0 … count-1`` (a negative one would alias the last)."""
    for what, node in references:
        if not 0 <= node < count:
            raise GraphError(f"is corrupt ({what} points to node {node} of {count})")


def _walk_graph(
    children: list[dict[str, int]], optimizers: set[int]
) -> tuple[dict[int, str], set[int]]:
    """:func:`walk` over a parsed graph, deferring edges named ``optimizer`` or leading
    into an optimizer (a node with ``_trainable_variables``, ``iter`` or slots)."""
    result = walk(
        0,
        lambda n: children[n].items(),
        lambda name, child: name == "optimizer" or child in optimizers,
    )
    return result.paths, set(result.deferred)


def _walk_flat(flat: FlatGraph) -> tuple[dict[int, str], set[int]] | None:
    """:func:`_walk_graph` over the graph's columns, without a dict per node; None when a
    node it walks repeats an edge name (then its dict keeps the last edge, so the walk
    runs on the dicts)."""
    names, ids, first = flat.names, flat.ids, flat.first
    optimizers = {
        bisect_right(first, edge) - 1
        for edge in compress(range(len(names)), map(OPTIMIZER_CHILDREN.__contains__, names))
    }
    paths: dict[int, str] = {0: ""}
    order = [0]  # grows while it is walked: breadth first
    postponed: list[tuple[str, int]] = []
    for node in order:
        start, end = first[node], first[node + 1]
        if start == end:
            continue
        if end - start > 1 and len(set(names[start:end])) < end - start:
            return None
        base = paths[node]
        prefix = f"{base}/" if base else ""
        for name, child in zip(names[start:end], ids[start:end]):
            if child in paths:
                continue
            if name == "optimizer" or child in optimizers:
                postponed.append((prefix + name, child))
            else:
                paths[child] = prefix + name
                order.append(child)
    later: list[int] = []
    for path, child in postponed:
        if child not in paths:
            paths[child] = path
            later.append(child)
    for node in later:
        start, end = first[node], first[node + 1]
        if end - start > 1 and len(set(names[start:end])) < end - start:
            return None
        base = paths[node]
        prefix = f"{base}/" if base else ""
        for name, child in zip(names[start:end], ids[start:end]):
            if child not in paths:
                paths[child] = prefix + name
                later.append(child)
    return paths, set(later)

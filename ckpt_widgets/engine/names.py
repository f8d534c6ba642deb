"""Names people read: what the user's code and Keras call a variable, not its object path.

An object path such as ``backbone/_functional/_operations/1/_kernel`` is how TensorFlow
reaches a variable; a person thinks ``backbone/conv1/kernel``. :func:`readable_names`
builds that name from the same walk: the attribute names the user wrote (``backbone``,
``head``), the Keras name of a layer reached only by Keras's own lists
(``_operations/1`` -> ``conv1``), and the variable's Keras name (``kernel``).

:func:`slot_owners` says which model variable each optimizer slot belongs to, from the
structure stored in the checkpoint itself (so it works without a model too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import is_variable

if TYPE_CHECKING:
    from ckpt_widgets.files.graph import ObjectGraph
    from ckpt_widgets.files.source import CheckpointSource

    from .matching import Match
    from .model import ModelGraph

TRAINABLE = "_trainable_variables"
"""The Keras 3 optimizer's list of the variables it was built on (``build(var_list)``)."""


def is_internal(edge: str) -> bool:
    """Whether an edge is Keras's or TensorFlow's own (``_operations``, ``3``), not a name
    the user wrote as an attribute."""
    return edge.startswith("_") or edge.isdigit()


def readable_names(graph: ModelGraph) -> list[str]:
    """A readable name per row of ``graph.variables``: ``backbone/conv1/kernel``.

    A name that would repeat (two variables reading alike) falls back to the object path,
    so each name still names one variable.
    """
    namer = _Namer(graph)
    paths = graph.variables["path"].tolist()
    keras = graph.variables["name"].tolist()
    prefix = f"{getattr(graph.model, 'name', '')}/"
    names = []
    for path, name in zip(paths, keras):
        if path:
            names.append(namer.name(path))
        else:  # untracked: Keras's path, without the model's own name
            names.append(name[len(prefix) :] if name.startswith(prefix) else name)
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [n if seen[n] == 1 or not p else p for n, p in zip(names, paths)]


def readable_module_names(graph: ModelGraph, paths: list[str]) -> list[str]:
    """:func:`readable_names` for submodules: ``backbone/_functional/_operations/1`` ->
    ``backbone/conv1``; Keras's own containers (``_functional``) read as their owner."""
    namer = _Namer(graph)
    return [namer.name(path) for path in paths]


def module_label(graph: ModelGraph, path: str) -> str:
    """How a tree row names the submodule at ``path``: the attribute the user wrote
    (``backbone``), else the Keras layer name (``conv1``), else the edge itself."""
    edge = path.rsplit("/", 1)[-1]
    if not is_internal(edge):
        return edge
    name = getattr(graph.object_at(path), "name", None)
    return name if isinstance(name, str) and name else edge


class _Namer:
    """Readable names of object paths, each prefix worked out once."""

    def __init__(self, graph: ModelGraph):
        self.graph = graph
        self.names: dict[str, str] = {"": ""}
        self.objects: dict[str, Any] = {"": graph.model}
        self.edges: dict[int, dict[str, Any]] = {}

    def name(self, path: str) -> str:
        if path in self.names:
            return self.names[path]
        parent, _, edge = path.rpartition("/")
        base = self.name(parent)
        obj = self._child(parent, edge)
        part = _part(edge, obj)
        self.names[path] = f"{base}/{part}" if base and part else base or part
        return self.names[path]

    def _child(self, parent: str, edge: str) -> Any:
        owner = self.objects.get(parent)
        if owner is None:
            return None
        edges = self.edges.get(id(owner))
        if edges is None:
            edges = self.edges[id(owner)] = dict(self.graph.children_of(owner))
        child = edges.get(edge)
        self.objects[f"{parent}/{edge}" if parent else edge] = child
        return child


def _part(edge: str, obj: Any) -> str:
    """The piece one edge adds to a readable name ("" for Keras's own containers)."""
    if obj is None:
        return edge
    if is_variable(obj):
        keras_path = getattr(obj, "path", None)
        name = keras_path if isinstance(keras_path, str) else str(obj.name).split(":")[0]
        return name.rsplit("/", 1)[-1]
    if not is_internal(edge):
        return edge
    if edge == "_functional":  # a Sequential's inner model repeats its owner
        return ""
    name = getattr(obj, "name", None)
    if hasattr(obj, "weights") and isinstance(name, str) and name:
        return name
    return ""


def model_labels(m: Match) -> list[str]:
    """:func:`readable_names` of ``m``'s model rows, worked out once per match."""
    cached = m.__dict__.get("_readable_names")
    if cached is None:
        cached = m.__dict__["_readable_names"] = readable_names(m.graph)
    return cached


# -- optimizer slots --------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """An optimizer slot variable in the file and the variable it belongs to."""

    original: int
    """Node id of the model variable the slot belongs to."""
    slot: str
    """The slot's name: ``momentum``, ``velocity`` (Keras 3) or ``m``, ``v`` (TF slots)."""
    optimizer: str
    """The optimizer's name when the file says it (``adam``), else ``""``."""


def slot_owners(source: CheckpointSource) -> dict[int, Slot]:
    """``{slot node id: Slot}`` for every optimizer slot whose owner the file records.

    Two records are read from the source's :class:`~ckpt_widgets.files.graph.ObjectGraph`,
    both written by TensorFlow or Keras themselves: ``slot_variables`` (TensorFlow's own
    optimizers link each slot to its variable) and, for Keras 3 optimizers, lists such as
    ``_momentums`` built by ``add_optimizer_variables(var_list, ...)``, whose element ``i``
    belongs to ``_trainable_variables/i`` (``build(var_list)`` keeps that same list). Such
    a slot is taken only when its shape equals its variable's; its name is the one Keras
    gave it (``{variable}_momentum``) when the stored name confirms it, else the list's
    name. Worked out once per opened checkpoint; a file without an object graph has none.
    """
    if source.object_graph is None:
        return {}
    cached = source.__dict__.get("_slot_owners")
    if cached is None:
        cached = source.__dict__["_slot_owners"] = _slot_owners(source, source.object_graph)
    return cached


def _slot_owners(source: CheckpointSource, graph: ObjectGraph) -> dict[int, Slot]:
    found = {slot: Slot(original, name, "") for _, original, slot, name in graph.slots}
    children = graph.children
    shapes: list[tuple[int, ...]] = []
    for edges in children:
        trainable = edges.get(TRAINABLE)
        if trainable is None:
            continue
        shapes = shapes or source.variables["shape"].tolist()
        owners = children[trainable]
        for edge, lst in edges.items():
            if edge in (TRAINABLE, "_variables") or not children[lst]:
                continue
            found.update(_keras_slots(source, graph, shapes, edge, children[lst], owners))
    return found


def _keras_slots(
    source: CheckpointSource,
    graph: ObjectGraph,
    shapes: list[tuple[int, ...]],
    edge: str,
    items: dict[str, int],
    owners: dict[str, int],
) -> dict[int, Slot]:
    """The slots of one Keras 3 optimizer list aligned with ``_trainable_variables``."""
    if not all(k.isdigit() and k in owners and source.is_variable(n) for k, n in items.items()):
        return {}
    if any(
        not source.is_variable(owners[k])
        or shapes[source.row_of(n)] != shapes[source.row_of(owners[k])]
        for k, n in items.items()
    ):
        return {}
    full = [graph.full_name(n) for n in items.values()]
    word = _slot_word(edge, full)
    optimizers = {name.split("/", 1)[0] for name in full if "/" in name}
    optimizer = optimizers.pop() if len(optimizers) == 1 else ""
    return {n: Slot(owners[k], word, optimizer) for k, n in items.items()}


def _slot_word(edge: str, full_names: list[str]) -> str:
    """The slot name Keras gave every variable of the list ``edge`` (``_momentums`` ->
    ``momentum``), confirmed by each stored name ending in ``_momentum``; else the list's
    own name."""
    plain = edge.lstrip("_")
    candidates = [plain[:-1], plain[:-3] + "y" if plain.endswith("ies") else "", plain]
    for word in candidates:
        if word and all(name.endswith(f"_{word}") for name in full_names):
            return word
    return plain


def slot_label(slot: Slot, owner: str) -> str:
    """``adam momentum of backbone/conv1/kernel``."""
    who = f"{slot.optimizer} " if slot.optimizer else ""
    return f"{who}{slot.slot} of {owner}"


def checkpoint_labels(source: CheckpointSource, m: Match | None = None) -> dict[str, str]:
    """``{checkpoint path: readable name}`` for the stored variables a person can name:
    those a model variable of ``m`` takes (its :func:`model_labels` name) and optimizer
    slots (:func:`slot_label`, with their variable named the same way). Without ``m``, a
    slot's variable is named by its checkpoint path."""
    cols = source.variables
    by_node = node_labels(source, m)
    keys = dict(zip(cols["key"].tolist(), cols["node_id"].tolist()))
    by_key = _labels_by_key(m)
    out = {}
    for path, key in zip(cols["path"].tolist(), cols["key"].tolist()):
        label = by_node.get(keys[key]) or by_key.get(key)
        if label:
            out[path] = label
    return out


def node_labels(source: CheckpointSource, m: Match | None = None) -> dict[int, str]:
    """``{node id: readable name}`` of the stored variables of a TF2 checkpoint that a
    model variable of ``m`` takes, and of its optimizer slots (see :func:`checkpoint_labels`)."""
    if source.object_graph is None:
        return {}
    cols = source.variables
    paths, keys = cols["path"].tolist(), cols["key"].tolist()
    by_key = _labels_by_key(m)
    out = {
        int(node): by_key[key]
        for node, key in zip(cols["node_id"].tolist(), keys)
        if key in by_key and node >= 0
    }
    for node, slot in slot_owners(source).items():
        if source.is_variable(slot.original):
            j = source.row_of(slot.original)
            out[node] = slot_label(slot, by_key.get(keys[j], paths[j]))
    return out


def _labels_by_key(m: Match | None) -> dict[str, str]:
    """``{stored key: readable name of the model variable taking it}``."""
    if m is None:
        return {}
    labels = model_labels(m)
    out: dict[str, str] = {}
    for i, key in enumerate(m.columns["key"][: len(m.variables)]):
        if isinstance(key, str):
            out.setdefault(key, labels[i])
    return out

"""Python expressions, relative to ``model``, for the live objects a restore touches.

The generated code (:mod:`.codegen`) names every object it restores this way: by its
public attribute (``model.backbone``), by its place among a model's layers
(``.get_layer("conv1")`` for a name the user chose, else ``.layers[2]``), by a public
list or dict of the model (``model.blocks[0]``), and as a last resort by a raw edge or
its place among the weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .model import looks_generated

if TYPE_CHECKING:
    from .model import ModelGraph


def object_expr(graph: ModelGraph, obj: Any, path: str | None = None) -> str:
    """An expression for a live object: by its object path (``path``, else the one
    through the model, else through its optimizer); a variable TensorFlow's graph cannot
    reach is named through its layer or by its place among the weights."""
    if path is None:
        path = graph.path_of(obj) or graph.paths.get(id(obj))
    if path is not None:
        return path_expr(graph, path)
    model = graph.model
    owner = graph.owners.get(id(obj))
    base = layer_expr(model, owner) if owner is not None else None
    if base is not None:
        leaf = str(getattr(obj, "path", "")).rsplit("/", 1)[-1]
        if leaf.isidentifier() and getattr(owner, leaf, None) is obj:
            return f"{base}.{leaf}"
        index = next(i for i, v in enumerate(owner.weights) if v is obj)
        return f"{base}.weights[{index}]"
    index = next((i for i, v in enumerate(model.weights) if v is obj), None)
    if index is None:
        raise ValueError(f"cannot express {obj!r} in Python relative to the model")
    return f"model.weights[{index}]"


def path_expr(graph: ModelGraph, path: str) -> str:
    """An expression for the object at object path ``path``.

    Public attributes come first (``model.backbone``), then a layer's place in its
    model (``.layers[2]``, or ``.get_layer("conv1")`` for a name the user chose),
    then the raw edge.
    """
    expr = "model"
    obj = graph.model
    for name in path.split("/") if path else []:
        child = dict(graph.children_of(obj))[name]
        step = _step(expr, obj, name, child)
        if not _is_public_attribute(step, expr):
            step = _layer_accessor(graph, child) or step
        expr, obj = step, child
    return expr


def layer_expr(model: Any, layer: Any) -> str | None:
    """``model.blocks[0]`` for a layer in a public list or dict of the model, else
    ``model.get_layer("name")`` for a name the user chose, else ``model.layers[i]``."""
    for attr, value in vars(model).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if item is layer:
                    return f"model.{attr}[{i}]"
        elif isinstance(value, dict):
            for key, item in value.items():
                if item is layer and isinstance(key, (str, int)):
                    return f"model.{attr}[{key!r}]"
    layers = list(getattr(model, "layers", []))
    index = next((i for i, candidate in enumerate(layers) if candidate is layer), None)
    if index is None:
        return None
    if not looks_generated(layer.name, layer):
        return f"model.get_layer({layer.name!r})"
    return f"model.layers[{index}]"


def _layer_accessor(graph: ModelGraph, layer: Any) -> str | None:
    if not graph.layer_accessors:
        _register_layer_accessors(graph)
    return graph.layer_accessors.get(id(layer))


def _register_layer_accessors(graph: ModelGraph) -> None:
    found = graph.layer_accessors
    found[id(graph.model)] = "model"
    for obj_id, path in sorted(graph.paths.items(), key=lambda kv: kv[1].count("/")):
        obj = graph.objects[obj_id]
        if obj_id in graph.deferred or not hasattr(obj, "get_layer"):
            continue
        layers = list(getattr(obj, "layers", None) or [])
        names = [getattr(layer, "name", None) for layer in layers]
        base = path_expr(graph, path)
        for index, (layer, name) in enumerate(zip(layers, names)):
            if id(layer) in found:
                continue
            if name and names.count(name) == 1 and not looks_generated(name, layer):
                found[id(layer)] = f"{base}.get_layer({name!r})"
            else:
                found[id(layer)] = f"{base}.layers[{index}]"


def _step(expr: str, parent: Any, name: str, child: Any) -> str:
    if name.isdigit() and isinstance(parent, Sequence):
        try:
            if parent[int(name)] is child:
                return f"{expr}[{name}]"
        except Exception:
            pass
    if isinstance(parent, Mapping) and parent.get(name) is child:
        return f"{expr}[{name!r}]"
    public = name.lstrip("_")
    for attr in (public, name):
        if attr.isidentifier() and getattr(parent, attr, None) is child:
            return f"{expr}.{attr}"
    return f"tf.train.TrackableView({expr}).children({expr})[{name!r}]"


def _is_public_attribute(step: str, base: str) -> bool:
    rest = step[len(base) :]
    return rest.startswith(".") and not rest.startswith("._") and rest[1:].isidentifier()

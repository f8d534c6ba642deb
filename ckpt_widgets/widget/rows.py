"""The widget's tree: submodules (Keras layers) and their variables, one row each.

Pure data from a :class:`~ckpt_widgets.matching.Match`; the front end only draws it.
A row's ``id`` is a string ``include=`` accepts: the object path, or the Keras variable
path for a variable TensorFlow's object graph cannot reach. People read ``label`` (the
attribute name the user wrote, ``backbone``, else the Keras layer name, ``conv1``), with
``keras_name`` beside it and the full readable ``name`` (``backbone/conv1/kernel``, or
``adam momentum of backbone/conv1/kernel`` for an optimizer slot); ``title`` (the hover
text) keeps the object path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ckpt_widgets.engine.matching import SEVERITY
from ckpt_widgets.engine.names import (
    checkpoint_labels,
    model_labels,
    module_label,
    readable_module_names,
)

if TYPE_CHECKING:
    import pandas as pd

    from ckpt_widgets.engine.matching import Match

COLUMNS = [
    "id", "parent", "kind", "label", "keras_name", "name", "title", "status", "model_shape",
    "ckpt_shape", "dtype", "nbytes", "params", "layer", "group",
]  # fmt: skip
"""``params``: elements (parameters) of the variable, or of every variable below a module."""


def model_tree(m: Match) -> pd.DataFrame:
    """Rows for every layer holding variables (and its enclosing layers) and every variable.

    Parents come before their children; ``parent`` is ``""`` at the top level. A layer's
    status is the worst status below it.
    """
    import pandas as pd

    cols = m.columns
    graph = m.graph
    readable = model_labels(m)
    is_layer: dict[str, bool] = {}

    def layer_at(path: str) -> bool:
        if path not in is_layer:
            obj = graph.object_at(path)
            # A Sequential's inner "_functional" repeats its owner: not a level of its own.
            is_layer[path] = (
                bool(path)
                and not path.endswith("_functional")
                and hasattr(obj, "weights")
                and hasattr(obj, "name")
            )
        return is_layer[path]

    def enclosing_layer(path: str) -> str:
        parts = path.split("/")
        for k in range(len(parts) - 1, 0, -1):
            prefix = "/".join(parts[:k])
            if layer_at(prefix):
                return prefix
        return ""

    modules: dict[str, dict[str, Any]] = {}
    variables: list[dict[str, Any]] = []
    for i in range(len(m.variables)):
        row = {name: values[i] for name, values in cols.items()}
        path, name = row["model_path"], row["name"]
        parent = enclosing_layer(path) if path else ""
        node = parent
        while node and node not in modules:
            obj = graph.object_at(node)
            keras_name = getattr(obj, "name", "")
            modules[node] = _module_row(
                node,
                enclosing_layer(node),
                module_label(graph, node),
                keras_name,
                keras_name,
                "model",
            )
            node = modules[node]["parent"]
        variables.append(
            {
                "id": path or name,
                "parent": parent,
                "kind": "variable",
                "label": name.rsplit("/", 1)[-1],
                "keras_name": name,
                "name": readable[i],
                "title": path or f"{name} (untracked)",
                "status": row["status"],
                "model_shape": _shape(row["model_shape"]),
                "ckpt_shape": _shape(row["ckpt_shape"]),
                "dtype": row["model_dtype"],
                "nbytes": int(row["nbytes"]),
                "params": _size(row["model_shape"]),
                "layer": row["layer"],
                "group": "model",
            }
        )
        node = parent
        while node:
            module = modules[node]
            module["nbytes"] += int(row["nbytes"])
            module["params"] += variables[-1]["params"]
            if SEVERITY[row["status"]] > SEVERITY[module["status"]]:
                module["status"] = row["status"]
            node = module["parent"]
    for module, name in zip(modules.values(), readable_module_names(graph, list(modules))):
        module["name"] = name
    ordered = _parents_first(list(modules.values()) + variables)
    return pd.DataFrame(ordered, columns=COLUMNS)


def checkpoint_tree(m: Match) -> pd.DataFrame:
    """The checkpoint's own tree: a row per stored variable and per object above one.

    A variable's status says how the model uses it; an object's is the worst below it.
    """
    import pandas as pd

    table = m.table
    names = checkpoint_labels(m.source, m)
    keras = _stored_layer_names(m)
    used = {
        key: status
        for key, status in zip(table["key"], table["status"])
        if isinstance(key, str) and status != "unused"
    }
    src = m.source.variables
    objects: dict[str, dict[str, Any]] = {}
    variables = []
    for path, key, shape, dtype, nbytes, group in zip(
        src["path"], src["key"], src["shape"], src["dtype"], src["nbytes"], src["group"]
    ):
        status = used.get(key, "unused")
        parent = path.rpartition("/")[0]
        name = names.get(path, "")
        variables.append(
            {
                "id": path,
                "parent": parent,
                "kind": "variable",
                "label": name if " of " in name else (name or path).rsplit("/", 1)[-1],
                "keras_name": "",
                "name": name,
                "title": f"{path} ({key})",
                "status": status,
                "model_shape": None,
                "ckpt_shape": _shape(shape),
                "dtype": dtype,
                "nbytes": int(nbytes),
                "params": _size(shape),
                "layer": "",
                "group": group,
            }
        )
        while parent:
            if parent not in objects:
                label = keras.get(parent) or parent.rsplit("/", 1)[-1]
                objects[parent] = _module_row(
                    parent, parent.rpartition("/")[0], label, keras.get(parent, ""), "", ""
                )
            node = objects[parent]
            node["nbytes"] += int(nbytes)
            node["params"] += variables[-1]["params"]
            if SEVERITY[status] > SEVERITY[node["status"]]:
                node["status"] = status
            parent = node["parent"]
    return pd.DataFrame(_parents_first(list(objects.values()) + variables), columns=COLUMNS)


def _module_row(
    path: str, parent: str, label: str, keras_name: str, layer: str, group: str
) -> dict[str, Any]:
    """A submodule's row before the variables below it are counted in: status, bytes and
    parameters start at none."""
    return {
        "id": path,
        "parent": parent,
        "kind": "module",
        "label": label,
        "keras_name": keras_name,
        "name": "",
        "title": path,
        "status": "match",
        "model_shape": None,
        "ckpt_shape": None,
        "dtype": "",
        "nbytes": 0,
        "params": 0,
        "layer": layer,
        "group": group,
    }


def _stored_layer_names(m: Match) -> dict[str, str]:
    """``{checkpoint object path: Keras name}`` of the stored objects under the match's
    root that the live model holds as a Keras layer reached only by Keras's own lists
    (``_operations/1`` -> ``conv1``): the file stores no layer names."""
    import keras

    from ckpt_widgets.engine.names import is_internal
    from ckpt_widgets.files.graph import is_under, join, relative

    out: dict[str, str] = {}
    if m.source.pairs_by != "path":
        return out  # stored paths that are not object paths name no live object
    for path in m.source.object_paths():
        edge = path.rsplit("/", 1)[-1]
        if not path or not is_internal(edge) or not is_under(path, m.root) or path == m.root:
            continue
        obj = m.graph.object_at(join(m.model_root, relative(path, m.root)))
        name = getattr(obj, "name", None)
        # A layer only: TensorFlow's dict wrappers raise TypeError on unknown attributes.
        if isinstance(obj, keras.layers.Layer) and isinstance(name, str) and edge != "_functional":
            out[path] = name
    return out


def _parents_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    children: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row)
    ordered: list[dict[str, Any]] = []
    stack = list(reversed(children.get("", [])))
    while stack:
        row = stack.pop()
        ordered.append(row)
        if row["kind"] == "module":
            stack.extend(reversed(children.get(row["id"], [])))
    return ordered


def _shape(shape: Any) -> list[int] | None:
    return list(shape) if isinstance(shape, tuple) else None


def _size(shape: Any) -> int:
    """Elements of a variable of ``shape`` (a tuple of ints), 0 when there is none."""
    import math

    return math.prod(int(n) for n in shape) if isinstance(shape, tuple) else 0

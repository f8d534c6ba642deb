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

import math
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

    return pd.DataFrame(model_tree_columns(m), columns=COLUMNS)


def model_tree_columns(m: Match) -> dict[str, list[Any]]:
    """:func:`model_tree` as plain lists per column, built without a row dict per variable."""
    cols = m.columns
    graph = m.graph
    is_layer: dict[str, bool] = {}

    def layer_at(path: str) -> bool:
        if path not in is_layer:
            # A Sequential's inner "_functional" repeats its owner: not a level of its own.
            is_layer[path] = (
                bool(path) and not path.endswith("_functional") and _is_layer(graph.object_at(path))
            )
        return is_layer[path]

    enclosing: dict[str, str] = {"": ""}

    def enclosing_layer(path: str) -> str:
        """The deepest layer above ``path`` (``""``: none), worked out once per folder."""
        folder = path.rpartition("/")[0]
        if folder not in enclosing:
            enclosing[folder] = folder if layer_at(folder) else enclosing_layer(folder)
        return enclosing[folder]

    n = len(m.variables)  # the model's rows come first in the table
    paths, names, statuses = (cols[k][:n] for k in ("model_path", "name", "status"))
    sizes = [int(size) for size in cols["nbytes"][:n]]
    shapes = cols["model_shape"][:n]
    params = [_size(shape) for shape in shapes]
    parents = [enclosing_layer(path) if path else "" for path in paths]
    modules: dict[str, dict[str, Any]] = {}
    for parent, status, size, count in zip(parents, statuses, sizes, params):
        node = parent
        while node and node not in modules:
            keras_name = getattr(graph.object_at(node), "name", "")
            modules[node] = _module_row(
                node,
                enclosing_layer(node),
                module_label(graph, node),
                keras_name,
                keras_name,
                "model",
            )
            node = modules[node]["parent"]
        node = parent
        while node:
            module = modules[node]
            module["nbytes"] += size
            module["params"] += count
            if SEVERITY[status] > SEVERITY[module["status"]]:
                module["status"] = status
            node = module["parent"]
    for module, name in zip(modules.values(), readable_module_names(graph, list(modules))):
        module["name"] = name
    variables: dict[str, list[Any]] = {
        "id": [path or name for path, name in zip(paths, names)],
        "parent": parents,
        "kind": ["variable"] * n,
        "label": [name.rsplit("/", 1)[-1] for name in names],
        "keras_name": names,
        "name": list(model_labels(m)),
        "title": [path or f"{name} (untracked)" for path, name in zip(paths, names)],
        "status": statuses,
        "model_shape": [_shape(shape) for shape in shapes],
        "ckpt_shape": [_shape(shape) for shape in cols["ckpt_shape"][:n]],
        "dtype": cols["model_dtype"][:n],
        "nbytes": sizes,
        "params": params,
        "layer": cols["layer"][:n],
        "group": ["model"] * n,
    }
    rows = list(modules.values())
    ids = [row["id"] for row in rows] + variables["id"]
    order = _parents_first_order(ids, [row["parent"] for row in rows] + parents, len(rows))
    out = {}
    for key in COLUMNS:
        column = [row[key] for row in rows] + variables[key]
        out[key] = [column[j] for j in order]
    return out


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


def _parents_first_order(ids: list[str], parents: list[str], modules: int) -> list[int]:
    """:func:`_parents_first` over rows given by position (the first ``modules`` rows are
    modules): the positions in tree order."""
    children: dict[str, list[int]] = {}
    for j, parent in enumerate(parents):
        children.setdefault(parent, []).append(j)
    ordered: list[int] = []
    stack = list(reversed(children.get("", [])))
    while stack:
        j = stack.pop()
        ordered.append(j)
        if j < modules:
            stack.extend(reversed(children.get(ids[j], [])))
    return ordered


def _shape(shape: Any) -> list[int] | None:
    return list(shape) if isinstance(shape, tuple) else None


def _size(shape: Any) -> int:
    """Elements of a variable of ``shape`` (a tuple of ints), 0 when there is none."""
    return int(math.prod(shape)) if isinstance(shape, tuple) else 0


def _is_layer(obj: Any) -> bool:
    """Whether ``obj`` has ``weights`` and a ``name``; a Keras layer has, without asking
    (its ``weights`` gathers every variable below it)."""
    import keras

    return isinstance(obj, keras.layers.Layer) or (hasattr(obj, "weights") and hasattr(obj, "name"))

"""Walk a live Keras model the way TensorFlow does when it writes a checkpoint.

Every object gets the path TensorFlow's object graph gives it (breadth-first, optimizer
edges last, see :mod:`.graph`), so model paths line up with checkpoint paths. On the
JAX and PyTorch backends, where Keras objects are not TensorFlow ``Trackable``s, the
edges come from Keras's own attributes (:mod:`.keras_walk`) and are the same. Variables
that ``model.weights`` lists but the object graph cannot reach (layers held in plain
Python lists or dicts) are reported as untracked: ``tf.train.Checkpoint`` never saves them.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import UnbuiltModelError
from ckpt_widgets.files.graph import walk

from .keras_walk import keras_children

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [
    "path", "tracked", "name", "layer", "module", "shape", "dtype", "size", "nbytes",
    "trainable", "reason", "own_index",
]  # fmt: skip


def model_variables(model: Any) -> pd.DataFrame:
    """One row per ``model.weights`` entry: object path, Keras path, layer, shape, dtype."""
    return ModelGraph.of(model).variables


@dataclass
class ModelGraph:
    """A live model's object graph: paths, objects, children and Python accessors."""

    model: Any
    paths: dict[int, str]
    """Object path of every reachable object, keyed by ``id(obj)``."""
    objects: dict[int, Any] = field(repr=False)
    """Every reachable object, keyed by ``id(obj)``."""
    deferred: set[int] = field(repr=False)
    """Objects reachable only through the optimizer."""
    edges: dict[int, list[tuple[str, Any]]] = field(repr=False)
    """Children of every reached object, in TensorFlow's order."""
    weights: list[Any] = field(repr=False)
    variables: pd.DataFrame = field(repr=False)
    owners: dict[int, Any] = field(repr=False)
    """Owning Keras layer of each variable, keyed by ``id(variable)``."""
    own_index: dict[int, int] = field(repr=False)
    """Position of each variable among its layer's own variables (as Keras saves them)."""
    layer_accessors: dict[int, str] = field(default_factory=dict, repr=False)
    """Python expression of each Keras layer, by ``id``: filled by :mod:`.accessors`."""

    @classmethod
    def of(cls, model: Any) -> ModelGraph:
        """Walk ``model`` (a Keras model or any TensorFlow trackable)."""
        with gc_paused():
            return cls._of(model)

    @classmethod
    def _of(cls, model: Any) -> ModelGraph:
        import tensorflow as tf

        weights = list(getattr(model, "weights", None) or [])
        if not weights:
            name = getattr(model, "name", type(model).__name__)
            raise UnbuiltModelError(
                f"Model '{name}' has no variables yet; build it first, e.g. "
                f"model.build(input_shape) or model(sample_batch), then restore."
            )
        objects: dict[int, Any] = {id(model): model}
        edges: dict[int, list[tuple[str, Any]]] = {}
        kinds = _Kinds(tf)

        def children(node: int):
            obj = objects[node]
            if kinds.is_variable(obj):  # leaves of the object graph: skip the lookup
                edges[node] = []
                return []
            items = edges[node] = kinds.children(obj)
            named = []
            for name, child in items:
                key = id(child)
                if key not in objects:
                    objects[key] = child
                named.append((name, key))
            return named

        result = walk(
            id(model), children, lambda name, child: kinds.is_optimizer(name, objects[child])
        )
        owners, own_index = _owners(model)
        graph = cls(
            model=model,
            paths=result.paths,
            objects=objects,
            deferred=set(result.deferred),
            edges=edges,
            weights=weights,
            variables=None,  # type: ignore[arg-type]
            owners=owners,
            own_index=own_index,
        )
        graph.variables = graph._variable_table()
        return graph

    def path_of(self, obj: Any) -> str | None:
        """Object path of ``obj`` through the model, or None if the graph cannot reach it."""
        key = id(obj)
        if key in self.paths and key not in self.deferred:
            return self.paths[key]
        return None

    def children_of(self, obj: Any) -> list[tuple[str, Any]]:
        """The named children of a reached object."""
        return self.edges.get(id(obj), [])

    def object_at(self, path: str) -> Any | None:
        """The object reached by following ``path`` from the model, or None."""
        obj = self.model
        if not path:
            return obj
        for name in path.split("/"):
            for edge, child in self.children_of(obj):
                if edge == name:
                    obj = child
                    break
            else:
                return None
        return obj

    def accessor(self, path: str) -> str:
        """A Python expression, relative to ``model``, for the object at ``path`` (see
        :func:`.accessors.path_expr`)."""
        from .accessors import path_expr

        return path_expr(self, path)

    # -- table ----------------------------------------------------------------------

    def _variable_table(self) -> pd.DataFrame:
        """One row per variable (a shared one once), built column by column."""
        import pandas as pd

        variables = list({id(v): v for v in self.weights}.values())
        found, deferred = self.paths, self.deferred
        paths = [found.get(k) if k not in deferred else None for k in map(id, variables)]
        owners = [self.owners.get(id(v)) for v in variables]
        layers = {id(o): (getattr(o, "name", ""), self.path_of(o)) for o in owners if o is not None}
        shapes = [_shape(v) for v in variables]
        dtypes = [_dtype_name(v.dtype) for v in variables]
        sizes = [math.prod(shape) for shape in shapes]
        own_index = self.own_index
        columns = {
            "path": [p or "" for p in paths],
            "tracked": [p is not None for p in paths],
            "name": [getattr(v, "path", None) or v.name for v in variables],
            "layer": [layers[id(o)][0] if o is not None else "" for o in owners],
            "module": [_module(path, owner, layers) for path, owner in zip(paths, owners)],
            "shape": shapes,
            "dtype": dtypes,
            "size": sizes,
            "nbytes": [size * _itemsize(dtype) for size, dtype in zip(sizes, dtypes)],
            "trainable": [bool(getattr(v, "trainable", True)) for v in variables],
            "reason": self._untracked_reasons(paths, owners),
            "own_index": [own_index.get(id(v), -1) for v in variables],
        }
        return pd.DataFrame(columns, columns=COLUMNS)

    def _untracked_reasons(self, paths: list[str | None], owners: list[Any]) -> list[str]:
        """Why each variable the object graph cannot reach is not saved; ``""`` for the others."""
        if all(path is not None for path in paths):
            return [""] * len(paths)
        containers = _untracked_containers(self.model)
        reasons = []
        for path, owner in zip(paths, owners):
            if path is not None:
                reasons.append("")
                continue
            where = containers.get(id(owner)) if owner is not None else None
            reasons.append(
                f"TensorFlow's object graph cannot reach it: its layer sits in the plain "
                f"Python container '{where}', so tf.train.Checkpoint never saves it; "
                "assign such layers to attributes one by one or wrap them in keras.Sequential."
                if where
                else "TensorFlow's object graph cannot reach it, so tf.train.Checkpoint "
                "never saves it (is its layer held in a plain Python list or dict?)."
            )
        return reasons


def _module(path: str | None, owner: Any, layers: dict[int, tuple[str, str | None]]) -> str:
    """A variable's module: its owning layer's object path, else its own path's folder."""
    owner_path = layers[id(owner)][1] if owner is not None else None
    if owner_path is not None:
        return owner_path
    return path.rpartition("/")[0] if path else ""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, back on after it (if it was on).

    Walking and tabulating 10 000 variables makes many containers that live for the
    whole step: the collector kept moving them to its oldest generation until it swept all
    of it, 0.65 s with TensorFlow, Keras and the model alive. Reference counting still
    frees what the block drops; only cycles wait for the collector's next run.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class _Kinds:
    """What an object is (a variable, an optimizer, a ``Trackable``), asked once per class
    during one walk: 10 000 variables share a few classes."""

    def __init__(self, tf: Any):
        self.tf = tf
        self.trackable = tf.__internal__.tracking.Trackable
        self.variables: dict[tuple[type, Any], bool] = {}
        self.optimizers: dict[tuple[type, Any], bool] = {}

    def is_variable(self, obj: Any) -> bool:
        """:func:`is_variable`, by class (``isinstance`` looks at nothing else)."""
        kind = (type(obj), obj.__class__)
        found = self.variables.get(kind)
        if found is None:
            found = self.variables[kind] = is_variable(obj)
        return found

    def is_optimizer(self, name: str, obj: Any) -> bool:
        """:func:`_is_optimizer`, by edge name and class."""
        if name == "optimizer":
            return True
        kind = (type(obj), obj.__class__)
        found = self.optimizers.get(kind)
        if found is None:
            found = self.optimizers[kind] = _is_optimizer(name, obj)
        return found

    def children(self, obj: Any) -> list[tuple[str, Any]]:
        """An object's named children: TensorFlow's own for a ``Trackable``, else (a Keras
        object on the JAX or PyTorch backend) the ones Keras's attributes give it."""
        if not isinstance(obj, self.trackable):
            return keras_children(obj)
        try:
            return list(self.tf.train.TrackableView.children(obj).items())
        except Exception:  # a container TensorFlow refuses to save: no children
            return []


def is_trackable(obj: Any) -> bool:
    """Whether TensorFlow's object-based restore can reach ``obj`` (a Keras model on the
    TensorFlow backend, or any TensorFlow ``Trackable``); not on the JAX or PyTorch backend."""
    import tensorflow as tf

    return isinstance(obj, tf.__internal__.tracking.Trackable)


def is_variable(obj: Any) -> bool:
    """A tf.Variable or Keras variable: a leaf of TensorFlow's object graph."""
    import tensorflow as tf

    if isinstance(obj, tf.Variable):
        return True
    try:
        import keras

        return isinstance(obj, keras.Variable)
    except Exception:  # keras missing
        return False


def _is_optimizer(name: str, obj: Any) -> bool:
    if name == "optimizer":
        return True
    try:
        import keras

        if isinstance(obj, keras.optimizers.Optimizer):
            return True
    except Exception:  # keras missing or exotic object
        pass
    return type(obj).__name__.endswith("Optimizer")


def _owners(model: Any) -> tuple[dict[int, Any], dict[int, int]]:
    """Owning layer and position among its own variables, per ``id(variable)``."""
    owners: dict[int, Any] = {}
    index: dict[int, int] = {}
    flatten = getattr(model, "_flatten_layers", None)
    layers = list(flatten(include_self=True, recursive=True)) if flatten else [model]
    for layer in layers:
        own = list(getattr(layer, "_trainable_variables", []) or []) + list(
            getattr(layer, "_non_trainable_variables", []) or []
        )
        for i, v in enumerate(own):
            if id(v) not in owners:
                owners[id(v)] = layer
                index[id(v)] = i
    return owners, index


def _untracked_containers(model: Any) -> dict[int, str]:
    """Map ``id(layer)`` to ``"owner.attribute"`` for layers held in plain containers."""
    flatten = getattr(model, "_flatten_layers", None)
    layers = list(flatten(include_self=True, recursive=True)) if flatten else [model]
    found: dict[int, str] = {}
    for layer in layers:
        for attr, value in vars(layer).items():
            if attr.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            if type(value).__module__.startswith("tensorflow"):
                continue  # TensorFlow's own wrappers are tracked
            where = f"{layer.name}.{attr}"
            for inner in _layers_in(value):
                for sub in inner._flatten_layers(include_self=True, recursive=True):
                    found.setdefault(id(sub), where)
    return found


def _layers_in(value: Any) -> list[Any]:
    if hasattr(value, "_flatten_layers"):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [layer for item in value for layer in _layers_in(item)]
    return []


def looks_generated(name: str, layer: Any) -> bool:
    """Whether ``name`` is Keras's automatic name (``dense``, ``dense_3``): unstable."""
    import re

    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower()
    return re.fullmatch(rf"{re.escape(snake)}(_\d+)?", name) is not None


def _shape(variable: Any) -> tuple[int, ...]:
    """A variable's shape as ints; a Keras variable's own tuple when it holds one (its
    ``shape`` builds a ``tf.TensorShape`` on the TensorFlow backend: slow for 10 000)."""
    shape = getattr(variable, "_shape", None)
    if not isinstance(shape, tuple):
        shape = variable.shape
    return tuple(map(int, shape))


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None)
    return name if isinstance(name, str) else str(dtype)


@functools.cache
def _itemsize(dtype: str) -> int:
    import numpy as np

    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        return {"bfloat16": 2}.get(dtype, 0)

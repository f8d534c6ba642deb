"""Name a live Keras 3 model's objects as TensorFlow's object graph would, on any backend.

With ``KERAS_BACKEND=jax`` or ``torch`` Keras layers are not TensorFlow ``Trackable``s,
yet a checkpoint written on the TensorFlow backend names them by Keras attribute names
(``backbone/_functional/_operations/1/_kernel``). This module rebuilds those edges from
the objects' own attributes, following the rules by which TensorFlow tracks Keras 3
objects on its backend:

- layers, optimizers and variables are tracked under the attribute that holds them;
- a plain ``list``, ``dict``, ``OrderedDict`` (exact types, set by Keras with its
  tracking off, e.g. a Functional's ``_operations``) or a tuple holding tracked objects
  is tracked too, its items under their index or key; Keras's own ``TrackedList`` /
  ``TrackedDict`` (what a layer attribute holding a list becomes) is not, which is why
  layers held in such containers are never saved;
- on PyTorch, sublayers live in ``torch.nn.Module._modules``, and are read from there;
- the bookkeeping lists Keras fills with tracking switched off (``_layers``,
  ``_trainable_variables``, a Functional's ``_inputs`` …) are not edges.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

UNTRACKED_ATTRIBUTES = frozenset(
    {
        # Layer._initialize_tracker, with TensorFlow's attribute tracking off
        "_trainable_variables", "_non_trainable_variables", "_layers", "_metrics",
        "_seed_generators", "_tracker",
        # Function.__init__, with TensorFlow's attribute tracking off
        "_inputs_struct", "_outputs_struct", "_inputs", "_outputs",
    }
)  # fmt: skip
"""A layer's attributes Keras sets with TensorFlow's tracking off on its backend."""

TF_BOOKKEEPING = frozenset(
    {
        "_self_setattr_tracking", "_self_unconditional_checkpoint_dependencies",
        "_self_unconditional_dependency_names", "_self_unconditional_deferred_dependencies",
        "_self_update_uid", "_self_name_based_restores", "_self_saveable_object_factories",
    }
)  # fmt: skip
"""TensorFlow's own attributes on a ``Trackable`` (the TensorFlow backend only)."""


def keras_children(obj: Any) -> list[tuple[str, Any]]:
    """The named children TensorFlow would give ``obj`` on the TensorFlow backend."""
    if _is_variable(obj):
        return []
    if isinstance(obj, (list, tuple)):
        return [(str(i), item) for i, item in enumerate(obj) if _tracked(item)]
    if isinstance(obj, dict):
        return [(key, item) for key, item in obj.items() if isinstance(key, str) and _tracked(item)]
    if _is_optimizer(obj):
        # An optimizer's attributes reach TensorFlow before Keras wraps its lists.
        return [
            (name, value)
            for name, value in vars(obj).items()
            if name not in TF_BOOKKEEPING and (_tracked(value) or _is_container(value))
        ]
    if not _is_layer(obj):
        return []
    edges = [
        (name, value)
        for name, value in _attributes(obj).items()
        if name not in UNTRACKED_ATTRIBUTES
        and name not in TF_BOOKKEEPING
        and _tracked(value)
        and not _bypassed_container(name, value)
    ]
    return _with_property_edges(obj, edges)


def _bypassed_container(name: str, value: Any) -> bool:
    """A plain list or dict in a public attribute: it got past Keras's ``__setattr__``
    (keras_hub does so on PyTorch), which on the TensorFlow backend would have made it a
    ``TrackedList`` that TensorFlow does not track. Keras's own plain containers, set
    with tracking off, are private (``_operations``)."""
    return not name.startswith("_") and type(value) in (list, dict, OrderedDict)


def _attributes(obj: Any) -> dict[str, Any]:
    """A layer's attributes by name; on PyTorch, its sublayers from ``_modules`` too and
    none of ``torch.nn.Module``'s own bookkeeping."""
    attributes = vars(obj)
    internal = _torch_module_attributes(obj)
    if not internal:
        return attributes
    found = {k: v for k, v in attributes.items() if k not in internal}
    for name, module in (attributes.get("_modules") or {}).items():
        found.setdefault(name, module)
    return found


def _torch_module_attributes(obj: Any) -> frozenset[str]:
    """The attributes ``torch.nn.Module.__init__`` sets, if ``obj`` is a torch module."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, torch.nn.Module):
        return frozenset()
    return _TORCH_INTERNAL.setdefault("names", frozenset(vars(torch.nn.Module())))


_TORCH_INTERNAL: dict[str, frozenset[str]] = {}


def _with_property_edges(obj: Any, edges: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Add ``name`` before ``_name`` where a property setter stored a layer.

    ``self.token_embedding = layer`` through a property whose setter stores
    ``self._token_embedding`` is tracked under both names, the property's first.
    """
    held = {id(value): i for i, (_, value) in reversed(list(enumerate(edges)))}
    found: list[tuple[int, str, Any]] = []
    for name in _setter_properties(type(obj)):
        try:
            value = getattr(obj, name)
        except Exception:  # a property that cannot be read now: not an edge
            continue
        if id(value) in held and (_is_layer(value) or _is_variable(value)):
            found.append((held[id(value)], name, value))
    for position, name, value in sorted(found, key=lambda f: f[0], reverse=True):
        edges.insert(position, (name, value))
    return edges


def _setter_properties(cls: type) -> list[str]:
    """Names of the properties with a setter defined outside Keras itself."""
    seen: dict[str, None] = {}
    for klass in cls.__mro__:
        if klass.__module__.startswith("keras.") or klass is object:
            continue
        for name, attr in vars(klass).items():
            if isinstance(attr, property) and attr.fset is not None:
                seen.setdefault(name)
    return list(seen)


def _tracked(value: Any) -> bool:
    """Whether TensorFlow would track ``value`` when a layer's attribute is set to it."""
    if _is_variable(value) or _is_layer(value) or _is_optimizer(value):
        return True
    kind = type(value)
    if kind is list or kind is dict or kind is OrderedDict or _is_tf_container(value):
        return True
    if isinstance(value, tuple) and not _is_keras_container(value):
        return any(_tracked(item) or type(item) in (dict, OrderedDict) for item in value)
    return False


def _is_container(value: Any) -> bool:
    return isinstance(value, (list, dict)) or (
        isinstance(value, tuple) and any(_tracked(item) for item in value)
    )


def _is_tf_container(value: Any) -> bool:
    """A list, dict or tuple TensorFlow wrapped to track it (on the TensorFlow backend)."""
    return type(value).__module__ == "tensorflow.python.trackable.data_structures"


def _is_keras_container(value: Any) -> bool:
    return type(value).__module__.startswith("keras.")


def _is_layer(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.layers.Layer)


def _is_optimizer(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.optimizers.Optimizer)


def _is_variable(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.Variable)

"""Print a restore as plain TensorFlow a user can paste into a training script.

The snippet expects ``tf`` imported and the model bound to ``model``; it performs exactly
the restore the plan describes (the tests run it on a fresh model and compare).
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .mirror import Mirror, MirrorNode
    from .plan import Plan, Step

INDENT = "    "


def restore_code(plan: Plan, mirror: Mirror) -> str:
    """The plain-TensorFlow snippet for ``plan`` as mirrored by ``mirror``."""
    prefix = plan.source.prefix
    lines: list[str] = []
    if mirror.root.children:
        lines.append("# Mirror the checkpoint's object graph down to the selected objects.")
        lines.append("ckpt = " + _node(mirror.root, plan, 0))
        lines.append(f"ckpt.read({prefix!r}).expect_partial()")
    if mirror.fallback:
        imports = ["import numpy as np"] if any(s.adapt for s in mirror.fallback) else []
        if lines:
            lines.append("")
        reader_imports, opening = plan.source.reader_code(_backend_note(plan))
        imports.extend(reader_imports)
        lines.extend(opening)
        for step in mirror.fallback:
            read = plan.source.read_code(step.key)
            lines.extend(_assign(step, _object_expr(plan, step.variable), read))
        if imports:
            lines[:0] = [*sorted(imports), ""]
    return "\n".join(lines) + "\n"


def _backend_note(plan: Plan) -> str:
    """On the JAX or PyTorch backend, say that TensorFlow only reads the file."""
    from .model import is_trackable

    if is_trackable(plan.match.model):
        return ""
    import keras

    return f" (Keras on {keras.backend.backend()}: TensorFlow only reads the file.)"


def _node(node: MirrorNode, plan: Plan, depth: int) -> str:
    if node.attach is not None:
        return _object_expr(plan, node.attach, node.live_path)
    plain, special = [], []
    for name, child in node.children.items():
        text = _node(child, plan, depth + 1)
        if name.isidentifier() and not keyword.iskeyword(name):
            plain.append(f"{name}={text}")
        else:
            special.append(f"{name!r}: {text}")
    args = plain + ([f"**{{{', '.join(special)}}}"] if special else [])
    inner = INDENT * (depth + 1)
    body = "".join(f"\n{inner}{arg}," for arg in args)
    return f"tf.train.Checkpoint({body}\n{INDENT * depth})"


def _object_expr(plan: Plan, obj: Any, live_path: str | None = None) -> str:
    """A Python expression, relative to ``model``, for a live object the restore uses.

    By its object path (through the model, else through its optimizer); a variable
    TensorFlow's graph cannot reach is named by its place among the weights.
    """
    graph, model = plan.match.graph, plan.match.model
    path = live_path
    if path is None:
        path = graph.path_of(obj) or graph.paths.get(id(obj))
    if path is not None:
        return graph.accessor(path)
    owner = graph.owners.get(id(obj))
    base = _layer_expr(model, owner) if owner is not None else None
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


def _layer_expr(model: Any, layer: Any) -> str | None:
    """``model.blocks[0]`` for a layer in a public list or dict of the model, else
    ``model.get_layer("name")`` for a name the user chose, else ``model.layers[i]``."""
    from .model import looks_generated

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


def _assign(step: Step, target: str, read: str) -> list[str]:
    if step.cast:
        read += f".astype({step.cast!r})"
    if not step.adapt:
        return [f"{target}.assign({read})"]
    shape = tuple(int(d) for d in step.variable.shape)
    start = "np.zeros_like(current)" if step.adapt == "zeros" else "current.copy()"
    return [
        f"stored = {read}",
        f"current = {target}.numpy()",
        f"value = {start}",
        f"block = tuple(slice(0, min(a, b)) for a, b in zip({shape}, stored.shape))",
        "value[block] = stored[block]",
        f"{target}.assign(value)",
    ]

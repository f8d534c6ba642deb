"""Print a restore as plain TensorFlow a user can paste into a training script.

The snippet starts with its imports and expects the model bound to ``model``; it performs
exactly the restore the plan describes (the tests run it on a fresh model and compare).
The object-based part is one ``tf.train.Checkpoint`` whose nested dicts mirror the
checkpoint's object graph down to the selected objects, each named by its shortest
Python accessor (``model.backbone``, ``model.backbone.get_layer('d2')``).
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING

from .accessors import object_expr
from .adapt import block_code, start_code

if TYPE_CHECKING:
    from .mirror import Mirror, MirrorNode
    from .plan import Plan, Step

INDENT = "    "
WIDTH = 100
"""Lines of the snippet are wrapped at this width (the project's own) where they can be."""
IMPORT_ORDER = [
    "import io",
    "import zipfile",
    "import h5py",
    "import numpy as np",
    "import tensorflow as tf",
]
"""Standard library first, then third party, each alphabetical (as ruff sorts them)."""


def restore_code(plan: Plan, mirror: Mirror) -> str:
    """The plain-TensorFlow snippet for ``plan`` as mirrored by ``mirror``."""
    prefix = plan.source.prefix
    lines: list[str] = []
    imports: set[str] = set()
    if mirror.root.children:
        lines.append("# Mirror the checkpoint's object graph down to the selected objects.")
        lines.append(_checkpoint(mirror.root, plan))
        lines.append(f"ckpt.read({prefix!r}).expect_partial()")
    if mirror.fallback:
        if any(s.adapt for s in mirror.fallback):
            imports.add("import numpy as np")
        if lines:
            lines.append("")
        keras_file = plan.source.format == "keras"
        if keras_file:
            imports.add("import h5py")
            lines.append("# Read the stored arrays from the Keras weights file and assign them.")
            if prefix.endswith(".keras"):
                imports.update(["import io", "import zipfile"])
                lines.append(f"with zipfile.ZipFile({prefix!r}) as archive:")
                lines.append('    data = io.BytesIO(archive.read("model.weights.h5"))')
                lines.append('reader = h5py.File(data, "r")')
            else:
                lines.append(f'reader = h5py.File({prefix!r}, "r")')
        else:
            lines.append("# Read the stored tensors and assign them." + _backend_note(plan))
            lines.append(f"reader = tf.train.load_checkpoint({prefix!r})")
        for step in mirror.fallback:
            read = f"reader[{step.key!r}][()]" if keras_file else f"reader.get_tensor({step.key!r})"
            lines.extend(_assign(step, object_expr(plan.match.graph, step.variable), read))
    if any("tf." in line for line in lines):
        imports.add("import tensorflow as tf")
    return _with_imports(imports, lines)


def join_code(snippets: list[str]) -> str:
    """Several snippets as one: their imports once, at the top, then each body in turn."""
    imports: set[str] = set()
    bodies = []
    for snippet in snippets:
        lines = snippet.rstrip("\n").split("\n")
        while lines and (lines[0].startswith("import ") or not lines[0]):
            line = lines.pop(0)
            if line:
                imports.add(line)
        bodies.append("\n".join(lines))
    return _with_imports(imports, "\n\n".join(bodies).split("\n"))


def _with_imports(imports: set[str], lines: list[str]) -> str:
    order = sorted(imports, key=lambda i: (IMPORT_ORDER.index(i) if i in IMPORT_ORDER else 99, i))
    stdlib = [i for i in order if i in ("import io", "import zipfile")]
    others = [i for i in order if i not in stdlib]
    head = [block for block in ("\n".join(stdlib), "\n".join(others)) if block]
    return "\n\n".join([*head, "\n".join(lines)]) + "\n"


def _backend_note(plan: Plan) -> str:
    """On the JAX or PyTorch backend, say that TensorFlow only reads the file."""
    from .model import is_trackable

    if is_trackable(plan.match.model):
        return ""
    import keras

    return f" (Keras on {keras.backend.backend()}: TensorFlow only reads the file.)"


def _checkpoint(root: MirrorNode, plan: Plan) -> str:
    """``ckpt = tf.train.Checkpoint(model={...})``: the root's edges as keyword arguments
    (``**{...}`` for those that are no Python name), the rest as nested dicts."""
    plain, special = [], []
    for name, child in root.children.items():
        if name.isidentifier() and not keyword.iskeyword(name):
            plain.append((f"{name}=", child))
        else:
            special.append((name, child))
    start = "ckpt = tf.train.Checkpoint("
    inline = [prefix + _value(child, plan, 0, 0) for prefix, child in plain]
    if special:
        inline.append("**" + _dict(special, plan, 0, 0))
    if len(start) + sum(len(a) + 2 for a in inline) <= WIDTH:
        return start + ", ".join(inline) + ")"
    args = [
        INDENT + prefix + _value(child, plan, len(INDENT + prefix), 1) for prefix, child in plain
    ]
    if special:
        args.append(INDENT + "**" + _dict(special, plan, len(INDENT) + 2, 1))
    return start + "\n" + "".join(f"{arg},\n" for arg in args) + ")"


def _value(node: MirrorNode, plan: Plan, column: int, depth: int) -> str:
    """The live object attached at ``node``, or a dict of its children, starting at
    ``column`` on a line indented ``depth`` levels."""
    if node.attach is not None:
        return object_expr(plan.match.graph, node.attach, node.live_path)
    return _dict(list(node.children.items()), plan, column, depth)


def _dict(items: list[tuple[str, MirrorNode]], plan: Plan, column: int, depth: int) -> str:
    """``{'edge': value, ...}`` on one line if it fits, else one entry a line."""
    inline = "{" + ", ".join(f"{k!r}: {_value(v, plan, 0, 0)}" for k, v in items) + "}"
    if column + len(inline) + 1 <= WIDTH:
        return inline
    inner = INDENT * (depth + 1)
    entries = [
        f"{inner}{k!r}: {_value(v, plan, len(inner) + len(repr(k)) + 2, depth + 1)},\n"
        for k, v in items
    ]
    return "{\n" + "".join(entries) + INDENT * depth + "}"


def _assign(step: Step, target: str, read: str) -> list[str]:
    if step.cast:
        read += f".astype({step.cast!r})"
    if not step.adapt:
        return [f"{target}.assign({read})"]
    block = block_code(step.variable.shape, step.stored_shape)
    return [
        f"stored = {read}",
        f"value = {start_code(f'{target}.numpy()', step.adapt)}",
        f"value{block} = stored{block}",
        f"{target}.assign(value)",
    ]

"""Print a restore as plain TensorFlow a user can paste into a training script.

The snippet expects ``tf`` imported and the model bound to ``model``; it performs exactly
the restore the plan describes (the tests run it on a fresh model and compare).
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
        keras_file = plan.source.format == "keras"
        if keras_file:
            imports.append("import h5py")
            lines.append("# Read the stored arrays from the Keras weights file and assign them.")
            if prefix.endswith(".keras"):
                imports[:0] = ["import io", "import zipfile"]
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
        if imports:
            lines[:0] = [*imports, ""]
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
        return object_expr(plan.match.graph, node.attach, node.live_path)
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

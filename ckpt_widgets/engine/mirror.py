"""Build the nested ``tf.train.Checkpoint`` that mirrors a checkpoint's object graph.

``tf.train.Checkpoint(backbone=m.backbone).read(path)`` restores nothing from a file
written as ``Checkpoint(model=...)``: the root edge is ``model``. The mirror rebuilds the
path instead, ``Checkpoint(model=Checkpoint(backbone=m.backbone))``, down to exactly the
selected submodules or variables. A live object is attached whole only when restoring it
would touch exactly the selected variables; otherwise we descend to its children.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckpt_widgets.files.graph import is_under, join, relative

if TYPE_CHECKING:
    from .plan import Plan, Step


@dataclass
class MirrorNode:
    """A node of the mirror: either a live object attached here, or named children."""

    attach: Any = None
    path: str = ""
    """Checkpoint path of this node."""
    live_path: str | None = None
    """Object path of ``attach`` in the model (None for a variable paired by rename)."""
    children: dict[str, MirrorNode] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list, repr=False)


@dataclass
class Mirror:
    """The mirror tree (what ``report.code`` restores object-based), plus the steps it
    cannot express (read and assign there too)."""

    root: MirrorNode
    fallback: list[Step]


def build_mirror(plan: Plan) -> Mirror:
    """Mirror the object-based steps of ``plan``; see the module docstring."""
    m = plan.match
    object_steps = [s for s in plan.steps if s.mirror_path is not None]
    fallback = [s for s in plan.steps if s.mirror_path is None]
    root = MirrorNode()
    for step in object_steps:
        node = root
        for name in step.mirror_path.split("/"):  # type: ignore[union-attr]
            node = node.children.setdefault(name, MirrorNode(path=join(node.path, name)))
            node.steps.append(step)
    builder = _Builder(m, object_steps)
    builder.settle(root, top=True)
    fallback.extend(builder.fallback)
    return Mirror(root, fallback)


RESERVED = frozenset(
    {
        "save_counter", "read", "restore", "save", "write", "sync", "_root", "_kwargs",
        "_saver", "_save_counter", "_save_assign_op", "_attached_dependencies",
        "_checkpoint_options", "_async_checkpointer_impl",
    }
)  # fmt: skip
"""Names a ``tf.train.Checkpoint`` cannot take as a child (its own attributes)."""


class _Builder:
    def __init__(self, m: Any, steps: list[Step]):
        self.m = m
        self.source = m.source
        self.graph = m.graph
        self.var_of_node = {s.node_id: s.variable for s in steps}
        self.fallback: list[Step] = []

    def settle(self, node: MirrorNode, top: bool = False) -> None:
        """Attach a live object at ``node`` or recurse into its children."""
        if not node.children and not top:  # a leaf: a stored variable
            node.attach = node.steps[0].variable
            self.fallback.extend(node.steps[1:])  # one edge holds one object
            return
        if not top:
            live_path = self._live_path(node.path)
            live = self.graph.object_at(live_path) if live_path is not None else None
            if live is not None and self._safe(node, live):
                node.attach, node.live_path = live, live_path
                return
        for name in list(node.children):
            if name in RESERVED:
                self.fallback.extend(node.children.pop(name).steps)
            else:
                self.settle(node.children[name])

    def _live_path(self, ckpt_path: str) -> str | None:
        if not is_under(ckpt_path, self.m.root):
            return None
        return join(self.m.model_root, relative(ckpt_path, self.m.root))

    def _safe(self, node: MirrorNode, live: Any) -> bool:
        """Would attaching ``live`` at ``node`` restore exactly the selected variables?"""
        source = self.source
        ckpt_node = source.resolve(node.path)
        if ckpt_node is None:
            return False
        wanted = {s.node_id for s in node.steps}
        stored = source.saveable_descendants(ckpt_node)
        if not stored <= wanted:
            return False
        reached: dict[int, set[int]] = {}
        seen = {(id(live), ckpt_node)}
        queue = [(live, ckpt_node)]
        while queue:
            obj, n = queue.pop()
            if source.attributes[n]:
                reached.setdefault(n, set()).add(id(obj))
            for name, child in self.graph.children_of(obj):
                target = source.children[n].get(name)
                if target is None:
                    continue
                if (id(child), target) not in seen:
                    seen.add((id(child), target))
                    queue.append((child, target))
        return all(reached.get(n) == {id(self.var_of_node[n])} for n in stored)
